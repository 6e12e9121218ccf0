"""The policy document, docs/policy.md, generated from the flow definitions.

A partnerships lead should be able to read the policy the bot applies without reading
TOML or code, and that document must never drift from what the bot does. So it is
rendered from the loaded definitions, and its diagram from the state machine the engine
actually compiles; a test fails when the committed copy is out of date.

    python -m flows.policy           # (re)write docs/policy.md
    python -m flows.policy --check   # exit 1 if docs/policy.md is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from flows import engine
from flows.assessment import RECONSIDER_AT, RECONSIDER_AT_IN_ONE_TIP
from flows.conditions import IN_PROGRESS, NOT_SURE, AllOf, AnyOf, Compare, Condition
from flows.definition import (
    PROCEED,
    PROCEED_WITH_CONDITIONS,
    RECONSIDER,
    ROLES,
    USE_LESS_FORMAL_ROUTE,
    VERDICTS,
    FlagRule,
    Flow,
    Option,
    Question,
    Tip,
    load_flow,
)
from flows.engine import ANSWERED, CANCEL, CANCELLED, DONE, FINISH, SUMMARY
from flows.views import DISAGREE

DOC_NAME = "docs/policy.md"
DOC = Path(__file__).resolve().parent.parent / DOC_NAME
COMMAND = "python -m flows.policy"


MARKER_NAMES = {NOT_SURE: "Not sure", IN_PROGRESS: "In progress"}
# What a date question's named default (flows.definition.DATE_DEFAULTS) suggests.
DATE_DEFAULT_WORDS = {
    "first_review": "the first review date that follows from how often it will be reviewed"
}

# Conditions in words (`_words`), and in ids for diagram labels (`_short`).
_WORDS = {
    "equals": "is",
    "not_equals": "is not",
    "in": "is",
    "not_in": "is none of",
    "contains": "includes",
    "contains_other_than": "includes anything other than",
}
# Numeric comparisons: a number question's answer, or how many items a list has.
_NUMERIC_WORDS = {
    "greater_than": "more than",
    "at_least": "at least",
    "less_than": "fewer than",
    "at_most": "at most",
}
_SHORT = {
    "equals": "=",
    "not_equals": "is not",
    "in": "in",
    "not_in": "not in",
    "contains": "has",
    "contains_other_than": "has other than",
    "greater_than": "more than",
    "at_least": "at least",
    "less_than": "less than",
    "at_most": "at most",
}
# Characters a Mermaid transition label may hold safely (no colon, quote, brace, #, ;).
_UNSAFE_IN_MERMAID = re.compile(r"[^A-Za-z0-9_ ,.=()/-]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<|])")


def render(check: Flow, review: Flow, partner: Flow) -> str:
    """The whole document: the check (questions, flags, verdict, diagram), each partner's
    view, then the review."""
    lines = [
        f"# {check.title} and {review.title.lower()}: the policy",
        "",
        f"<!-- Generated file: do not edit. Change the definitions and run `{COMMAND}`. -->",
        "",
        f"Generated from `{_path(check)}` (version {check.version}), `{_path(partner)}` "
        f"(version {partner.version}) and `{_path(review)}` (version {review.version}), "
        "the definitions the bot runs on. Do not edit it by "
        f"hand: change the definitions, then run `{COMMAND}` to regenerate it "
        f"(`{COMMAND} --check` says whether it is up to date).",
        "",
        "The bot checks a proposed health and social care partnership against these tips, "
        "one question at a time, raises red flags from the answers and recommends a "
        "verdict. Each partnership is then reviewed from time to time.",
        "",
        *_flow_body(check, level=2),
        *_verdict_section(check),
        *_diagram_section(check),
        *_partner_section(check, partner),
        *_review_section(review),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _path(flow: Flow) -> str:
    return f"flows/definitions/{Path(flow.source).name}"


# --- tips, questions and flags ------------------------------------------------------


def _flow_body(flow: Flow, level: int) -> list[str]:
    """Each tip in order: its help, its questions, its red flags."""
    heading = "#" * level
    lines = [f"{heading} {flow.title}", "", f"The {flow.id} goes through these tips in order:", ""]
    lines += [f"{n}. {_md(tip.title)}" for n, tip in enumerate(flow.tips, start=1)]
    lines.append("")
    numbers = {question.id: n for n, question in enumerate(flow.questions, start=1)}
    for tip in flow.tips:
        lines += [f"{heading}# {_md(tip.title)} (`{tip.id}`)", "", _md(tip.help), ""]
        if not tip.assessed:
            lines += [
                "Not assessed: this section has no status and raises no red flags of its own "
                "(its answers may still feed the flags of other tips).",
                "",
            ]
        lines += [f"{heading}## Questions", ""]
        for question in (q for q in flow.questions if q.tip == tip.id):
            lines += _question(flow, question, numbers[question.id])
        if tip.assessed:
            lines += _flags(flow, tip, f"{heading}##")
    return lines


def _question(flow: Flow, question: Question, number: int) -> list[str]:
    lines = [f"{number}. **{_md(question.text)}** (`{question.id}`)"]
    items = [f"Answer: {_answer_kind(question)}."]
    if question.hint:
        items.append(f"Hint shown: {_md(question.hint)}")
    if question.shows:
        items.append(f"Shown with it: {_md(ROLES[question.shows])}, as the check answered.")
    if question.options:
        items.append(f"Options: {_options(question.options)}.")
    for part in question.parts:
        optional = " (optional)" if part.optional else ""
        items.append(f"*{_md(part.label)}* (`{part.id}`){optional}: {_options(part.options)}.")
    honest = [MARKER_NAMES[m] for m in MARKER_NAMES if question.offers(m)]
    if honest:
        items.append(
            f"Honest answers offered: {' and '.join(honest)} "
            "(see [Not sure and In progress](#not-sure-and-in-progress))."
        )
    if question.ask_when is not None:
        items.append(f"Asked only when {_words(flow, question.ask_when)}.")
    if question.optional:
        items.append("Optional: it may be skipped.")
    if question.stop_when is not None:
        items.append(
            f"**The {flow.id} ends here** (straight to the summary) when "
            f"{_words(flow, question.stop_when)}."
        )
    indent = " " * len(f"{number}. ")  # nested under the numbered item in CommonMark
    return [*lines, *(f"{indent}- {item}" for item in items), ""]


def _answer_kind(question: Question) -> str:
    """How the question is answered, in words."""
    kind = question.type
    if kind == "choice":
        return "one choice, from buttons"
    if kind == "multi_choice":
        return "all that apply, ticked (or typed, separated by commas)"
    if kind == "group":
        return "several choices on one message, one for each part below"
    if kind == "number":
        bounds = _bounds(question.min, question.max, str)
        unit = f" ({question.unit})" if question.unit else ""
        return f"a whole number, typed{unit}" + (f", {bounds}" if bounds else "")
    if kind == "date":
        bounds = _bounds(question.min_days_from_today, question.max_days_from_today, _day)
        how = (
            f"from a date picker with a suggested date ({DATE_DEFAULT_WORDS[question.default]}),"
            " or typed"
            if question.default
            else "typed"
        )
        return f"a date, {how}" + (f"; {bounds}" if bounds else "")
    if kind == "list":
        separators = "one per line or after semicolons" + (
            ", or separated by commas" if question.split_on_commas else ""
        )
        how_many = _bounds(question.min_items, question.max_items, str)
        text = f"a list, typed: {separators}; {how_many} items"
        if question.max_length:
            text += f", each up to {question.max_length:,} characters"
        if question.more_messages:
            text += "; it may come in several messages, then Done"
        if question.first_item:
            text += f"; the first is the {question.first_item} organisation"
        return text
    size = "a sentence or two" if kind == "long_text" else "short"
    return f"typed text, {size} (up to {question.max_length:,} characters)"


def _bounds(low: int | None, high: int | None, show: Callable[[int], str]) -> str:
    """ "from 2 to 100", "at least 1", "at most 3", or "" when unbounded."""
    if low is not None and high is not None:
        return f"from {show(low)} to {show(high)}"
    if low is not None:
        return f"at least {show(low)}"
    return f"at most {show(high)}" if high is not None else ""


def _day(offset: int) -> str:
    if offset == 0:
        return "today"
    return f"{offset:,} days from today" if offset > 0 else f"{-offset:,} days ago"


def _options(options: Sequence[Option]) -> str:
    return " · ".join(_md(option.label) for option in options)


def _flags(flow: Flow, tip: Tip, heading: str) -> list[str]:
    """The tip's red flags as a table: one row per way each is raised."""
    rules = [rule for rule in flow.flags if rule.tip == tip.id]
    if not rules:
        return [f"{heading} Red flags", "", "None.", ""]
    lines = [
        f"{heading} Red flags",
        "",
        "| Flag | Raised when | Severity | Reason | Suggested condition |",
        "|---|---|---|---|---|",
    ]
    for rule in rules:
        rows = [
            (_words(flow, case.when), _severity(rule, case.severity), case.wording)
            for case in rule.cases
        ]
        for marker, wording in ((NOT_SURE, rule.unsure), (IN_PROGRESS, rule.in_progress)):
            if wording is not None:
                rows.append((_marker_words(flow, rule, marker), "warning", wording))
        for n, (when, severity, wording) in enumerate(rows):
            name = f"`{rule.id}`" if n == 0 else ""
            lines.append(
                f"| {name} | {_cell(when)} | {severity} | {_cell(_md(wording.reason))} "
                f"| {_cell(_md(wording.condition))} |"
            )
    return [*lines, ""]


