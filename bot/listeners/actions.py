"""Button and menu presses: acknowledged at once, then handed to the check."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from .. import blocks
from ..checks import Actor, Checks
from .acks import acknowledge


def actor_of(body: dict[str, Any]) -> Actor:
    user = body["user"]
    team = (body.get("team") or {}).get("id") or user.get("team_id")
    return Actor(team_id=team, user_id=user["id"])


def register(app: App, checks: Checks) -> None:
    def on(action_id: str | re.Pattern[str], work: Callable[..., None]) -> None:
        app.action(action_id)(ack=acknowledge, lazy=[work])

    def by_value(handle: Callable[[Actor, str], None]) -> Callable[..., None]:
        """A press whose value is the conversation, its version and a payload."""

        def work(body: dict[str, Any], action: dict[str, Any]) -> None:
            value = action.get("value") or (action.get("selected_option") or {}).get("value")
            if value:
                handle(actor_of(body), value)

        return work

    on(re.compile(rf"^{blocks.ANSWER}_\d+$"), by_value(checks.answer))
    on(blocks.ANSWER_SELECT, by_value(checks.answer))
    on(blocks.KEEP, by_value(checks.keep))
    on(blocks.BACK, by_value(checks.back))
    on(blocks.HELP, by_value(checks.help))
    on(blocks.CANCEL, by_value(checks.cancel))
    on(blocks.REVISE, by_value(checks.revise))
    on(blocks.DISCARD, by_value(checks.discard))
    on(blocks.POST, by_value(checks.post))

    def choices_ticked(body: dict[str, Any], action: dict[str, Any]) -> None:
        ticked = [o["value"] for o in action.get("selected_options", [])]
        checks.remember_choices(actor_of(body), _button_value(body), ticked)

    def choices_done(body: dict[str, Any], action: dict[str, Any]) -> None:
        checks.answer_choices(actor_of(body), action["value"], _ticked_in_state(body))

    def channel_picked(body: dict[str, Any], action: dict[str, Any]) -> None:
        channel = action.get("selected_conversation") or action.get("selected_channel")
        if channel:
            checks.pick_channel(actor_of(body), _button_value(body), channel)

    def home_new(body: dict[str, Any]) -> None:
        checks.start(actor_of(body))

    on(blocks.CHOICES_DRAFT, choices_ticked)
    on(blocks.CHOICES_DONE, choices_done)
    on(blocks.PICK_CHANNEL, channel_picked)
    on(blocks.HOME_NEW, home_new)


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
