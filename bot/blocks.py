"""Block Kit rendering: flow state and assessments in, Slack messages and views out.

Nothing here talks to Slack or the database. Every piece of user text passes through
`escape` before it reaches a mrkdwn field and through `clip` before any length limit, so a
message stays valid whatever was typed. Every message has a plain `text` fallback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flows import Assessment, Flow, FlowRun, Question, display_answer

from .mrkdwn import (
    BUTTON_TEXT,
    FALLBACK_TEXT,
    HEADER_TEXT,
    OPTION_TEXT,
    SECTION_TEXT,
    clip,
    escape,
)

# action_ids: the listeners match on these.
ANSWER = "answer"  # answer_0, answer_1, ...: one button per option
ANSWER_SELECT = "answer_select"
CHOICES_DRAFT = "choices_draft"
CHOICES_DONE = "choices_done"
KEEP = "keep_answer"
BACK = "back"
HELP = "help"
CANCEL = "cancel"
POST = "post"
REVISE = "revise"
DISCARD = "discard"
PICK_CHANNEL = "pick_channel"
HOME_NEW = "home_new"

STATUS_EMOJI = {
    "green": ":large_green_circle:",
    "amber": ":large_orange_circle:",
    "red": ":red_circle:",
}
STATUS_WORD = {"green": "no flags", "amber": "warnings", "red": "critical"}
SEVERITY = {
    "critical": ":red_circle: Critical",
    "warning": ":large_orange_circle: Warning",
    "verdict": ":arrow_right: Sets the verdict",
}
SEVERITY_WORD = {"critical": "critical", "warning": "warning", "verdict": "sets the verdict"}
MAX_BUTTONS = 5


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict[str, Any]]

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def action_value(conversation_id: int, version: int, payload: str = "") -> str:
    """Button values carry the conversation and its version, so a stale press is detected."""
    return f"{conversation_id}.{version}.{payload}"


def parse_action_value(value: str) -> tuple[int, int, str]:
    conversation, version, payload = value.split(".", 2)
    return int(conversation), int(version), payload


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


def option(label: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": clip(label, OPTION_TEXT)}, "value": value}


def fallback(text: str) -> str:
    return clip(escape(text), FALLBACK_TEXT)


def tip_title(flow: Flow, tip_id: str) -> str:
    return next(tip.title for tip in flow.tips if tip.id == tip_id)


# --- the conversation in the DM -------------------------------------------------------


def question_message(flow: Flow, run: FlowRun, conversation_id: int, version: int) -> Message:
    """The current question: tip and progress, the question, its answer controls, navigation."""
    question = run.current
    assert question is not None, "question_message needs a run at a question"
    position, total = run.progress
    heading = f"*{escape(tip_title(flow, question.tip))}* · question {position} of {total}"
    blocks: list[dict[str, Any]] = [context(heading), section(f"*{escape(question.text)}*")]
    if question.hint:
        blocks.append(context(escape(question.hint)))
    value = lambda payload="": action_value(conversation_id, version, payload)  # noqa: E731

    previous = run.answers.get(question.id)
    if question.type in ("choice", "yes_no"):
        blocks.append(_choice_controls(question, value))
    elif question.type == "multi_choice":
        blocks.extend(_multi_choice_controls(question, value, previous))
    else:
        blocks.append(context(_typing_hint(question)))
    if previous is not None:
        shown = escape(display_answer(question, previous))
        blocks.append(context(f"Your earlier answer: {clip(shown, 1500)}"))

    navigation = []
    if previous is not None and question.type != "multi_choice":
        navigation.append(button("Keep this answer", KEEP, value(), style="primary"))
    if run.can_go_back:
        navigation.append(button("Back", BACK, value()))
    navigation.append(button("What does this tip mean?", HELP, value(question.tip)))
    navigation.append(button("Cancel check", CANCEL, value()))
    blocks.append({"type": "actions", "block_id": "navigation", "elements": navigation})
    text = f"{tip_title(flow, question.tip)} · question {position} of {total}: {question.text}"
    return Message(fallback(text), blocks)


def _choice_controls(question: Question, value: Any) -> dict[str, Any]:
    if len(question.options) <= MAX_BUTTONS:
        buttons = [
            button(choice.label, f"{ANSWER}_{i}", value(choice.value))
            for i, choice in enumerate(question.options)
        ]
        return {"type": "actions", "block_id": "answer", "elements": buttons}
    select = {
        "type": "static_select",
        "action_id": ANSWER_SELECT,
        "placeholder": {"type": "plain_text", "text": "Choose one"},
        "options": [option(o.label, value(o.value)) for o in question.options],
    }
    return {"type": "actions", "block_id": "answer", "elements": [select]}


def _multi_choice_controls(question: Question, value: Any, previous: Any) -> list[dict]:
    checkboxes: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": CHOICES_DRAFT,
        "options": [option(o.label, o.value) for o in question.options],
    }
    chosen = [option(o.label, o.value) for o in question.options if o.value in (previous or [])]
    if chosen:
        checkboxes["initial_options"] = chosen
    return [
        {"type": "actions", "block_id": "choices", "elements": [checkboxes]},
        {
            "type": "actions",
            "block_id": "answer",
            "elements": [button("Continue", CHOICES_DONE, value(), style="primary")],
        },
        context("Tick all that apply, then press *Continue* (or type them, separated by commas)."),
    ]


def _typing_hint(question: Question) -> str:
    hints = {
        "number": "Type a whole number as your reply.",
        "date": "Type a date as your reply, e.g. 14 March 2027.",
        "short_text": "Type your answer as a reply.",
        "long_text": "Type your answer as a reply; a few sentences is plenty.",
    }
    return hints.get(question.type, "Type your answer as a reply.")


def answered_message(flow: Flow, question: Question, value: Any) -> Message:
    """What a question message becomes once answered: no buttons left to press."""
    answer = display_answer(question, value)
    shown = clip(escape(answer), SECTION_TEXT - 500)
    blocks = [
        context(f"*{escape(tip_title(flow, question.tip))}*"),
        section(f"{escape(question.text)}\n:white_check_mark: *{shown}*"),
    ]
    return Message(fallback(f"{question.text} {answer}"), blocks)


def closed_message(note: str, question: Question | None = None) -> Message:
    """A question or summary message that no longer takes input (went back, cancelled...).

    `note` is the bot's own mrkdwn (it may link a channel), so it is not escaped again.
    """
    blocks = []
    if question is not None:
        blocks.append(section(f"~{escape(question.text)}~"))
    blocks.append(context(note))
    return Message(clip(note, FALLBACK_TEXT), blocks)


def notice(text: str) -> Message:
    """A one-line message; `text` is already mrkdwn-safe."""
    return Message(clip(text, FALLBACK_TEXT), [section(text)])


def tip_help(flow: Flow, tip_id: str) -> Message:
    tip = next(t for t in flow.tips if t.id == tip_id)
    return notice(f"*{escape(tip.title)}*\n{escape(tip.help)}")


# --- the summary ------------------------------------------------------------------------


def summary_message(
    flow: Flow,
    run: FlowRun,
    assessment: Assessment,
    conversation_id: int,
    version: int,
    channel: str | None,
    update_of: str | None = None,
) -> Message:
    """Verdict, per-tip status, flags with conditions; Post, Change an answer, Discard.

    `update_of` is the reference of the partnership this re-checks: its update goes to
    that recommendation's thread, so there is no channel to pick.
    """
    name = str(run.answers.get("name", "Untitled proposal"))
    title = f"Re-check of {update_of}: {name}" if update_of else f"Check: {name}"
    value = lambda payload="": action_value(conversation_id, version, payload)  # noqa: E731
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": clip(title, HEADER_TEXT)},
        },
        section(f"*Verdict: {assessment.verdict}*\n{verdict_explanation(assessment)}"),
        section(tip_status_lines(flow, assessment)),
        *flag_sections(flow, assessment),
    ]
    picker: dict[str, Any] = {
        "type": "conversations_select",
        "action_id": PICK_CHANNEL,
        "placeholder": {"type": "plain_text", "text": "Choose a channel"},
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if channel and channel[0] in "CG":
        picker["initial_conversation"] = channel
    where = f"Post to <#{channel}>" if channel and channel[0] in "CG" else "Post to"
    if channel and channel.startswith("#"):
        where = f"Post to {escape(channel)}"
    if update_of:
        blocks.append(section(f"Posting adds this to the thread of {update_of}."))
    else:
        blocks.append(section(f"{where} (or pick another channel):", accessory=picker))
    revise = {
        "type": "static_select",
        "action_id": REVISE,
        "placeholder": {"type": "plain_text", "text": "Change an answer"},
        "options": [option(q.text, value(q.id)) for q in flow.questions if q.id in run.answers][
            :100
        ],
    }
    discard = button("Discard", DISCARD, value(), style="danger")
    discard["confirm"] = {
        "title": {"type": "plain_text", "text": "Discard this check?"},
        "text": {"type": "plain_text", "text": "Your answers will be deleted from the summary."},
        "confirm": {"type": "plain_text", "text": "Discard"},
        "deny": {"type": "plain_text", "text": "Keep it"},
    }
    blocks.append(
        {
            "type": "actions",
            "block_id": "summary",
            "elements": [
                button("Post the update" if update_of else "Post", POST, value(), style="primary"),
                revise,
                discard,
            ],
        }
    )
    return Message(fallback(f"Check: {name}. Verdict: {assessment.verdict}"), blocks)


def verdict_explanation(assessment: Assessment) -> str:
    criticals = sum(1 for flag in assessment.flags if flag.severity == "critical")
    return {
        "Use a less formal route": "You said a less formal route would work: use it first; "
        "a partnership costs time to agree, run and administer.",
        "Reconsider": f"{criticals} critical flags: fix these before going further.",
        "Proceed with conditions": "Go ahead once each flag below is met as a condition.",
        "Proceed": "No red flags. Keep reviewing its value as you go.",
    }.get(assessment.verdict, "")


def tip_status_lines(flow: Flow, assessment: Assessment) -> str:
    lines = [
        f"{STATUS_EMOJI[status]} {escape(tip_title(flow, tip))}: {STATUS_WORD[status]}"
        for tip, status in assessment.tip_status.items()
    ]
    return "\n".join(lines)


def flag_sections(flow: Flow, assessment: Assessment) -> list[dict[str, Any]]:
    """One section per tip that has flags: each flag's severity, reason and condition."""
    sections = []
    for tip in flow.tips:
        flags = [flag for flag in assessment.flags if flag.tip == tip.id]
        if not flags:
            continue
        lines = [
            f"• {SEVERITY[f.severity]}: {escape(f.reason)}\n    _Condition:_ {escape(f.condition)}"
            for f in flags
        ]
        sections.append(section(f"*{escape(tip.title)}*\n" + "\n".join(lines)))
    return sections


