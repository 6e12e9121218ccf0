"""Button and menu presses: acknowledged first, then handed to the check."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from .. import blocks
from ..checks import Actor, Checks


def actor_of(body: dict[str, Any]) -> Actor:
    user = body["user"]
    team = (body.get("team") or {}).get("id") or user.get("team_id")
    return Actor(team_id=team, user_id=user["id"])


def register(app: App, checks: Checks) -> None:
    def on_value(action_id: str | re.Pattern[str], handle: Callable[[Actor, str], None]) -> None:
        """A button whose value is the conversation, its version and a payload."""

        @app.action(action_id)
        def _listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
            ack()
            value = action.get("value") or (action.get("selected_option") or {}).get("value")
            if value:
                handle(actor_of(body), value)

    on_value(re.compile(rf"^{blocks.ANSWER}_\d+$"), checks.answer)
    on_value(blocks.ANSWER_SELECT, checks.answer)
    on_value(blocks.KEEP, checks.keep)
    on_value(blocks.BACK, checks.back)
    on_value(blocks.HELP, checks.help)
    on_value(blocks.CANCEL, checks.cancel)
    on_value(blocks.REVISE, checks.revise)
    on_value(blocks.DISCARD, checks.discard)
    on_value(blocks.POST, checks.post)

    @app.action(blocks.CHOICES_DRAFT)
    def choices_ticked(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        ticked = [o["value"] for o in action.get("selected_options", [])]
        checks.remember_choices(actor_of(body), _button_value(body), ticked)

    @app.action(blocks.CHOICES_DONE)
    def choices_done(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        checks.answer_choices(actor_of(body), action["value"], _ticked_in_state(body))

    @app.action(blocks.PICK_CHANNEL)
    def channel_picked(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        channel = action.get("selected_conversation") or action.get("selected_channel")
        if channel:
            checks.pick_channel(actor_of(body), _button_value(body), channel)

    @app.action(blocks.HOME_NEW)
    def home_new(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        checks.start(actor_of(body))


def _button_value(body: dict[str, Any]) -> str | None:
    """The conversation/version value of any button on the message the menu sits in."""
    for block in (body.get("message") or {}).get("blocks", []):
        for element in block.get("elements", []):
            if element.get("type") == "button" and element.get("value", "").count(".") >= 2:
                return element["value"]
    return None


def _ticked_in_state(body: dict[str, Any]) -> list[str] | None:
    """Slack sends the message's current checkbox state with each press; None if absent."""
    for block in ((body.get("state") or {}).get("values") or {}).values():
        for element in block.values():
            if element.get("type") == "checkboxes":
                return [o["value"] for o in element.get("selected_options") or []]
    return None
