"""Block Kit for reviews: reminders and digests in the channel, the review's summary in the
DM, and its result in the thread of the original recommendation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

from bot.slack.blocks import (
    DECIDED,
    ActionId,
    Message,
    action_value,
    button,
    context,
    fallback,
    revise_select,
    section,
)
from bot.slack.mrkdwn import clip, escape
from bot.slack.recommendation_blocks import flag_sections, tip_status_lines
from bot.storage.models import Partnership
from flows import Assessment, Flow, FlowRun, Question, display_answer
from flows.answers import format_date

ASKS = (
    "The review asks: is the value still worth the cost (would working separately be "
    "better?), how the outcomes are doing against the baseline and milestones, what has "
    "changed, whether frontline staff and patients are still involved, and then: "
    "continue, adapt or end."
)


def day(value: date) -> str:
    return format_date(value)


def last_reviewed(partnership: Partnership) -> str:
    """ "last reviewed 3 January 2027 (decided to continue)", or "not reviewed yet"."""
    if partnership.last_reviewed_on is None:
        return "not reviewed yet"
    decided = DECIDED.get(partnership.last_decision or "")
    return f"last reviewed {day(partnership.last_reviewed_on)}" + (
        f" ({decided})" if decided else ""
    )


def _title(partnership: Partnership) -> str:
    return f"{partnership.reference} · {escape(partnership.name)}"


def _controls(reminder_id: int, block_id: str) -> dict[str, Any]:
    end = button("End partnership", ActionId.END, str(reminder_id), style="danger")
    end["confirm"] = {
        "title": {"type": "plain_text", "text": "End this partnership?"},
        "text": {
            "type": "plain_text",
            "text": "Reminders stop. Follow its exit arrangements for shared staff and money.",
        },
        "confirm": {"type": "plain_text", "text": "End it"},
        "deny": {"type": "plain_text", "text": "Keep it"},
    }
    return {
        "type": "actions",
        "block_id": block_id,
        "elements": [
            button("Start review", ActionId.REVIEW_START, str(reminder_id), style="primary"),
            button("Snooze a week", ActionId.SNOOZE_WEEK, str(reminder_id)),
            button("Snooze a month", ActionId.SNOOZE_MONTH, str(reminder_id)),
            end,
        ],
    }


def reminder_message(
    partnership: Partnership, reminder_id: int, due_on: date, send_number: int, escalate: bool
) -> Message:
    """A review falling due: what it asks, when last reviewed, and what to do about it."""
    heading = f"*Review due: {_title(partnership)}*"
    if send_number > 1:
        heading = f"*Review still due: {_title(partnership)}* (reminder {send_number})"
    lines = [heading, f"Due {day(due_on)} · {last_reviewed(partnership)}", ASKS]
    if escalate:
        lines.append(
            f"<@{partnership.owner_id}>, this review is overdue: please start it or snooze it."
        )
    blocks = [section("\n".join(lines)), _controls(reminder_id, f"reminder-{reminder_id}")]
    text = f"Review due: {partnership.reference} {partnership.name}"
    return Message(fallback(text), blocks)


class DigestItem(NamedTuple):
    partnership: Partnership
    reminder_id: int
    due_on: date
    escalate: bool
    note: str | None = None  # what happened to it; None while it still wants an answer


def digest_message(items: Sequence[DigestItem]) -> Message:
    """Many reviews due in one channel at once: one message, a section each; an item that
    has been acted on shows what happened instead of its buttons."""
    blocks: list[dict[str, Any]] = [
        section(f"*{len(items)} partnership reviews are due in this channel.*\n{ASKS}")
    ]
    for item in items:
        partnership = item.partnership
        line = f"*{_title(partnership)}* · due {day(item.due_on)} · {last_reviewed(partnership)}"
        if item.escalate and item.note is None:
            line += f" · overdue, <@{partnership.owner_id}>"
        blocks.append(section(line))
        if item.note is None:
            blocks.append(_controls(item.reminder_id, f"reminder-{item.reminder_id}"))
        else:
            blocks.append(context(item.note))
    refs = ", ".join(item.partnership.reference for item in items)
    return Message(fallback(f"{len(items)} partnership reviews are due: {refs}"), blocks)


def reminder_closed(partnership: Partnership, note: str) -> Message:
    """A reminder that has been acted on: no buttons left to press."""
    # `note` is the bot's own mrkdwn (it mentions people), so only the name is escaped.
    return Message(
        f"{fallback(f'Review of {partnership.reference} {partnership.name}')}: {note}",
        [section(f"*Review of {_title(partnership)}*"), context(note)],
    )


def review_summary(
    flow: Flow,
    run: FlowRun,
    assessment: Assessment,
    partnership: Partnership,
    conversation_id: int,
    version: int,
) -> Message:
    """The finished review in the DM: decision, flags, and Submit / Change / Discard."""
    decision = _question(flow, "decision")
    chosen = display_answer(decision, flow.answer_for("decision", run.answers))
    value = lambda payload="": action_value(conversation_id, version, payload)  # noqa: E731
    blocks: list[dict[str, Any]] = [
        section(f"*Review of {_title(partnership)}*\n*Decision: {escape(chosen)}*"),
        section(tip_status_lines(flow, assessment)),
        *flag_sections(flow, assessment),
    ]
    revise = revise_select(flow, run, value)
    blocks.append(
        {
            "type": "actions",
            "block_id": "summary",
            "elements": [
                button("Submit review", ActionId.SUBMIT, value(), style="primary"),
                revise,
                button("Discard", ActionId.DISCARD, value(), style="danger"),
            ],
        }
    )
    blocks.append(
        context("Submitting posts the result in the thread of the original recommendation.")
    )
    text = f"Review of {partnership.reference} {partnership.name}: {chosen}"
    return Message(fallback(text), blocks)


def review_result(
    flow: Flow,
    partnership: Partnership,
    reviewer_id: str,
    answers: dict[str, Any],
    assessment: Assessment,
) -> Message:
    """The review's result, for the recommendation's thread: the decision and what follows
    from it, the flags, and every answer given."""
    decided = flow.answer_for("decision", answers)
    decision = display_answer(_question(flow, "decision"), decided)
    lines = [
        f"*Review of {_title(partnership)}* by <@{reviewer_id}>",
        f"*Decision: {escape(decision)}*",
    ]
    adapts = flow.answer_for("adapts", answers)
    if decided == "adapt" and adapts:
        changes = display_answer(_question(flow, "adapts"), adapts)
        lines.append(f"Adapting: {escape(changes)}.")
    lines.append(after_review(partnership, str(decided)))
    blocks: list[dict[str, Any]] = [
        section("\n".join(lines)),
        section(tip_status_lines(flow, assessment)),
        *flag_sections(flow, assessment),
    ]
    for question in flow.applicable(answers):
        if question.is_answered(answers) and question is not _question(flow, "decision"):
            shown = escape(display_answer(question, question.value_in(answers)))
            blocks.append(section(f"*{escape(question.text)}*\n{clip(shown, 2500)}"))
    text = f"Review of {partnership.reference} {partnership.name}: {decision}"
    return Message(fallback(text), blocks[:50])


def after_review(partnership: Partnership, decision: str) -> str:
    """What happens next, in words: never "Next review: never"."""
    if decision == "end":
        return "The partnership has ended; reminders have stopped."
    if partnership.next_review_on is None:
        return "No more reviews are scheduled: this was its review at the end of the project."
    return f"Next review: {day(partnership.next_review_on)}."


def _question(flow: Flow, role: str) -> Question:
    question = flow.role_question(role)
    assert question is not None, f"checked at start: the review declares '{role}'"
    return question


def recheck_offer(partnership: Partnership, tip_titles: Sequence[str]) -> Message:
    """After deciding to adapt: re-run the check's tips the change touches."""
    tips = ", ".join(tip_titles)
    text = (
        f"You decided to adapt *{_title(partnership)}*. Re-check {tips} to see whether the "
        "adapted partnership still holds up? Your other answers stay as they were, and the "
        "new verdict goes to its thread."
    )
    return Message(
        fallback(f"Re-check {partnership.reference} {partnership.name}?"),
        [
            section(text),
            {
                "type": "actions",
                "block_id": "recheck",
                "elements": [
                    button(
                        "Re-check the changed tips",
                        ActionId.RECHECK,
                        str(partnership.id),
                        "primary",
                    )
                ],
            },
        ],
    )
