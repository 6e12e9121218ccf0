"""Block Kit for reviews: reminders and digests in the channel, the review's summary in the
DM, and its result in the thread of the original recommendation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

from bot.core.conditions import OPEN
from bot.core.notifier import ConditionLine
from bot.slack.blocks import (
    DECIDED,
    MAX_CHECKBOXES,
    ActionId,
    Message,
    action_value,
    button,
    context,
    fallback,
    option,
    revise_select,
    section,
    some_of,
)
from bot.slack.mrkdwn import OPTION_TEXT, clip, escape
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
    partnership: Partnership,
    reminder_id: int,
    due_on: date,
    send_number: int,
    escalate: bool,
    open_conditions: Sequence[str] = (),
) -> Message:
    """A review falling due: what it asks, when last reviewed, and what to do about it."""
    heading = f"*Review due: {_title(partnership)}*"
    if send_number > 1:
        heading = f"*Review still due: {_title(partnership)}* (reminder {send_number})"
    lines = [heading, f"Due {day(due_on)} · {last_reviewed(partnership)}", ASKS]
    if open_conditions:
        lines.append(still_open_line(open_conditions))
    if escalate:
        lines.append(
            f"<@{partnership.owner_id}>, this review is overdue: please start it or snooze it."
        )
    blocks = [section("\n".join(lines)), _controls(reminder_id, f"reminder-{reminder_id}")]
    text = f"Review due: {partnership.reference} {partnership.name}"
    return Message(fallback(text), blocks)


def still_open_line(open_conditions: Sequence[str], limit: int = 5) -> str:
    """The conditions open since an earlier review, named (a few, then a count)."""
    named = some_of(open_conditions, limit)
    return clip(f":warning: *Still open since the last review:* {named}", 1500)


class DigestItem(NamedTuple):
    partnership: Partnership
    reminder_id: int
    due_on: date
    escalate: bool
    note: str | None = None  # what happened to it; None while it still wants an answer
    open_conditions: Sequence[str] = ()


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
        if item.open_conditions and item.note is None:
            line += "\n" + still_open_line(item.open_conditions, limit=2)
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
    open_conditions: Sequence[ConditionLine] = (),
    ticked: Sequence[str] = (),
) -> Message:
    """The finished review in the DM: decision, flags, the conditions still open (tick
    those now met), and Submit / Change / Discard."""
    decision = _question(flow, "decision")
    chosen = display_answer(decision, flow.answer_for("decision", run.answers))
    value = lambda payload="": action_value(conversation_id, version, payload)  # noqa: E731
    blocks: list[dict[str, Any]] = [
        section(f"*Review of {_title(partnership)}*\n*Decision: {escape(chosen)}*"),
        section(tip_status_lines(flow, assessment)),
        *flag_sections(flow, assessment),
        *_open_conditions(open_conditions, ticked),
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


def _open_conditions(
    still_open: Sequence[ConditionLine], ticked: Sequence[str]
) -> list[dict[str, Any]]:
    """The review asks about each condition still open: tick those met since."""
    if not still_open:
        return []
    asked = still_open[:MAX_CHECKBOXES]
    options = [option(_condition_label(line), str(line.id)) for line in asked]
    box: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": ActionId.CONDITIONS_MET,
        "options": options,
    }
    chosen = [o for o in options if o["value"] in ticked]
    if chosen:
        box["initial_options"] = chosen
    listed = "\n".join(f"• {escape(_condition_label(line, whole=True))}" for line in asked)
    blocks = [
        section(
            f"*Conditions still open ({len(still_open)})*: tick those met since they were "
            f"set. Submitting marks them met.\n{listed}"
        ),
        {"type": "actions", "block_id": "conditions_met", "elements": [box]},
    ]
    if len(still_open) > len(asked):
        blocks.append(
            context(
                f"… and {len(still_open) - len(asked)} more: mark them from the "
                "recommendation's thread."
            )
        )
    return blocks


def _condition_label(line: ConditionLine, whole: bool = False) -> str:
    text = f"{line.view}: {line.text}" if line.view else line.text
    return text if whole else clip(text, OPTION_TEXT)


def review_result(
    flow: Flow,
    partnership: Partnership,
    reviewer_id: str,
    answers: dict[str, Any],
    assessment: Assessment,
    followed: Sequence[ConditionLine] = (),
    met_now: Sequence[int] = (),
) -> Message:
    """The review's result, for the recommendation's thread: the decision and what follows
    from it, the flags, where its conditions stand, and every answer given."""
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
    if followed:
        blocks.append(section(_conditions_after(followed, met_now)))
    for question in flow.applicable(answers):
        if question.is_answered(answers) and question is not _question(flow, "decision"):
            shown = escape(display_answer(question, question.value_in(answers)))
            blocks.append(section(f"*{escape(question.text)}*\n{clip(shown, 2500)}"))
    text = f"Review of {partnership.reference} {partnership.name}: {decision}"
    return Message(fallback(text), blocks[:50])


def _conditions_after(followed: Sequence[ConditionLine], met_now: Sequence[int]) -> str:
    met = [line for line in followed if line.id in met_now]
    still = [line for line in followed if line.status == OPEN]
    lines = ["*Conditions*"]
    if met:
        lines.append("Met, as this review found: " + "; ".join(escape(c.text) for c in met))
    if still:
        lines.append("Still open: " + "; ".join(escape(c.text) for c in still))
    else:
        lines.append("None is open now.")
    return clip("\n".join(lines), 2900)


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
