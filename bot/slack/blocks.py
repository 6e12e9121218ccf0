"""Block Kit rendering: flow state and assessments in, Slack messages and views out.

Nothing here talks to Slack or the database. Every piece of user text passes through
`escape` before it reaches a mrkdwn field and through `clip` before any length limit, so a
message stays valid whatever was typed. Every message has a plain `text` fallback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from bot.core.listing import CheckLine
from bot.slack.mrkdwn import (
    BUTTON_TEXT,
    FALLBACK_TEXT,
    OPTION_TEXT,
    SECTION_TEXT,
    clip,
    escape,
)
from bot.slack.subcommands import help_lines
from flows import NOT_SURE, Flow, FlowRun, Migration, Question, display_answer
from flows.answers import format_date


class ActionId(StrEnum):
    """The action_id of every control the bot draws; the action listener looks it up."""

    ANSWER = "answer"  # answer_0, answer_1, ...: one button per option (see `of`)
    ANSWER_SELECT = "answer_select"
    ANSWER_DATE = "answer_date"  # a date picked in the date picker
    ANSWER_SUGGESTED = "answer_suggested"  # the suggested date (or Skip) as a button
    CHOICES_DRAFT = "choices_draft"
    CHOICES_DONE = "choices_done"
    PART_DRAFT = "part_draft"  # a choice within a group, remembered until Continue
    PARTS_DONE = "parts_done"
    LIST_DONE = "list_done"
    KEEP = "keep_answer"
    BACK = "back"
    HELP = "help"
    CANCEL = "cancel"
    POST = "post"
    REVISE = "revise"
    DISCARD = "discard"
    PICK_CHANNEL = "pick_channel"
    HOME_NEW = "home_new"
    REVIEW_START = "review_start"  # on a review reminder in the channel
    SNOOZE_WEEK = "review_snooze_week"
    SNOOZE_MONTH = "review_snooze_month"
    END = "review_end"
    SUBMIT = "review_submit"  # on a review's summary
    RECHECK = "recheck"  # on the offer to re-check an adapted partnership
    INVITE = "invite_partners"  # on a check's summary and its post's thread
    INVITE_PICK = "invite_pick"  # a person picked to give an organisation's view
    VIEW_START = "view_start"  # on an invitation: start the partner questionnaire
    VIEW_NOT_ME = "view_not_me"
    VIEW_INSTEAD = "view_instead"  # who should answer instead
    VIEW_NOBODY = "view_nobody"  # ... nobody the invitee knows of
    VIEW_SEND = "view_send"  # on a partner's summary
    CONDITION = "condition"  # a condition's menu in the thread: met, drop, give
    CONDITION_DROP = "condition_drop"  # why it is dropped (typed, Enter sends)
    CONDITION_GIVE = "condition_give"  # who owns it now
    CONDITIONS_MET = "conditions_met"  # ticked met on a review's summary

    @classmethod
    def of(cls, action_id: str) -> ActionId | None:
        """The control an action_id names ("answer_3" is an ANSWER), or None."""
        base = re.sub(r"_\d{1,3}$", "", action_id) if action_id.startswith("answer_") else action_id
        try:
            return cls(base)
        except ValueError:
            return None


# A review's decision, as a reader of the channel says it.
DECIDED = {
    "continue": "decided to continue",
    "adapt": "decided to adapt it",
    "end": "decided to end it",
}

# The cancel button of each flow's questions (a partner's questionnaire is not a check).
CANCEL_LABEL = {"check": "Cancel check", "review": "Cancel review"}

# Slack's limits on one element.
MAX_BUTTONS = 6  # more options than this go in a menu: a row of buttons wraps badly
MAX_CHECKBOXES = 10
PART_BLOCK = "part:"  # block_id prefix of a group's part: "part:<part id>"


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict[str, Any]]

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def action_value(conversation_id: int, version: int, payload: str = "") -> str:
    """Button values carry the conversation and its version, so a stale press is detected."""
    return f"{conversation_id}.{version}.{payload}"


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT)},
        **extra,
    }


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}]}


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, BUTTON_TEXT), "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def person_picker(action_id: str, initial_user: str | None = None) -> dict[str, Any]:
    """A menu of the workspace's people (who to invite, who answers instead, who owns a
    condition now)."""
    picker: dict[str, Any] = {
        "type": "users_select",
        "action_id": action_id,
        "placeholder": {"type": "plain_text", "text": "Pick a person"},
    }
    if initial_user:
        picker["initial_user"] = initial_user
    return picker


def option(label: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": clip(label, OPTION_TEXT)}, "value": value}


def fallback(text: str) -> str:
    return clip(escape(text), FALLBACK_TEXT)


def tip_title(flow: Flow, tip_id: str) -> str:
    return next(tip.title for tip in flow.tips if tip.id == tip_id)


# --- the conversation in the DM -------------------------------------------------------


def question_message(
    flow: Flow,
    run: FlowRun,
    conversation_id: int,
    version: int,
    check_roles: Mapping[str, Any] | None = None,
) -> Message:
    """The current question: where it is in the check, the question (with the check's
    answer it shows, if any), its answer controls, and the way back, help and cancel."""
    question = run.current
    assert question is not None, "question_message needs a run at a question"
    heading = progress_heading(flow, run)
    blocks: list[dict[str, Any]] = [context(heading), section(f"*{escape(question.text)}*")]
    showing = (check_roles or {}).get(question.shows) if question.shows else None
    if showing:
        items = showing if isinstance(showing, list) else [showing]
        blocks.append(section("\n".join(f"• {escape(str(item))}" for item in items)))
    if question.hint:
        blocks.append(context(escape(question.hint)))
    value = lambda payload="": action_value(conversation_id, version, payload)  # noqa: E731

    previous = question.value_in(run.answers) if question.is_answered(run.answers) else None
    controls, hint = _controls(question, run, value, previous)
    blocks.extend(controls)
    if hint:
        blocks.append(context(hint))
    if previous is not None and not question.parts:
        shown = escape(display_answer(question, previous))
        blocks.append(context(f"Your earlier answer: {clip(shown, 1500)}"))

    navigation = []
    # Ticks, radio buttons and a date picker show the earlier answer already, with their
    # own Continue or Use button.
    has_own_button = question.type in ("multi_choice", "group") or question.default
    if previous is not None and not has_own_button:
        navigation.append(button("Keep this answer", ActionId.KEEP, value(), style="primary"))
    if run.can_go_back:
        navigation.append(button("Back", ActionId.BACK, value()))
    navigation.append(button("What does this tip mean?", ActionId.HELP, value(question.tip)))
    navigation.append(button(CANCEL_LABEL.get(flow.id, "Cancel"), ActionId.CANCEL, value()))
    blocks.append({"type": "actions", "block_id": "navigation", "elements": navigation})
    text = f"{heading.replace('*', '')}: {question.text}"
    return Message(fallback(text), blocks)


def progress_heading(flow: Flow, run: FlowRun) -> str:
    """ "*Be realistic* · tip 3 of 5": where the question is, by tip, so it never jumps."""
    question = run.current
    assert question is not None
    title = f"*{escape(tip_title(flow, question.tip))}*"
    progress = run.tip_progress()
    if progress is None:
        return title
    return f"{title} · tip {progress[0]} of {progress[1]}"


Controls = tuple[list[dict[str, Any]], str | None]


def _controls(question: Question, run: FlowRun, value: Any, previous: Any) -> Controls:
    """The blocks to answer `question` with, and a line saying how (or None)."""
    if question.type == "choice":
        return [_choice_controls(question, value)], None
    if question.type == "multi_choice":
        return _multi_choice_controls(question, value, previous), (
            "Tick all that apply, then press *Continue* (or type them, separated by commas)."
        )
    if question.type == "group":
        unsure = " Don't know yet? Choose *Not sure*." if question.offers(NOT_SURE) else ""
        return _group_controls(question, run, value), (
            f"Choose one in each, then press *Continue*.{unsure}"
        )
    if question.type == "list" and question.more_messages:
        return _list_controls(question, run.pending, value)
    if question.type == "date" and (suggested := run.suggestion()):
        return _date_controls(suggested, value, previous), (
            "Press the button to keep the suggested date, or pick another."
        )
    controls = []
    if question.optional:
        skip = button("Skip", ActionId.ANSWER_SUGGESTED, value("skip"))
        controls.append({"type": "actions", "block_id": "answer", "elements": [skip]})
    return controls, _typing_hint(question)


def _choice_controls(question: Question, value: Any) -> dict[str, Any]:
    if len(question.options) <= MAX_BUTTONS:
        buttons = [
            button(choice.label, f"{ActionId.ANSWER}_{i}", value(choice.value))
            for i, choice in enumerate(question.options)
        ]
        return {"type": "actions", "block_id": "answer", "elements": buttons}
    select = {
        "type": "static_select",
        "action_id": ActionId.ANSWER_SELECT,
        "placeholder": {"type": "plain_text", "text": "Choose one"},
        "options": [option(o.label, value(o.value)) for o in question.options],
    }
    return {"type": "actions", "block_id": "answer", "elements": [select]}


def _multi_choice_controls(question: Question, value: Any, previous: Any) -> list[dict]:
    many = len(question.options) > MAX_CHECKBOXES  # Slack allows 10 checkboxes at most
    element: dict[str, Any] = {
        "type": "multi_static_select" if many else "checkboxes",
        "action_id": ActionId.CHOICES_DRAFT,
        "options": [option(o.label, o.value) for o in question.options],
    }
    if many:
        element["placeholder"] = {"type": "plain_text", "text": "Choose all that apply"}
    chosen = [option(o.label, o.value) for o in question.options if o.value in (previous or [])]
    if chosen:
        element["initial_options"] = chosen
    return [
        {"type": "actions", "block_id": "choices", "elements": [element]},
        {
            "type": "actions",
            "block_id": "answer",
            "elements": [button("Continue", ActionId.CHOICES_DONE, value(), style="primary")],
        },
    ]


def _group_controls(question: Question, run: FlowRun, value: Any) -> list[dict[str, Any]]:
    """A labelled set of radio buttons per part (one tap each, no menus to open on a
    phone), then Continue. Earlier answers are ticked already."""
    blocks: list[dict[str, Any]] = []
    for part in question.parts:
        radios: dict[str, Any] = {
            "type": "radio_buttons",
            "action_id": ActionId.PART_DRAFT,
            "options": [option(o.label, o.value) for o in part.options],
        }
        earlier = part.option(run.answers.get(part.id))
        if earlier is not None:
            radios["initial_option"] = option(earlier.label, earlier.value)
        label = f"*{escape(part.label)}*" + (" (optional)" if part.optional else "")
        blocks.append(section(label))
        blocks.append({"type": "actions", "block_id": PART_BLOCK + part.id, "elements": [radios]})
    blocks.append(
        {
            "type": "actions",
            "block_id": "answer",
            "elements": [button("Continue", ActionId.PARTS_DONE, value(), style="primary")],
        }
    )
    return blocks


def _list_controls(question: Question, pending: list[str], value: Any) -> Controls:
    """A question answered over several messages (in Slack, Enter sends): what has been
    taken so far, and Done once there is something to keep."""
    most = question.max_items
    if not pending:
        return [], (
            f"Send each as its own message, or several on separate lines. Up to {most}; "
            "press *Done* after the last one."
        )
    taken = "\n".join(f"{n}. {clip(escape(item), 300)}" for n, item in enumerate(pending, 1))
    done = button("Done", ActionId.LIST_DONE, value(), style="primary")
    return [
        section(f"*So far:*\n{taken}"),
        {"type": "actions", "block_id": "answer", "elements": [done]},
    ], f"Send another (up to {most} in all), or press *Done* if that's all."


def _date_controls(suggested: str, value: Any, previous: Any) -> list[dict[str, Any]]:
    initial = previous if isinstance(previous, str) else suggested
    picker = {
        "type": "datepicker",
        "action_id": ActionId.ANSWER_DATE,
        "initial_date": initial,
        "placeholder": {"type": "plain_text", "text": "Pick a date"},
    }
    keep = button(
        f"Use {format_date(date.fromisoformat(initial))}", ActionId.ANSWER_SUGGESTED, value(initial)
    )
    return [{"type": "actions", "block_id": "answer", "elements": [keep, picker]}]


def _typing_hint(question: Question) -> str:
    hints = {
        "number": "Type a whole number as your reply.",
        "date": "Type a date as your reply, e.g. 14 March 2027.",
        "short_text": "Type your answer as a reply.",
        "long_text": "Type your answer as a reply; a sentence or two is plenty.",
        "list": "Type them in one reply, separated by commas.",
    }
    if question.optional:
        return hints.get(question.type, "Type your answer as a reply.") + " Or press *Skip*."
    return hints.get(question.type, "Type your answer as a reply.")


def answered_message(flow: Flow, question: Question, value: Any) -> Message:
    """What a question message becomes once answered: no buttons left to press.

    `value` is what `Question.value_in` gives (a dict of parts for a group)."""
    answer = display_answer(question, value)
    shown = clip(escape(answer), SECTION_TEXT - 500)
    blocks = [
        context(f"*{escape(tip_title(flow, question.tip))}*"),
        section(f"{escape(question.text)}\n:white_check_mark: *{shown}*"),
    ]
    return Message(fallback(f"{question.text} {answer}"), blocks)


def taken_message(flow: Flow, question: Question, items: Sequence[str]) -> Message:
    """A list question's message once some items were sent: what was taken so far."""
    taken = "\n".join(f"{n}. {clip(escape(item), 300)}" for n, item in enumerate(items, 1))
    blocks = [
        context(f"*{escape(tip_title(flow, question.tip))}*"),
        section(f"{escape(question.text)}\n:white_check_mark: *Taken so far:*\n{taken}"),
    ]
    return Message(fallback(f"{question.text} Taken so far: {'; '.join(items)}"), blocks)