def _severity(rule: FlagRule, severity: str) -> str:
    return f"sets the verdict *{rule.sets_verdict}*" if severity == "verdict" else severity


def _marker_words(flow: Flow, rule: FlagRule, marker: str) -> str:
    """When an honest answer raises the flag: one of the answers it reads is the marker."""
    answer_ids = dict.fromkeys(
        compare.question
        for case in rule.cases
        for compare in case.when.comparisons()
        if not compare.names(marker) and marker in _option_values(flow, compare.question)
    )
    subjects = " or ".join(_subject(flow, answer_id) for answer_id in answer_ids)
    return f"{subjects} is “{MARKER_NAMES[marker]}”"


def _cell(text: str) -> str:
    return text.replace("\n", " ")


# --- conditions in words --------------------------------------------------------------


def _words(flow: Flow, condition: Condition) -> str:
    """A condition for a reader: question texts or part labels, and option labels."""
    if isinstance(condition, Compare):
        subject = _subject(flow, condition.question)
        if condition.op in _NUMERIC_WORDS:
            question = flow.question_of(condition.question)
            is_list = question is not None and question.type == "list"
            verb, items = ("has", " items") if is_list else ("is", "")
            return f"{subject} {verb} {_NUMERIC_WORDS[condition.op]} {condition.operand}{items}"
        operand = condition.operand
        operands = operand if isinstance(operand, tuple) else (operand,)
        return f"{subject} {_WORDS[condition.op]} {_labels(flow, condition.question, operands)}"
    joiner = "and" if isinstance(condition, AllOf) else "or"
    parts = condition.conditions
    first = parts[0]
    if (
        isinstance(first, Compare)
        and first.op in ("equals", "contains")
        and all(
            isinstance(part, Compare) and (part.question, part.op) == (first.question, first.op)
            for part in parts
        )
    ):
        # "kinds includes A or kinds includes B": name the question once.
        values = tuple(part.operand for part in parts if isinstance(part, Compare))
        labels = _labels(flow, first.question, values, joiner)
        return f"{_subject(flow, first.question)} {_WORDS[first.op]} {labels}"
    return f" {joiner} ".join(_nested(_words(flow, part), part) for part in parts)


