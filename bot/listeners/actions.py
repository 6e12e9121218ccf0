"""Button and menu presses: acknowledged at once, then handed to the services."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import App

from .. import blocks, review_blocks
from ..conversations import Actor
from .acks import acknowledge

if TYPE_CHECKING:
    from ..slack_app import Services


def actor_of(body: dict[str, Any]) -> Actor:
    user = body["user"]
    team = (body.get("team") or {}).get("id") or user.get("team_id")
    pressed_ts = (body.get("container") or {}).get("message_ts")
    return Actor(team_id=team, user_id=user["id"], pressed_ts=pressed_ts)


def channel_of(body: dict[str, Any]) -> str:
    return (body.get("channel") or {}).get("id") or body["container"]["channel_id"]


def register(app: App, services: Services) -> None:
    conversations, reviews = services.conversations, services.reviews

    def on(action_id: str | re.Pattern[str], work: Callable[..., None]) -> None:
        app.action(action_id)(ack=acknowledge, lazy=[work])

    def by_value(handle: Callable[[Actor, str], None]) -> Callable[..., None]:
        """A press whose value is the conversation, its version and a payload."""

        def work(body: dict[str, Any], action: dict[str, Any]) -> None:
            value = action.get("value") or (action.get("selected_option") or {}).get("value")
            if value and value.count(".") >= 2:
                handle(actor_of(body), value)

        return work

    # The conversation in the DM (checks and reviews).
    on(re.compile(rf"^{blocks.ANSWER}_\d+$"), by_value(conversations.answer))
    on(blocks.ANSWER_SELECT, by_value(conversations.answer))
    on(blocks.ANSWER_SUGGESTED, by_value(conversations.answer))
    on(blocks.LIST_DONE, by_value(conversations.list_done))
    on(blocks.KEEP, by_value(conversations.keep))
    on(blocks.BACK, by_value(conversations.back))
    on(blocks.HELP, by_value(conversations.help))
    on(blocks.CANCEL, by_value(conversations.cancel))
    on(blocks.REVISE, by_value(conversations.revise))
    on(blocks.DISCARD, by_value(conversations.cancel))
    on(blocks.POST, by_value(services.recommendations.post))
    on(review_blocks.SUBMIT, by_value(reviews.submit))

    def choices_ticked(body: dict[str, Any], action: dict[str, Any]) -> None:
        ticked = [o["value"] for o in action.get("selected_options", [])]
        conversations.remember_choices(actor_of(body), _button_value(body), ticked)

    def choices_done(body: dict[str, Any], action: dict[str, Any]) -> None:
        conversations.answer_choices(actor_of(body), action["value"], _ticked_in_state(body))

    def part_chosen(body: dict[str, Any], action: dict[str, Any]) -> None:
        part = action.get("block_id", "").removeprefix(blocks.PART_BLOCK)
        chosen = (action.get("selected_option") or {}).get("value")
        if part and chosen:
            conversations.remember_part(actor_of(body), _button_value(body), part, chosen)

    def parts_done(body: dict[str, Any], action: dict[str, Any]) -> None:
        conversations.answer_parts(actor_of(body), action["value"], _parts_in_state(body))

    def date_picked(body: dict[str, Any], action: dict[str, Any]) -> None:
        day = action.get("selected_date")
        if day:
            conversations.answer_date(actor_of(body), _button_value(body), day)

    def channel_picked(body: dict[str, Any], action: dict[str, Any]) -> None:
        channel = action.get("selected_conversation") or action.get("selected_channel")
        if channel:
            conversations.pick_channel(actor_of(body), _button_value(body), channel)

    def home_new(body: dict[str, Any]) -> None:
        conversations.start_check(actor_of(body))

    on(blocks.CHOICES_DRAFT, choices_ticked)
    on(blocks.CHOICES_DONE, choices_done)
    on(blocks.PART_DRAFT, part_chosen)
    on(blocks.PARTS_DONE, parts_done)
    on(blocks.ANSWER_DATE, date_picked)
    on(blocks.PICK_CHANNEL, channel_picked)
    on(blocks.HOME_NEW, home_new)

    # Review reminders in the channel: anyone there may act on them.
    def reminder(handle: Callable[[Actor, str, str], None]) -> Callable[..., None]:
        def work(body: dict[str, Any], action: dict[str, Any]) -> None:
            handle(actor_of(body), action.get("value", ""), channel_of(body))

        return work

    on(review_blocks.REVIEW_START, reminder(reviews.start_from_reminder))
    on(review_blocks.SNOOZE_WEEK, reminder(lambda a, r, c: reviews.snooze(a, r, c, "week")))
    on(review_blocks.SNOOZE_MONTH, reminder(lambda a, r, c: reviews.snooze(a, r, c, "month")))
    on(review_blocks.END, reminder(reviews.end))

    def recheck(body: dict[str, Any], action: dict[str, Any]) -> None:
        reviews.start_recheck(actor_of(body), action.get("value", ""))

    on(review_blocks.RECHECK, recheck)


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
            if element.get("type") in ("checkboxes", "multi_static_select"):
                return [o["value"] for o in element.get("selected_options") or []]
    return None


def _parts_in_state(body: dict[str, Any]) -> dict[str, str]:
    """A group's choices as Slack sends them with Continue: {part id: option value}."""
    chosen = {}
    for block_id, block in ((body.get("state") or {}).get("values") or {}).items():
        if not block_id.startswith(blocks.PART_BLOCK):
            continue
        for element in block.values():
            value = (element.get("selected_option") or {}).get("value")
            if element.get("type") == "radio_buttons" and value:
                chosen[block_id.removeprefix(blocks.PART_BLOCK)] = value
    return chosen