# --- the channel ------------------------------------------------------------------------


def channel_post(
    flow: Flow, reference: str, name: str, owner_id: str, assessment: Assessment
) -> Message:
    """The compact recommendation in the channel; the detail goes in its thread."""
    flags = [
        f"• *{escape(tip_title(flow, f.tip))}*: {escape(f.reason)} ({SEVERITY_WORD[f.severity]})"
        for f in assessment.flags
    ]
    blocks = [
        section(
            f"*{reference} · {escape(name)}*\n*Verdict: {assessment.verdict}*\n"
            f"Proposed by <@{owner_id}>"
        ),
        context(
            "   ".join(
                f"{STATUS_EMOJI[s]} {escape(tip_title(flow, t))}"
                for t, s in assessment.tip_status.items()
            )
        ),
    ]
    if flags:
        blocks.append(section("*Red flags*\n" + "\n".join(flags)))
    blocks.append(context("Answers and suggested conditions are in the thread."))
    text = f"{reference} {name}: {assessment.verdict}"
    return Message(fallback(text), blocks)


def thread_details(flow: Flow, answers: dict[str, Any], assessment: Assessment) -> list[Message]:
    """The full answers, tip by tip, then the conditions: one or more thread replies."""
    answer_blocks: list[dict[str, Any]] = []
    for tip in flow.tips:
        asked = [q for q in flow.questions if q.tip == tip.id and q.id in answers]
        if not asked:
            continue
        answer_blocks.append(
            {"type": "header", "text": {"type": "plain_text", "text": clip(tip.title, HEADER_TEXT)}}
        )
        for q in asked:
            shown = clip(escape(display_answer(q, answers[q.id])), SECTION_TEXT - 600)
            answer_blocks.append(section(f"*{clip(escape(q.text), 500)}*\n{shown}"))
    messages = [
        Message("Answers given in the check", chunk) for chunk in _chunks(answer_blocks, 50)
    ]
    conditions = flag_sections(flow, assessment)
    if conditions:
        messages.append(
            Message(
                "Suggested conditions",
                [section("*Suggested conditions*"), *conditions],
            )
        )
    return messages