def _labels(flow: Flow, answer_id: str, values: Sequence[object], joiner: str = "or") -> str:
    """ "“A”", "“A” or “B”", "“A”, “B” or “C”": option labels, quoted."""
    shown = [_option_label(flow, answer_id, value) for value in values]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} {joiner} {shown[-1]}"


def _short(condition: Condition) -> str:
    """A condition in ids and values, short enough for a diagram label."""
    if isinstance(condition, Compare):
        operand = condition.operand
        shown = ", ".join(map(str, operand)) if isinstance(operand, tuple) else str(operand)
        return f"{condition.question} {_SHORT[condition.op]} {shown}"
    joiner = " and " if isinstance(condition, AllOf) else " or "
    return joiner.join(_nested(_short(part), part) for part in condition.conditions)


def _nested(text: str, condition: Condition) -> str:
    return f"({text})" if isinstance(condition, AllOf | AnyOf) else text


def _subject(flow: Flow, answer_id: str) -> str:
    question = flow.question_of(answer_id)
    assert question is not None, "conditions are checked at load"
    if question.parts:
        part = next(part for part in question.parts if part.id == answer_id)
        return f"*{_md(part.label)}* (`{answer_id}`)"
    return f"the answer to *{_md(question.text)}* (`{answer_id}`)"


def _answer_options(flow: Flow, answer_id: str) -> tuple[Option, ...]:
    question = flow.question_of(answer_id)
    assert question is not None, "conditions are checked at load"
    part = next((part for part in question.parts if part.id == answer_id), None)
    return part.options if part else question.options


def _option_values(flow: Flow, answer_id: str) -> set[str]:
    return {option.value for option in _answer_options(flow, answer_id)}


def _option_label(flow: Flow, answer_id: str, value: object) -> str:
    label = next((o.label for o in _answer_options(flow, answer_id) if o.value == value), None)
    return f"“{_md(label)}”" if label is not None else str(value)


# --- the verdict ----------------------------------------------------------------------


