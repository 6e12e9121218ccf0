"""Button and menu presses: one listener acknowledges every press at once, then looks up
what to do by the control's action id (`ActionId`) and does it on the app's pool."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext

from bot.core.actors import Actor, Press
from bot.core.references import row_id
from bot.slack.blocks import PART_BLOCK, ActionId
from bot.slack.condition_blocks import DROP_BLOCK, GIVE_BLOCK
from bot.slack.listeners.payload import as_dict, as_text, option_values
from bot.slack.partner_blocks import INSTEAD_BLOCK, INVITE_BLOCK

if TYPE_CHECKING:
    from bot.slack.services import Services

# What a press does: given who pressed, the action, the payload and the context.
Handler = Callable[[Actor, dict[str, Any], dict[str, Any], BoltContext], None]


def register(app: App, services: Services) -> None:
    steps, reviews, partners = services.steps, services.reviews, services.partners
    conditions = services.conditions

    def pressed(handle: Callable[[Actor, Press], None]) -> Handler:
        """A press whose own value names the conversation, its version and a payload."""

        def run(actor: Actor, _a: dict[str, Any], _b: dict[str, Any], ctx: BoltContext) -> None:
            if (press := ctx.get("press")) is not None:
                handle(actor, press)

        return run

    def reminder(handle: Callable[[Actor, str, str], None]) -> Handler:
        """A press on a review reminder in the channel: its value is the reminder."""

        def run(actor: Actor, action: dict[str, Any], body: dict[str, Any], _: BoltContext) -> None:
            value, channel = as_text(action.get("value")), _channel_of(body)
            if value and channel:
                handle(actor, value, channel)

        return run

    def choices_ticked(actor: Actor, action: dict[str, Any], _b: Any, ctx: BoltContext) -> None:
        ticked = option_values(action.get("selected_options"))
        steps.remember_choices(actor, ctx.get("message_press"), ticked)

    def met_ticked(actor: Actor, action: dict[str, Any], _b: Any, ctx: BoltContext) -> None:
        ticked = option_values(action.get("selected_options"))
        steps.tick_met(actor, ctx.get("message_press"), ticked)

    def review_submitted(actor: Actor, _a: Any, body: dict[str, Any], ctx: BoltContext) -> None:
        """Submit sends the summary's ticks with it: a tick made just before Submit, still
        on its way as its own press, is not lost."""
        if (press := ctx.get("press")) is None:
            return
        ticked = _ticked_in_state(body)
        if ticked is not None:
            steps.tick_met(actor, press, ticked)
        reviews.submit(actor, press)

    def choices_done(actor: Actor, _a: Any, body: dict[str, Any], ctx: BoltContext) -> None:
        if (press := ctx.get("press")) is not None:
            steps.answer_choices(actor, press, _ticked_in_state(body))

    def part_chosen(actor: Actor, action: dict[str, Any], _b: Any, ctx: BoltContext) -> None:
        part = _block_id_after(action, PART_BLOCK)
        chosen = as_text(as_dict(action.get("selected_option")).get("value"))
        if part and chosen:
            steps.remember_part(actor, ctx.get("message_press"), part, chosen)

    def parts_done(actor: Actor, _a: Any, body: dict[str, Any], ctx: BoltContext) -> None:
        if (press := ctx.get("press")) is not None:
            steps.answer_parts(actor, press, _parts_in_state(body))

    def date_picked(actor: Actor, action: dict[str, Any], _b: Any, ctx: BoltContext) -> None:
        day, press = as_text(action.get("selected_date")), ctx.get("message_press")
        if day and press is not None:
            steps.answer_date(actor, press, day)

    def channel_picked(actor: Actor, action: dict[str, Any], _b: Any, ctx: BoltContext) -> None:
        channel = as_text(action.get("selected_conversation")) or as_text(
            action.get("selected_channel")
        )
        if channel:
            steps.pick_channel(actor, ctx.get("message_press"), channel)

    def recheck(actor: Actor, action: dict[str, Any], _b: Any, _c: BoltContext) -> None:
        reviews.start_recheck(actor, as_text(action.get("value")) or "")

    def by_id(handle: Callable[[Actor, int], None]) -> Handler:
        """A press whose value is the id of what it acts on (a check, an invitation)."""

        def run(actor: Actor, action: dict[str, Any], _b: Any, _c: BoltContext) -> None:
            if (number := row_id(action.get("value"))) is not None:
                handle(actor, number)

        return run

    def invite_picked(actor: Actor, action: dict[str, Any], _b: Any, _c: BoltContext) -> None:
        user = as_text(action.get("selected_user"))
        place = _block_id_after(action, INVITE_BLOCK).split(":")
        check_id, index = (row_id(part) for part in place) if len(place) == 2 else (None, None)
        if user and check_id is not None and index is not None:
            partners.invite(actor, check_id, index, user, actor.pressed_ts)

    def condition_chosen(actor: Actor, action: dict[str, Any], body: Any, _: BoltContext) -> None:
        choice, _sep, number = (
            as_text(as_dict(action.get("selected_option")).get("value")) or ""
        ).partition(":")
        condition, channel = row_id(number), _channel_of(body)
        if condition is not None and channel:
            conditions.chosen(actor, condition, choice, channel)

    def condition_dropped(actor: Actor, action: dict[str, Any], body: Any, _: BoltContext) -> None:
        condition = row_id(_block_id_after(action, DROP_BLOCK))
        channel = _channel_of(body)
        if condition is not None and channel:
            conditions.drop(actor, condition, as_text(action.get("value")) or "", channel)

    def condition_given(actor: Actor, action: dict[str, Any], body: Any, _: BoltContext) -> None:
        condition = row_id(_block_id_after(action, GIVE_BLOCK))
        user, channel = as_text(action.get("selected_user")), _channel_of(body)
        if condition is not None and user and channel:
            conditions.give(actor, condition, user, channel)

    def instead_picked(actor: Actor, action: dict[str, Any], _b: Any, _c: BoltContext) -> None:
        user = as_text(action.get("selected_user"))
        view = row_id(_block_id_after(action, INSTEAD_BLOCK))
        if user and view is not None:
            partners.hand_on(actor, view, user, actor.pressed_ts)

    handlers: dict[ActionId, Handler] = {
        # The conversation in the DM (checks and reviews).
        ActionId.ANSWER: pressed(steps.answer),
        ActionId.ANSWER_SELECT: pressed(steps.answer),
        ActionId.ANSWER_SUGGESTED: pressed(steps.answer),
        ActionId.ANSWER_DATE: date_picked,
        ActionId.CHOICES_DRAFT: choices_ticked,
        ActionId.CHOICES_DONE: choices_done,
        ActionId.PART_DRAFT: part_chosen,
        ActionId.PARTS_DONE: parts_done,
        ActionId.LIST_DONE: pressed(steps.list_done),
        ActionId.KEEP: pressed(steps.keep),
        ActionId.BACK: pressed(steps.back),
        ActionId.HELP: pressed(steps.help),
        ActionId.CANCEL: pressed(steps.cancel),
        ActionId.REVISE: pressed(steps.revise),
        ActionId.DISCARD: pressed(steps.cancel),
        ActionId.POST: pressed(services.recommendations.post),
        ActionId.PICK_CHANNEL: channel_picked,
        ActionId.SUBMIT: review_submitted,
        ActionId.HOME_NEW: lambda actor, _a, _b, _c: services.starting.check(actor),
        # Review reminders in the channel: its members may act on them.
        ActionId.REVIEW_START: reminder(reviews.start_from_reminder),
        ActionId.SNOOZE_WEEK: reminder(lambda a, r, c: reviews.snooze(a, r, c, "week")),
        ActionId.SNOOZE_MONTH: reminder(lambda a, r, c: reviews.snooze(a, r, c, "month")),
        ActionId.END: reminder(reviews.end),
        ActionId.RECHECK: recheck,
        # Partners' views: the proposer invites, the invited person answers.
        ActionId.INVITE: by_id(partners.invitees),
        ActionId.INVITE_PICK: invite_picked,
        ActionId.VIEW_START: by_id(partners.start),
        ActionId.VIEW_NOT_ME: by_id(lambda a, view: partners.not_me(a, view, a.pressed_ts)),
        ActionId.VIEW_INSTEAD: instead_picked,
        ActionId.VIEW_NOBODY: by_id(lambda a, view: partners.hand_on(a, view, None, a.pressed_ts)),
        ActionId.VIEW_SEND: pressed(partners.send),
        # Conditions, from the recommendation's thread: its owner or the channel's members.
        ActionId.CONDITION: condition_chosen,
        ActionId.CONDITION_DROP: condition_dropped,
        ActionId.CONDITION_GIVE: condition_given,
        ActionId.CONDITIONS_MET: met_ticked,
    }
    assert set(handlers) == set(ActionId), "every control the bot draws has a handler"

    def press(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
        ack()
        actor: Actor | None = context.get("actor")
        action_id = as_text(as_dict(action).get("action_id"))
        handle = handlers.get(ActionId.of(action_id)) if action_id else None  # type: ignore[arg-type]
        if actor is not None and handle is not None:
            services.work.later(actor, lambda: handle(actor, action, body, context))

    app.action(re.compile(r".+"))(press)


def _block_id_after(action: dict[str, Any], prefix: str) -> str:
    """What an action's block_id carries after `prefix` (the ids the block was drawn
    for: "drop:12" -> "12")."""
    return (as_text(action.get("block_id")) or "").removeprefix(prefix)


def _channel_of(body: dict[str, Any]) -> str | None:
    return as_text(as_dict(body.get("channel")).get("id")) or as_text(
        as_dict(body.get("container")).get("channel_id")
    )


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
        if not block_id.startswith(PART_BLOCK):
            continue
        for element in as_dict(block).values():
            element = as_dict(element)
            value = as_text(as_dict(element.get("selected_option")).get("value"))
            if element.get("type") == "radio_buttons" and value:
                chosen[block_id.removeprefix(PART_BLOCK)] = value
    return chosen
