"""Button and menu presses: acknowledged at once, then handed to the services."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import App

from bot.core.conversations import Actor
from bot.slack import blocks, review_blocks
from bot.storage.db import DatabaseUnavailable

from . import outage
from .acks import acknowledge
from .payload import as_dict, as_list, as_text, option_values

if TYPE_CHECKING:
    from bot.slack.app import Services


def actor_of(body: dict[str, Any]) -> Actor | None:
    """Who pressed, in which workspace; None when the payload does not say (then the
    press is ignored: without a workspace nothing can be looked up safely)."""
    user = as_dict(body.get("user"))
    team = as_text(as_dict(body.get("team")).get("id")) or as_text(user.get("team_id"))
    user_id = as_text(user.get("id"))
    if not (team and user_id):
        return None
    return Actor(team_id=team, user_id=user_id, pressed_ts=pressed_ts_of(body))


def pressed_ts_of(body: dict[str, Any]) -> str | None:
    return as_text(as_dict(body.get("container")).get("message_ts"))


def channel_of(body: dict[str, Any]) -> str | None:
    return as_text(as_dict(body.get("channel")).get("id")) or as_text(
        as_dict(body.get("container")).get("channel_id")
    )


# A button's value names the conversation and the version it shows: "12.3.payload".
_CONVERSATION_VALUE = re.compile(r"\d{1,18}\.\d{1,9}\..*", re.DOTALL)
Work = Callable[[Actor, dict[str, Any], dict[str, Any]], None]


def register(app: App, services: Services) -> None:
    conversations, reviews = services.conversations, services.reviews

    def on(action_id: str | re.Pattern[str], work: Work) -> None:
        def lazy(body: dict[str, Any], action: dict[str, Any]) -> None:
            actor = actor_of(body)
            if actor is not None and isinstance(action, dict):
                try:
                    work(actor, body, action)
                except DatabaseUnavailable:
                    outage.tell(services.conversations.slack, actor.user_id, outage.PRESS)

        app.action(action_id)(ack=acknowledge, lazy=[lazy])

    def by_value(handle: Callable[[Actor, str], None]) -> Work:
        """A press whose value is the conversation, its version and a payload."""

        def work(actor: Actor, _body: dict[str, Any], action: dict[str, Any]) -> None:
            value = as_text(action.get("value")) or as_text(
                as_dict(action.get("selected_option")).get("value")
            )
            if value and _CONVERSATION_VALUE.fullmatch(value):
                handle(actor, value)

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

    def choices_ticked(actor: Actor, body: dict[str, Any], action: dict[str, Any]) -> None:
        ticked = option_values(action.get("selected_options"))
        conversations.remember_choices(actor, _button_value(body), ticked)

    def choices_done(actor: Actor, body: dict[str, Any], action: dict[str, Any]) -> None:
        value = as_text(action.get("value"))
        if value and _CONVERSATION_VALUE.fullmatch(value):
            conversations.answer_choices(actor, value, _ticked_in_state(body))

    def part_chosen(actor: Actor, body: dict[str, Any], action: dict[str, Any]) -> None:
        part = (as_text(action.get("block_id")) or "").removeprefix(blocks.PART_BLOCK)
        chosen = as_text(as_dict(action.get("selected_option")).get("value"))
        if part and chosen:
            conversations.remember_part(actor, _button_value(body), part, chosen)

    def parts_done(actor: Actor, body: dict[str, Any], action: dict[str, Any]) -> None:
        value = as_text(action.get("value"))
        if value and _CONVERSATION_VALUE.fullmatch(value):
            conversations.answer_parts(actor, value, _parts_in_state(body))

    def date_picked(actor: Actor, body: dict[str, Any], action: dict[str, Any]) -> None:
        day = as_text(action.get("selected_date"))
        if day:
            conversations.answer_date(actor, _button_value(body), day)

    def channel_picked(actor: Actor, body: dict[str, Any], action: dict[str, Any]) -> None:
        channel = as_text(action.get("selected_conversation")) or as_text(
            action.get("selected_channel")
        )
        if channel:
            conversations.pick_channel(actor, _button_value(body), channel)

    def home_new(actor: Actor, _body: dict[str, Any], _action: dict[str, Any]) -> None:
        conversations.start_check(actor)

    on(blocks.CHOICES_DRAFT, choices_ticked)
    on(blocks.CHOICES_DONE, choices_done)
    on(blocks.PART_DRAFT, part_chosen)
    on(blocks.PARTS_DONE, parts_done)
    on(blocks.ANSWER_DATE, date_picked)
    on(blocks.PICK_CHANNEL, channel_picked)
    on(blocks.HOME_NEW, home_new)

    # Review reminders in the channel: anyone there may act on them.
    def reminder(handle: Callable[[Actor, str, str], None]) -> Work:
        def work(actor: Actor, body: dict[str, Any], action: dict[str, Any]) -> None:
            value, channel = as_text(action.get("value")), channel_of(body)
            if value and channel:
                handle(actor, value, channel)

        return work

    on(review_blocks.REVIEW_START, reminder(reviews.start_from_reminder))
    on(review_blocks.SNOOZE_WEEK, reminder(lambda a, r, c: reviews.snooze(a, r, c, "week")))
    on(review_blocks.SNOOZE_MONTH, reminder(lambda a, r, c: reviews.snooze(a, r, c, "month")))
    on(review_blocks.END, reminder(reviews.end))

    def recheck(actor: Actor, _body: dict[str, Any], action: dict[str, Any]) -> None:
        reviews.start_recheck(actor, as_text(action.get("value")) or "")

    on(review_blocks.RECHECK, recheck)


def _button_value(body: dict[str, Any]) -> str | None:
    """The conversation/version value of any button on the message the menu sits in."""
    for block in as_list(as_dict(body.get("message")).get("blocks")):
        for element in as_list(as_dict(block).get("elements")):
            value = as_text(as_dict(element).get("value"))
            if element.get("type") == "button" and value and _CONVERSATION_VALUE.fullmatch(value):
                return value
    return None


def _ticked_in_state(body: dict[str, Any]) -> list[str] | None:
    """Slack sends the message's current checkbox state with each press; None if absent."""
    for block in as_dict(as_dict(body.get("state")).get("values")).values():
        for element in as_dict(block).values():
            element = as_dict(element)
            if element.get("type") in ("checkboxes", "multi_static_select"):
                return option_values(element.get("selected_options"))
    return None


def _parts_in_state(body: dict[str, Any]) -> dict[str, str]:
    """A group's choices as Slack sends them with Continue: {part id: option value}."""
    chosen = {}
    for block_id, block in as_dict(as_dict(body.get("state")).get("values")).items():
        if not block_id.startswith(blocks.PART_BLOCK):
            continue
        for element in as_dict(block).values():
            element = as_dict(element)
            value = as_text(as_dict(element.get("selected_option")).get("value"))
            if element.get("type") == "radio_buttons" and value:
                chosen[block_id.removeprefix(blocks.PART_BLOCK)] = value
    return chosen