def _verdict_section(flow: Flow) -> list[str]:
    """The verdict rule: flags that set a verdict outright, then the count of criticals."""
    counted = {
        RECONSIDER: f"there are {RECONSIDER_AT} or more critical flags in all, or "
        f"{RECONSIDER_AT_IN_ONE_TIP} or more in one tip (partners' flags included; a flag "
        "raised in several views counts once)",
        PROCEED_WITH_CONDITIONS: "any other flag is raised: each raised flag's suggested "
        "condition becomes a condition of going ahead",
        PROCEED: "no flag is raised",
    }
    lines = [
        "## The verdict",
        "",
        f"The recommendation gives exactly one of {len(VERDICTS)} verdicts, strongest first. "
        "A flag that sets a verdict (`sets_verdict` in the definition) decides it outright, "
        "whatever else is raised; otherwise the verdict is counted from the flags raised.",
        "",
    ]
    for n, label in enumerate(VERDICTS, start=1):
        reasons = [
            " or ".join(_words(flow, case.when) for case in rule.cases) + f" (flag `{rule.id}`)"
            for rule in flow.flags
            if rule.sets_verdict == label
        ]
        if label in counted:
            reasons.append(counted[label])
        when = f"when {'; or when '.join(reasons)}" if reasons else "never: no flag sets it"
        lines.append(f"{n}. **{label}** {when}.")
    critical = {
        tip.title: [f"`{rule.id}`" for rule in flow.flags if rule.tip == tip.id and _critical(rule)]
        for tip in flow.assessed_tips
    }
    listed = "; ".join(f"{_md(title)}: {', '.join(ids)}" for title, ids in critical.items() if ids)
    lines += [
        "",
        f"Flags that can be critical, by tip: {listed}." if listed else "No flag is critical.",
        "",
        "### Not sure and In progress",
        "",
        "An answer of Not sure or In progress says a fact is not known yet, or not finished. "
        'It raises the flag that a definite answer like "no" would, **always as a warning** '
        "and in words of its own (the Not sure and In progress rows in the tables above): "
        "what to find out, or what to finish. Where both apply to one flag, the Not sure "
        "words are used. Because they are warnings, such answers never make the verdict "
        f"{RECONSIDER} on their own, however many there are: on their own they lead to "
        f"{PROCEED_WITH_CONDITIONS}.",
        "",
    ]
    lines += [
        "### Conditions, followed to the end",
        "",
        "Once a recommendation is posted, each of its flags (but one that only sets the "
        "verdict) is a condition with an owner, the proposer until someone else is named, "
        "and a status: open, met, or dropped with a reason. The owner or anyone in the "
        "channel where it was posted changes it from its thread; the post counts how many "
        "are met. A change of answers that no longer raises a flag meets its condition. "
        "Each review asks about those still open, and one still open at its second review "
        "is named in that review's reminder.",
        "",
    ]
    verdict_only = [f"`{rule.id}`" for rule in flow.flags if rule.only_sets_verdict]
    if verdict_only:
        lines += [
            f"A flag that only sets a verdict ({', '.join(verdict_only)}) is raised by a "
            "definite answer alone, never by Not sure.",
            "",
        ]
    if flow.too_early_at is not None:
        lines += [
            f"**Too early to judge:** with {flow.too_early_at} or more answers Not sure (each "
            "part of a grouped question counts), the summary and the posted recommendation "
            "open with a note that it is too early to judge and list what to find out first.",
            "",
        ]
    return lines


def _critical(rule: FlagRule) -> bool:
    return any(case.severity == "critical" for case in rule.cases)


# --- the state diagram ----------------------------------------------------------------


def _diagram_section(flow: Flow) -> list[str]:
    """The check's state machine as the engine compiles it, drawn in Mermaid."""
    machine = engine.compiled(flow)
    arrows = []
    for source, transitions in machine.events[ANSWERED].transitions.items():
        guarded = any(transition.conditions for transition in transitions)
        for transition in transitions:
            labels = [_guard_label(condition.func) for condition in transition.conditions]
            label = " and ".join(labels) or ("otherwise" if guarded else "")
            arrows.append(f"    {source} --> {transition.dest}" + _label(label))
    for event, words in ((FINISH, "Finish"), (CANCEL, "Cancel")):
        for transition in machine.events[event].transitions.get(SUMMARY, []):
            arrows.append(f"    {SUMMARY} --> {transition.dest}" + _label(words))
    compiled = sum(
        len(transitions)
        for event in machine.events.values()
        for transitions in event.transitions.values()
    )
    return [
        "## How the check moves from question to question",
        "",
        f"This is the state machine the bot compiles from `{_path(flow)}` (one state per "
        f"question, named by its id, then `{SUMMARY}`, `{DONE}` and `{CANCELLED}`). After "
        "each answer the check goes to the first later question that applies; an arrow "
        "labelled with a condition is taken only when it holds, and *otherwise* when none "
        "of the others from that question does. Back, Change an answer (from the summary) "
        "and Cancel work from every question and are not drawn: they, and the way on after "
        f"changing an answer, would take {compiled - len(arrows)} more arrows.",
        "",
        "```mermaid",
        "stateDiagram-v2",
        f"    [*] --> {machine.initial}",
        *arrows,
        f"    {DONE} --> [*]",
        f"    {CANCELLED} --> [*]",
        "```",
        "",
    ]


