"""What a flow is (tips, questions, red-flag rules) and how it is loaded from TOML.

Definitions are data an organisation edits, so `load_flow` checks everything it can at
start-up and fails with a message naming the file, the entry and what is wrong, rather
than letting a typo surface later as a confusing conversation.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from flows.conditions import (
    LIST_OPERATORS,
    Answers,
    Condition,
    ConditionSyntaxError,
    parse_condition,
)
from flows.errors import FlowDefinitionError

QuestionType = Literal["choice", "multi_choice", "number", "date", "short_text", "long_text"]
QUESTION_TYPES: tuple[str, ...] = QuestionType.__args__  # type: ignore[attr-defined]
CHOICE_TYPES = ("choice", "multi_choice")
DEFAULT_MAX_LENGTH = {"short_text": 150, "long_text": 2000}
# A typed multi_choice answer is split on these ("NHS, housing"), so labels may not use them.
MULTI_CHOICE_SEPARATORS = ",;\n"

# "verdict": a flag whose only weight is the verdict it sets (DOMAIN.md's lighter-route).
Severity = Literal["critical", "warning", "verdict"]
SEVERITIES: tuple[str, ...] = Severity.__args__  # type: ignore[attr-defined]

# The four verdict labels, strongest first; the bot and other tools rely on these exact words.
USE_LESS_FORMAL_ROUTE = "Use a less formal route"
RECONSIDER = "Reconsider"
PROCEED_WITH_CONDITIONS = "Proceed with conditions"
PROCEED = "Proceed"
VERDICTS = (USE_LESS_FORMAL_ROUTE, RECONSIDER, PROCEED_WITH_CONDITIONS, PROCEED)

# States the engine adds after the questions; a question may not take these names.
RESERVED_IDS = frozenset({"summary", "done", "cancelled"})

_SNAKE_ID = re.compile(r"[a-z][a-z0-9_]*")
_FLAG_ID = re.compile(r"[a-z][a-z0-9-]*")
_OPTION_VALUE = re.compile(r"[a-z0-9][a-z0-9_]*")
_FLOW_NAME = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Tip:
    id: str
    title: str
    help: str
    # False for sections that only gather facts ("About the proposal"): no status, no flags.
    assessed: bool = True


@dataclass(frozen=True)
class Question:
    id: str
    tip: str
    type: QuestionType
    text: str
    hint: str | None = None
    options: tuple[Option, ...] = ()
    ask_when: Condition | None = None
    min: int | None = None
    max: int | None = None
    unit: str | None = None
    max_length: int | None = None
    min_days_from_today: int | None = None
    max_days_from_today: int | None = None

    def applies(self, answers: Answers) -> bool:
        """Whether this question is asked, given the answers so far."""
        return self.ask_when is None or self.ask_when.evaluate(answers)

    def option(self, value: object) -> Option | None:
        return next((option for option in self.options if option.value == value), None)


@dataclass(frozen=True)
class FlagRule:
    id: str
    tip: str
    severity: Severity
    when: Condition
    reason: str
    condition: str
    # Raises a warning flag to critical in some cases (e.g. no exit plan for a formal body).
    critical_when: Condition | None = None
    # A flag that decides the verdict outright (e.g. "a less formal route would work").
    sets_verdict: str | None = None

    def severity_for(self, answers: Answers) -> Severity:
        if self.critical_when is not None and self.critical_when.evaluate(answers):
            return "critical"
        return self.severity


@dataclass(frozen=True, eq=False)  # eq=False: identity hashing, so engines can cache per Flow
class Flow:
    id: str
    title: str
    version: int
    tips: tuple[Tip, ...]
    questions: tuple[Question, ...]
    flags: tuple[FlagRule, ...]
    # False for flows that only gather a judgement (the review): no verdict label.
    has_verdict: bool = True
    source: str = field(default="<memory>")

    @cached_property
    def _questions_by_id(self) -> dict[str, Question]:
        return {question.id: question for question in self.questions}

    @cached_property
    def _tips_by_id(self) -> dict[str, Tip]:
        return {tip.id: tip for tip in self.tips}

    def question(self, question_id: str) -> Question:
        """The question with this id; KeyError if there is none."""
        return self._questions_by_id[question_id]

    def has_question(self, question_id: str) -> bool:
        return question_id in self._questions_by_id

    def tip(self, tip_id: str) -> Tip:
        return self._tips_by_id[tip_id]

    def relevant_answers(self, answers: Answers) -> dict[str, Any]:
        """The answers of questions that apply, in question order.

        Answers to questions that no longer apply (e.g. the governance questions after the
        form changed from formal) are dropped so they cannot feed branching or flags. One
        pass in order is enough because `ask_when` may only look at earlier questions.
        """
        kept: dict[str, Any] = {}
        for question in self.questions:
            if question.id in answers and question.applies(kept):
                kept[question.id] = answers[question.id]
        return kept

    def applicable(self, answers: Answers) -> list[Question]:
        """The questions asked given these (already relevant) answers, in order."""
        return [question for question in self.questions if question.applies(answers)]


def load_flow(name_or_path: str | Path) -> Flow:
    """Load and validate a flow: a packaged name like "check", or a path to a TOML file."""
    if isinstance(name_or_path, Path) or name_or_path.endswith(".toml") or "/" in name_or_path:
        path = Path(name_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise FlowDefinitionError(f"{path}: cannot read the flow definition ({err})") from err
        return parse_flow(text, source=str(path))
    if not _FLOW_NAME.fullmatch(name_or_path):
        raise FlowDefinitionError(f"{name_or_path!r} is not a flow name (letters, digits, - and _)")
    packaged = resources.files("flows") / "definitions" / f"{name_or_path}.toml"
    if not packaged.is_file():
        raise FlowDefinitionError(f"no packaged flow named {name_or_path!r} ({packaged})")
    return parse_flow(packaged.read_text(encoding="utf-8"), source=f"{name_or_path}.toml")


def parse_flow(text: str, *, source: str = "<memory>") -> Flow:
    """Parse and validate a flow from TOML text; `source` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise FlowDefinitionError(f"{source}: not valid TOML: {err}") from err
    return _Reader(source).flow(data)