def closed_message(note: str, question: Question | None = None) -> Message:
    """A question or summary message that no longer takes input (went back, cancelled...).

    `note` is the bot's own mrkdwn (it may link a channel), so it is not escaped again.
    """
    blocks = []
    if question is not None:
        blocks.append(section(f"~{escape(question.text)}~"))
    blocks.append(context(note))
    return Message(clip(note, FALLBACK_TEXT), blocks)


def revise_select(flow: Flow, run: FlowRun, value: Any) -> dict[str, Any]:
    """The "Change an answer" menu of a summary: every question asked, to go back to one."""
    return {
        "type": "static_select",
        "action_id": ActionId.REVISE,
        "placeholder": {"type": "plain_text", "text": "Change an answer"},
        "options": [option(q.text, value(q.id)) for q in flow.applicable(run.answers)][:100],
    }


def notice(text: str) -> Message:
    """A one-line message; `text` is already mrkdwn-safe."""
    return Message(clip(text, FALLBACK_TEXT), [section(text)])


def tip_help(flow: Flow, tip_id: str) -> Message:
    tip = next(t for t in flow.tips if t.id == tip_id)
    return notice(f"*{escape(tip.title)}*\n{escape(tip.help)}")


# --- home, list and help ------------------------------------------------------------------


def check_sections(lines: Sequence[CheckLine]) -> list[dict[str, Any]]:
    """One section per check, so a long list never loses its older entries to a clip."""
    if not lines:
        return [section("You have no checks yet.")]
    sections = []
    for line in lines:
        parts = [f"*{escape(line.reference)}*" if line.reference else None, escape(line.name)]
        text = " · ".join(p for p in parts if p)
        detail = line.status
        if line.verdict:
            detail += f" · {line.verdict}"
        if line.channel_id:
            detail += f" · in <#{line.channel_id}>"
        if line.next_review:
            detail += f" · next review {line.next_review.strftime('%-d %B %Y')}"
        if decided := DECIDED.get(line.last_decision or ""):
            detail += f" · last review: {decided}"
        if line.open_conditions:
            detail += "\n    " + _open_conditions_line(line.open_conditions)
        sections.append(section(f"• {clip(text, SECTION_TEXT - 800)} — {detail}"))
    return sections