def _guard_label(guard: object) -> str:
    """A guard as the condition it tests ("if form = formal"), or its own str()."""
    condition = getattr(guard, "condition", None)
    if condition is not None:
        return f"{getattr(guard, 'reads', 'if')} {_short(condition)}"
    return str(guard)


def _label(text: str) -> str:
    safe = " ".join(_UNSAFE_IN_MERMAID.sub(" ", text).split())
    return f" : {safe}" if safe else ""


# --- each partner's view -------------------------------------------------------------


def _partner_section(check: Flow, partner: Flow) -> list[str]:
    """How partners' views join the check: the questionnaire, its flags and the topics."""
    lines = [
        "## Each partner's view",
        "",
        "The proposer can invite one person per partner organisation to answer a short "
        "questionnaire for their own organisation, in their own DM. Their answers raise "
        "flags by the same rules (critical or warning, Not sure and In progress as "
        "warnings), shown with the organisation whose view they are, in the same tips as "
        "the check's. They count towards the verdict like the proposer's: a flag raised in "
        "several views (the proposer's and a partner's) counts once. A proposer who says a "
        f"less formal route would do has set the verdict ({USE_LESS_FORMAL_ROUTE}), and no "
        "partner's view changes that. A recommendation can be posted before everyone has "
        "answered: it says who has, and is updated in place as answers arrive.",
        "",
        f"**Partners disagree.** Where the views differ on one of these topics (one says "
        f"yes, another no or not sure), a `{DISAGREE}` warning is raised in the topic's tip, "
        "with every view side by side. The words compared are these; an answer of the "
        "proposer's not listed says nothing a partner's answer could contradict.",
        "",
        "| topic | tip | partner's answer | proposer's answer | condition |",
        "|---|---|---|---|---|",
    ]
    for topic in partner.topics:
        mine = _stance_words(partner, topic.answer, topic.stances)
        theirs = (
            _stance_words(check, topic.check_answer, topic.stances)
            if topic.check_answer
            else "not asked (only partners are compared)"
        )
        lines.append(
            f"| {_cell(topic.title)} | {_cell(check.tip(topic.tip).title)} | {mine} | "
            f"{theirs} | {_cell(topic.condition)} |"
        )
    lines.append("")
    return lines + _flow_body(partner, level=3)


def _stance_words(flow: Flow, answer_id: str, stances: Mapping[str, str]) -> str:
    words = [
        f"{_cell(option.label)} → {_cell(stances[option.value])}"
        for option in _answer_options(flow, answer_id)
        if option.value in stances
    ]
    return "; ".join(words)


# --- the review -----------------------------------------------------------------------


def _review_section(flow: Flow) -> list[str]:
    """The review: its questions and flags, and the decision that replaces a verdict."""
    decision = flow.role_question("decision") or flow.question("decision")
    lines = [
        "## Reviews",
        "",
        f"A review has no verdict: its red flags say what to weigh, and the people reviewing "
        f"decide, answering *{_md(decision.text)}* with {_options(decision.options)}. The "
        f"*{_md(flow.tip(decision.tip).title)}* section below says what each decision means. "
        "A review's flags are raised as in the check (critical or warning, Not sure as a "
        "warning) and shown with its result.",
        "",
    ]
    return lines + _flow_body(flow, level=3)


# --- small helpers --------------------------------------------------------------------


def _md(text: str) -> str:
    """Text from a definition, with Markdown's special characters escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=COMMAND, description=f"Write {DOC_NAME} from the flow definitions."
    )
    parser.add_argument("--check", action="store_true", help=f"exit 1 if {DOC_NAME} is out of date")
    args = parser.parse_args(argv)
    text = render(load_flow("check"), load_flow("review"), load_flow("partner"))
    if args.check:
        if not DOC.is_file() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC_NAME} is out of date: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {DOC_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
