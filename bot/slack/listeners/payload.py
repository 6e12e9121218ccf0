"""Reading a Slack payload defensively, and once: a middleware puts who acted (`actor`)
and what the pressed button carries (`press`) in the request's context.

A field of the wrong type reads as absent, so a request that is signed but not shaped as
Slack sends it changes nothing and raises nothing (the front door in
bot/slack/http_server.py has already refused the ones with no user, no actions or no
event at all).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext

from bot.core.actors import Actor, Press
from bot.core.references import row_id

# A button's value names the conversation and the version it shows: "12.3.payload"
# (written by bot.slack.blocks.action_value).
_PRESS_VALUE = re.compile(r"(\d{1,10})\.(\d{1,9})\.(.*)", re.DOTALL)


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def option_values(options: object) -> list[str]:
    values = (as_text(as_dict(option).get("value")) for option in as_list(options))
    return [value for value in values if value]


def press_of(value: object) -> Press | None:
    found = _PRESS_VALUE.fullmatch(value) if isinstance(value, str) else None
    conversation = row_id(found.group(1)) if found else None
    if found is None or conversation is None:
        return None
    return Press(conversation, int(found.group(2)), found.group(3))


def read_payload(body: dict[str, Any], context: BoltContext, next: Callable[[], None]) -> None:
    """Bolt middleware: `context["actor"]` (None when the payload does not say who, in
    which workspace: then nothing is looked up) and, for a press on a conversation's
    message, `context["press"]`."""
    user = as_dict(body.get("user"))
    team = (
        as_text(as_dict(body.get("team")).get("id"))
        or as_text(user.get("team_id"))
        or as_text(body.get("team_id"))
    )
    user_id = as_text(user.get("id")) or as_text(body.get("user_id"))
    pressed_ts = as_text(as_dict(body.get("container")).get("message_ts"))
    context["actor"] = Actor(team, user_id, pressed_ts) if team and user_id else None
    action = as_dict((as_list(body.get("actions")) or [None])[0])
    context["press"] = press_of(action.get("value")) or press_of(
        as_dict(action.get("selected_option")).get("value")
    )
    context["message_press"] = _press_on_message(body)
    next()


def _press_on_message(body: dict[str, Any]) -> Press | None:
    """What any button on the pressed message carries (a menu or picker carries nothing
    itself, so its conversation is read from the buttons beside it)."""
    for block in as_list(as_dict(body.get("message")).get("blocks")):
        for element in as_list(as_dict(block).get("elements")):
            element = as_dict(element)
            if element.get("type") == "button" and (press := press_of(element.get("value"))):
                return press
    return None