def _chunks(items: Sequence[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


# --- home, list and help ------------------------------------------------------------------


@dataclass(frozen=True)
class CheckLine:
    """One of a person's checks, as listed in the App Home and `/partnership list`."""

    name: str
    status: str
    reference: str | None = None
    verdict: str | None = None
    channel_id: str | None = None
    next_review: date | None = None
    last_decision: str | None = None


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
        if line.last_decision:
            detail += f" · last review: {line.last_decision}"
        sections.append(section(f"• {clip(text, SECTION_TEXT - 300)} — {detail}"))
    return sections


def list_message(lines: Sequence[CheckLine]) -> Message:
    return Message(
        "Your partnership checks",
        [section("*Your partnership checks*"), *check_sections(lines)],
    )


def home_view(lines: Sequence[CheckLine]) -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Partnership check"}},
            section(
                "Is a proposed partnership worth forming? Answer a few questions under five "
                "tips (be selective, clear on outcomes, realistic, flexible and engaged) and "
                "get a verdict with its red flags and the conditions that would fix them."
            ),
            {
                "type": "actions",
                "block_id": "home",
                "elements": [button("Check a partnership", HOME_NEW, "new", style="primary")],
            },
            {"type": "divider"},
            section("*Your recent checks*"),
            *check_sections(lines),
        ],
    }


def help_message(flow: Flow) -> Message:
    tips = "\n".join(f"• *{escape(t.title)}*" for t in flow.tips if t.id != "about")
    text = (
        "*Partnership check* asks about a proposed partnership one question at a time, "
        "checks it against five tips, and gives a verdict: *Proceed*, *Proceed with "
        "conditions*, *Reconsider* or *Use a less formal route*.\n"
        f"{tips}\n\n"
        "*Commands*\n"
        "• `/partnership` or `/partnership new`: start a check in a DM\n"
        "• `/partnership list`: your checks and where they were posted\n"
        "• `/partnership cancel`: cancel the check in progress\n"
        "• `/partnership help`: this message\n"
        "In the DM you can also type `back`, `cancel`, `help` or `resume` at any time; "
        "leave and come back whenever you like: the check waits where you left it."
    )
    return Message("How the partnership check works", [section(text)])