class _Reader:
    """Turns parsed TOML into a Flow, failing with "<file>: <entry>: <problem>"."""

    def __init__(self, source: str) -> None:
        self.source = source
        # Every question id in the file, to tell "unknown" from "later" in ask_when.
        self.declared_questions: set[str] = set()
        self.has_verdict = True

    def fail(self, entry: str, problem: str) -> FlowDefinitionError:
        return FlowDefinitionError(f"{self.source}: {entry}: {problem}")

    def flow(self, data: dict[str, Any]) -> Flow:
        self.keys(data, "top level", {"flow", "option_sets", "tips", "questions", "flags"})
        meta = self.table(data, "flow", "top level")
        self.keys(meta, "[flow]", {"id", "title", "version", "verdict"})
        version = meta.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self.fail("[flow]", "'version' must be a whole number from 1 up")
        has_verdict = meta.get("verdict", True)
        if not isinstance(has_verdict, bool):
            raise self.fail("[flow]", "'verdict' must be true or false")
        self.has_verdict = has_verdict
        option_sets = self.option_sets(self.table(data, "option_sets", "top level", required=False))
        tips = self.unique([self.tip(raw, n) for n, raw in self.entries(data, "tips")], "tip")
        tips_by_id = {tip.id: tip for tip in tips}
        self.declared_questions = {
            raw.get("id") for raw in data.get("questions", []) if isinstance(raw, dict)
        }
        questions: list[Question] = []
        for n, raw in self.entries(data, "questions"):
            questions.append(self.question(raw, n, tips, option_sets, questions))
        self.unique(questions, "question")
        by_id = {question.id: question for question in questions}
        flags = [self.flag(raw, n, tips_by_id, by_id) for n, raw in self.entries(data, "flags")]
        self.unique(flags, "flag")
        return Flow(
            id=self.text(meta, "id", "[flow]"),
            title=self.text(meta, "title", "[flow]"),
            version=version,
            tips=tuple(tips),
            questions=tuple(questions),
            flags=tuple(flags),
            has_verdict=has_verdict,
            source=self.source,
        )

    # --- entries -------------------------------------------------------------------

    def tip(self, raw: dict[str, Any], n: int) -> Tip:
        entry = self.entry_name("tip", raw, n)
        self.keys(raw, entry, {"id", "title", "help", "assessed"})
        assessed = raw.get("assessed", True)
        if not isinstance(assessed, bool):
            raise self.fail(entry, "'assessed' must be true or false")
        return Tip(
            id=self.identifier(raw, entry, _SNAKE_ID),
            title=self.text(raw, "title", entry),
            help=self.text(raw, "help", entry),
            assessed=assessed,
        )

    def question(
        self,
        raw: dict[str, Any],
        n: int,
        tips: list[Tip],
        option_sets: dict[str, tuple[Option, ...]],
        earlier: list[Question],
    ) -> Question:
        entry = self.entry_name("question", raw, n)
        self.keys(raw, entry, {f.name for f in Question.__dataclass_fields__.values()})
        question_id = self.identifier(raw, entry, _SNAKE_ID)
        if question_id in RESERVED_IDS:
            raise self.fail(entry, f"'{question_id}' is reserved; choose another id")
        tip_id = self.text(raw, "tip", entry)
        tip_ids = [tip.id for tip in tips]
        if tip_id not in tip_ids:
            raise self.fail(entry, f"unknown tip '{tip_id}' (tips: {', '.join(tip_ids)})")
        if earlier and tip_ids.index(tip_id) < tip_ids.index(earlier[-1].tip):
            raise self.fail(
                entry,
                f"tip '{tip_id}' comes after questions of tip '{earlier[-1].tip}'; "
                "keep questions grouped in the order of the tips",
            )
        qtype = self.text(raw, "type", entry)
        if qtype not in QUESTION_TYPES:
            raise self.fail(
                entry, f"unknown type '{qtype}' (use one of: {', '.join(QUESTION_TYPES)})"
            )
        allowed = {"id", "tip", "type", "text", "hint", "ask_when"} | {
            "choice": {"options"},
            "multi_choice": {"options"},
            "number": {"min", "max", "unit"},
            "date": {"min_days_from_today", "max_days_from_today"},
            "short_text": {"max_length"},
            "long_text": {"max_length"},
        }[qtype]
        misplaced = sorted(set(raw) - allowed)
        if misplaced:
            raise self.fail(entry, f"'{misplaced[0]}' does not apply to a {qtype} question")
        question = Question(
            id=question_id,
            tip=tip_id,
            type=qtype,  # type: ignore[arg-type]
            text=self.text(raw, "text", entry),
            hint=self.text(raw, "hint", entry, required=False),
            options=self.options(raw, entry, option_sets, qtype) if qtype in CHOICE_TYPES else (),
            ask_when=self.condition(
                raw, "ask_when", entry, {q.id: q for q in earlier}, question_id
            ),
            min=self.integer(raw, "min", entry),
            max=self.integer(raw, "max", entry),
            unit=self.text(raw, "unit", entry, required=False),
            max_length=self.integer(raw, "max_length", entry, minimum=1)
            or DEFAULT_MAX_LENGTH.get(qtype),
            min_days_from_today=self.integer(raw, "min_days_from_today", entry),
            max_days_from_today=self.integer(raw, "max_days_from_today", entry),
        )
        for low, high in (("min", "max"), ("min_days_from_today", "max_days_from_today")):
            lo, hi = getattr(question, low), getattr(question, high)
            if lo is not None and hi is not None and lo > hi:
                raise self.fail(entry, f"'{low}' ({lo}) is greater than '{high}' ({hi})")
        return question

    def flag(
        self,
        raw: dict[str, Any],
        n: int,
        tips: dict[str, Tip],
        questions: dict[str, Question],
    ) -> FlagRule:
        entry = self.entry_name("flag", raw, n)
        self.keys(raw, entry, set(FlagRule.__dataclass_fields__))
        tip_id = self.text(raw, "tip", entry)
        assessed = [tip.id for tip in tips.values() if tip.assessed]
        if tip_id not in assessed:
            known = "is not assessed" if tip_id in tips else "is not a tip"
            raise self.fail(entry, f"'{tip_id}' {known}; flags belong to: {', '.join(assessed)}")
        severity = self.text(raw, "severity", entry)
        if severity not in SEVERITIES:
            raise self.fail(entry, f"severity '{severity}' must be one of: {', '.join(SEVERITIES)}")
        critical_when = self.condition(raw, "critical_when", entry, questions)
        if critical_when is not None and severity != "warning":
            raise self.fail(entry, "'critical_when' only makes sense on a warning flag")
        sets_verdict = self.text(raw, "sets_verdict", entry, required=False)
        if severity == "verdict" and sets_verdict is None:
            raise self.fail(entry, "severity 'verdict' needs sets_verdict: the verdict it sets")
        if sets_verdict is not None and not self.has_verdict:
            raise self.fail(entry, "no sets_verdict here: the flow has [flow] verdict = false")
        if sets_verdict is not None and sets_verdict not in VERDICTS:
            raise self.fail(entry, f"sets_verdict must be one of: {', '.join(VERDICTS)}")
        when = self.condition(raw, "when", entry, questions)
        if when is None:
            raise self.fail(entry, "missing 'when' (the condition that raises this flag)")
        return FlagRule(
            id=self.identifier(raw, entry, _FLAG_ID),
            tip=tip_id,
            severity=severity,  # type: ignore[arg-type]
            when=when,
            reason=self.text(raw, "reason", entry),
            condition=self.text(raw, "condition", entry),
            critical_when=critical_when,
            sets_verdict=sets_verdict,
        )

    def option_sets(self, raw: dict[str, Any]) -> dict[str, tuple[Option, ...]]:
        return {
            name: self.option_list(value, f"option set '{name}'") for name, value in raw.items()
        }

    def options(
        self,
        raw: dict[str, Any],
        entry: str,
        option_sets: dict[str, tuple[Option, ...]],
        qtype: str,
    ) -> tuple[Option, ...]:
        value = raw.get("options")
        if value is None:
            raise self.fail(
                entry, "a choice question needs 'options' (a list or an option set name)"
            )
        if isinstance(value, str):
            if value not in option_sets:
                raise self.fail(entry, f"unknown option set '{value}'")
            options = option_sets[value]
        else:
            options = self.option_list(value, entry)
        if qtype == "multi_choice":
            for option in options:
                if any(separator in option.label for separator in MULTI_CHOICE_SEPARATORS):
                    raise self.fail(
                        entry,
                        f"option label '{option.label}' of a multi_choice question "
                        "cannot contain ',' or ';' (typed answers are split on them)",
                    )
        return options

    def option_list(self, value: object, entry: str) -> tuple[Option, ...]:
        if not isinstance(value, list) or len(value) < 2:
            raise self.fail(entry, "options must be a list of at least two { value, label } tables")
        options = []
        for raw in value:
            if not isinstance(raw, dict):
                raise self.fail(entry, f"option {raw!r} must be a {{ value, label }} table")
            self.keys(raw, f"{entry}, option", {"value", "label"})
            option_value = self.text(raw, "value", entry)
            if not _OPTION_VALUE.fullmatch(option_value):
                raise self.fail(entry, f"option value '{option_value}' must be lower_case_words")
            options.append(Option(option_value, self.text(raw, "label", entry)))
        values = [option.value for option in options]
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise self.fail(entry, f"duplicate option value '{duplicates[0]}'")
        return tuple(options)

    # --- conditions ------------------------------------------------------------------

    def condition(
        self,
        raw: dict[str, Any],
        key: str,
        entry: str,
        usable: Mapping[str, Question],
        own_id: str | None = None,
    ) -> Condition | None:
        """Parse `raw[key]` and check each comparison against the questions it may use.

        For `ask_when`, `usable` holds only the earlier questions: branching on a later
        answer would make a question depend on one not asked yet.
        """
        if key not in raw:
            return None
        where = f"{entry}, {key}"
        try:
            condition = parse_condition(raw[key])
        except ConditionSyntaxError as err:
            raise self.fail(where, str(err)) from err
        for compare in condition.comparisons():
            question = usable.get(compare.question)
            if question is None:
                if compare.question == own_id:
                    raise self.fail(where, "a question cannot depend on its own answer")
                if own_id is not None and compare.question in self.declared_questions:
                    raise self.fail(
                        where,
                        f"'{compare.question}' comes later "
                        "(ask_when may only use answers given before this question)",
                    )
                raise self.fail(where, f"unknown question '{compare.question}'")
            problem = _operand_problem(question, compare.op, compare.operand)
            if problem:
                raise self.fail(where, problem)
        return condition

    # --- small readers ---------------------------------------------------------------

    def entries(self, data: dict[str, Any], key: str) -> Iterable[tuple[int, dict[str, Any]]]:
        items = data.get(key)
        if not isinstance(items, list) or not items:
            raise self.fail("top level", f"needs at least one [[{key}]] entry")
        for n, raw in enumerate(items, start=1):
            if not isinstance(raw, dict):
                raise self.fail(f"{key} #{n}", "must be a table")
            yield n, raw

    def table(
        self, data: dict[str, Any], key: str, entry: str, *, required: bool = True
    ) -> dict[str, Any]:
        value = data.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            raise self.fail(entry, f"needs a [{key}] table")
        return value

    def keys(self, raw: dict[str, Any], entry: str, allowed: set[str]) -> None:
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise self.fail(
                entry, f"unknown key '{unknown[0]}' (expected: {', '.join(sorted(allowed))})"
            )

    def entry_name(self, kind: str, raw: dict[str, Any], n: int) -> str:
        return f"{kind} '{raw['id']}'" if isinstance(raw.get("id"), str) else f"{kind} #{n}"

    def identifier(self, raw: dict[str, Any], entry: str, pattern: re.Pattern[str]) -> str:
        value = self.text(raw, "id", entry)
        if not pattern.fullmatch(value):
            raise self.fail(entry, f"id '{value}' must match {pattern.pattern}")
        return value

    def text(self, raw: dict[str, Any], key: str, entry: str, *, required: bool = True) -> Any:
        value = raw.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(entry, f"missing '{key}'" if value is None else f"'{key}' must be text")
        return value.strip()

    def integer(
        self, raw: dict[str, Any], key: str, entry: str, *, minimum: int | None = None
    ) -> int | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(entry, f"'{key}' must be a whole number")
        if minimum is not None and value < minimum:
            raise self.fail(entry, f"'{key}' must be at least {minimum}")
        return value

    def unique(self, items: list[Any], kind: str) -> list[Any]:
        seen: set[str] = set()
        for item in items:
            if item.id in seen:
                raise self.fail(f"{kind} '{item.id}'", f"duplicate {kind} id")
            seen.add(item.id)
        return items


def _operand_problem(question: Question, op: str, operand: Any) -> str | None:
    """Why `question <op> operand` can never be meaningful, or None if it is fine."""
    numeric = op in ("greater_than", "at_least", "less_than", "at_most")
    if numeric and question.type != "number":
        return f"'{op}' needs a number question; '{question.id}' is {question.type}"
    if op in LIST_OPERATORS and question.type != "multi_choice":
        return f"'{op}' needs a multi_choice question; '{question.id}' is {question.type}"
    if question.type == "multi_choice" and op not in LIST_OPERATORS:
        return f"'{question.id}' is multi_choice: use {' or '.join(map(repr, LIST_OPERATORS))}"
    values = operand if isinstance(operand, tuple) else (operand,)
    if question.type in CHOICE_TYPES:
        known = [option.value for option in question.options]
        for value in values:
            if value not in known:
                return f"'{value}' is not an option of '{question.id}' ({', '.join(known)})"
    if question.type == "number" and not all(isinstance(v, int) for v in values):
        return f"'{question.id}' is a number question: compare it with whole numbers"
    return None