def _open_conditions_line(conditions: Sequence[str], limit: int = 3) -> str:
    return f"Open conditions ({len(conditions)}): {some_of(conditions, limit, each=120)}"


def some_of(texts: Sequence[str], limit: int, each: int | None = None) -> str:
    """The first `limit` of `texts` (escaped; each clipped to `each` characters), then how
    many more: "a; b; and 3 more"."""
    named = "; ".join(clip(escape(text), each) if each else escape(text) for text in texts[:limit])
    more = len(texts) - limit
    return named + (f"; and {more} more" if more > 0 else "")


def list_message(lines: Sequence[CheckLine]) -> Message:
    return Message(
        "Your partnership checks",
        [section("*Your partnership checks*"), *check_sections(lines)],
    )


def home_view(flow: Flow, lines: Sequence[CheckLine]) -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Partnership check"}},
            section(
                "Is a proposed partnership worth forming? Answer about "
                f"{typical_questions(flow)} questions, about 5 minutes, under five tips (be "
                "selective, clear on outcomes, realistic, flexible and engaged) and get a "
                "verdict with its red flags and the conditions that would fix them. *Not "
                "sure* is always an honest answer."
            ),
            {
                "type": "actions",
                "block_id": "home",
                "elements": [
                    button("Check a partnership", ActionId.HOME_NEW, "new", style="primary")
                ],
            },
            context("*Commands*\n" + help_lines()),
            {"type": "divider"},
            section("*Your recent checks*"),
            *check_sections(lines),
        ],
    }


