"""Reading a Slack payload defensively.

A field of the wrong type reads as absent, so a request that is signed but not shaped as
Slack sends it changes nothing and raises nothing (the front door in bot/slack/http_server.py
has already refused the ones with no user, no actions or no event at all).
"""

from __future__ import annotations

from typing import Any


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def option_values(options: object) -> list[str]:
    values = (as_text(as_dict(option).get("value")) for option in as_list(options))
    return [value for value in values if value]