def help_message(flow: Flow) -> Message:
    tips = "\n".join(f"• *{escape(t.title)}*" for t in flow.assessed_tips)
    text = (
        f"*Partnership check* asks about {typical_questions(flow)} questions about a proposed "
        "partnership, one at a time (about 5 minutes), checks them against five tips, and "
        "gives a verdict: *Proceed*, *Proceed with conditions*, *Reconsider* or *Use a less "
        "formal route*, with the conditions that would fix each red flag.\n"
        f"{tips}\n\n"
        "*Commands*\n"
        f"{help_lines()}\n\n"
        "In our DM you can type `back`, `cancel`, `help` or `resume` at any time, and "
        "`not sure` to any question you can't answer yet. Leave and come back whenever you "
        "like: the check waits where you left it."
    )
    return Message("How the partnership check works", [section(text)])


def check_intro(flow: Flow) -> str:
    """The first message of a check: how long it takes and what to have at hand."""
    return (
        f"Let's check this partnership: about {typical_questions(flow)} questions, about 5 "
        "minutes. Have at hand the organisations involved (the lead first), the problem it "
        "would solve and its 1 to 3 objectives.\n"
        "Don't know an answer yet? Choose *Not sure*: that's an honest answer, and the "
        "result will say what to find out. Type `back`, `cancel` or `help` whenever you "
        "like; leave and come back any time."
    )


def typical_questions(flow: Flow) -> int:
    """How many questions a check asks when no branch adds any (its usual length)."""
    return sum(1 for question in flow.applicable({}) if question.ask_when is None)


def upgraded_note(flow: Flow, migration: Migration) -> str:
    """One line telling the person the questions changed under their conversation."""
    what = "check" if flow.has_verdict else "review"
    kept = f"I kept {migration.kept} of your answers"
    if not migration.to_answer:
        return f"The {what}'s questions have been updated since you started. {kept}."
    new = len(migration.to_answer)
    asks = "1 question needs" if new == 1 else f"{new} questions need"
    return (
        f"The {what}'s questions have been updated since you started. {kept}; {asks} an answer now."
    )
