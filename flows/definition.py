"""What a flow is (tips, questions, red-flag rules) and how it is loaded from TOML.

Definitions are data an organisation edits, so `load_flow` checks everything it can at
start-up and fails with a message naming the file, the entry and what is wrong, rather
than letting a typo surface later as a confusing conversation.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from flows.conditions import (
    IN_PROGRESS,
    LIST_OPERATORS,
    NOT_SURE,
    Answers,
    Condition,
    ConditionSyntaxError,
    Truth,
    parse_condition,
)
from flows.errors import FlowDefinitionError

QuestionType = Literal[
    "choice", "multi_choice", "number", "date", "short_text", "long_text", "list", "group"
]
QUESTION_TYPES: tuple[str, ...] = QuestionType.__args__  # type: ignore[attr-defined]
CHOICE_TYPES = ("choice", "multi_choice")
TEXT_TYPES = ("short_text", "long_text")
DEFAULT_MAX_LENGTH = {"short_text": 150, "long_text": 2000, "list": 300}
# Named defaults a date question may offer, worked out from earlier answers (flows.schedule).
DATE_DEFAULTS = ("first_review",)
# A typed multi_choice answer is split on these ("NHS, housing"), so labels may not use them.
MULTI_CHOICE_SEPARATORS = ",;\n"

# "verdict": a flag whose only weight is the verdict it sets (the lighter route).
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

# Roles: the answers code relies on by meaning, named in a flow's [flow.roles] table as
# role = "answer id", so renaming a question in the TOML cannot silently break them.
ROLES = {
    "name": "what the partnership is called",
    "organisations": "the organisations in it, lead first",
    "problem": "the problem it would solve",
    "form": "its form (formal / mou / informal set the default review cadence)",
    "less_formal_route": "which less formal route would do",
    "review_cadence": "how often it is reviewed",
    "first_review_date": "when it is first reviewed",
    "full_benefit": "when its full benefit is expected (an end-of-project review then)",
    "decision": "a review's decision: continue, adapt or end",
    "adapts": "what an adapting review changes (scope, form, partners)",
    "objectives": "the objectives (shown to partners, who say whether they share them)",
}
# Option values code compares a role's answer with: they must stay in the definition.
ROLE_VALUES = {"decision": ("continue", "adapt", "end")}

_SNAKE_ID = re.compile(r"[a-z][a-z0-9_]*")
_FLAG_ID = re.compile(r"[a-z][a-z0-9-]*")
_OPTION_VALUE = re.compile(r"[a-z0-9][a-z0-9_]*")
_FLOW_NAME = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class Part:
    """One choice within a `group` question: asked on the same message as its siblings."""

    id: str
    label: str
    options: tuple[Option, ...]
    optional: bool = False

    def option(self, value: object) -> Option | None:
        return next((option for option in self.options if option.value == value), None)


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
    # A `group` asks its parts on one message; each part is stored under its own id.
    parts: tuple[Part, ...] = ()
    # A typed question that may be skipped (stored as None).
    optional: bool = False
    # After this question, if this holds, the flow goes straight to its summary.
    stop_when: Condition | None = None
    # `list` questions: how many items, whether commas separate them, whether the
    # question stays open for more messages until Done (Enter sends in Slack), and how
    # the first item is shown ("lead": the lead organisation).
    min_items: int | None = None
    max_items: int | None = None
    split_on_commas: bool = False
    more_messages: bool = False
    first_item: str | None = None
    # A date question's suggested answer, worked out from earlier answers.
    default: str | None = None
    # A role of the check whose answer is shown with the question (a partner is shown the
    # objectives they are asked about).
    shows: str | None = None

    def applies(self, answers: Answers) -> bool:
        """Whether this question is asked, given the answers so far."""
        return self.ask_when is None or self.ask_when.evaluate(answers)

    def stops(self, answers: Answers) -> bool:
        return self.stop_when is not None and self.stop_when.evaluate(answers)

    def option(self, value: object) -> Option | None:
        return next((option for option in self.options if option.value == value), None)

    @property
    def answer_ids(self) -> tuple[str, ...]:
        """The ids its answer is stored under: its parts' for a group, else its own."""
        return tuple(part.id for part in self.parts) if self.parts else (self.id,)

    def is_answered(self, answers: Answers) -> bool:
        if self.parts:
            return all(part.id in answers for part in self.parts if not part.optional)
        return self.id in answers

    def value_in(self, answers: Answers) -> Any:
        """Its stored answer: a {part: value} dict for a group, else the value (or None)."""
        if self.parts:
            return {part.id: answers[part.id] for part in self.parts if part.id in answers}
        return answers.get(self.id)

    def offers(self, marker: str) -> bool:
        """Whether "Not sure" (or "In progress") is one of its answers, in any part."""
        options = [*self.options, *(o for part in self.parts for o in part.options)]
        return any(option.value == marker for option in options)


@dataclass(frozen=True)
class Topic:
    """Something the proposer and each partner answer for themselves, compared across
    their views: where the views differ, a partners-disagree warning is raised in its tip.

    `stances` turns an option value of either question into the word that is compared and
    shown ("yes", "not yet", "not sure"); a value of the check's question left out of it
    (say "from some partners") says nothing a partner's answer could contradict.
    """

    id: str
    tip: str
    title: str
    answer: str  # the answer id in this (the partner's) flow
    check_answer: str | None  # the check's answer id on the same thing, if it asks it
    stances: Mapping[str, str]
    condition: str  # what to do about a disagreement

    def stance(self, answers: Answers, answer_id: str | None) -> str | None:
        value = answers.get(answer_id) if answer_id else None
        return self.stances.get(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class Wording:
    """What a raised flag says: why (true to the answer given) and what to do about it."""

    reason: str
    condition: str


@dataclass(frozen=True)
class FlagCase:
    """One way a flag is raised: the first case whose condition holds gives its severity
    and words, so the reason always matches the answer ("none" vs "only some")."""

    when: Condition
    severity: Severity
    wording: Wording


@dataclass(frozen=True)
class FlagRule:
    id: str
    tip: str
    cases: tuple[FlagCase, ...]
    # Raised as a warning when an answer it reads is Not sure / In progress (see
    # flows.conditions): what to find out, or what to finish, instead of what is wrong.
    unsure: Wording | None = None
    in_progress: Wording | None = None
    # A flag that decides the verdict outright (e.g. "a less formal route would work").
    sets_verdict: str | None = None

    @property
    def only_sets_verdict(self) -> bool:
        """A flag that only sets the verdict is raised by a definite answer alone: "not
        sure a less formal route would do" is a warning of its own, not that verdict."""
        return all(case.severity == "verdict" for case in self.cases)

    def judge(self, answers: Answers) -> tuple[Truth, FlagCase | None]:
        """(True, the case that holds), (None, None) when unknown, or (False, None)."""
        unknown = False
        for case in self.cases:
            truth = case.when.judge(answers)
            if truth is True:
                return True, case
            unknown = unknown or truth is None
        return (None if unknown and not self.only_sets_verdict else False), None

    def unknown_wording(self, answers: Answers) -> tuple[str, Wording]:
        """Which marker makes the flag unknown, and its words (Not sure wins over In
        progress: a fact nobody knows yet is the bigger gap)."""
        markers = set().union(*(case.when.unknowns(answers) for case in self.cases))
        if (NOT_SURE in markers or self.in_progress is None) and self.unsure is not None:
            return NOT_SURE, self.unsure
        if self.in_progress is not None:
            return IN_PROGRESS, self.in_progress
        # An answer saved under another definition may be a marker this flag has no words
        # for: it still says something true rather than failing.
        return NOT_SURE, Wording(
            f"Not known yet: {self.cases[0].wording.reason}", self.cases[0].wording.condition
        )

    def questions(self) -> set[str]:
        """The answer ids this flag reads."""
        return {c.question for case in self.cases for c in case.when.comparisons()}


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
    # With this many Not sure answers, it is too early to judge (None: never said).
    too_early_at: int | None = None
    # role -> answer id (see ROLES)
    roles: Mapping[str, str] = field(default_factory=dict)
    # What partners' views are compared on (a partner questionnaire's flow only).
    topics: tuple[Topic, ...] = ()
    source: str = field(default="<memory>")

    @cached_property
    def _questions_by_id(self) -> dict[str, Question]:
        return {question.id: question for question in self.questions}

    @cached_property
    def _questions_by_answer(self) -> dict[str, Question]:
        return {answer: q for q in self.questions for answer in q.answer_ids}

    @cached_property
    def _tips_by_id(self) -> dict[str, Tip]:
        return {tip.id: tip for tip in self.tips}

    def question(self, question_id: str) -> Question:
        """The question with this id; KeyError if there is none."""
        return self._questions_by_id[question_id]

    def has_question(self, question_id: str) -> bool:
        return question_id in self._questions_by_id

    def question_of(self, answer_id: str) -> Question | None:
        """The question an answer id belongs to (itself, or the group of a part)."""
        return self._questions_by_answer.get(answer_id)

    def tip(self, tip_id: str) -> Tip:
        return self._tips_by_id[tip_id]

    def answer_for(self, role: str, answers: Answers) -> Any:
        """The answer playing `role` (see ROLES), or None if not given or not declared."""
        answer_id = self.roles.get(role)
        return answers.get(answer_id) if answer_id else None

    def role_question(self, role: str) -> Question | None:
        """The question whose answer plays `role` (a group, for a role played by a part)."""
        answer_id = self.roles.get(role)
        return self.question_of(answer_id) if answer_id else None

    def by_role(self, answers: Answers) -> dict[str, Any]:
        """The answers that play a role, keyed by role (what flows.schedule reads)."""
        return {role: answers[i] for role, i in self.roles.items() if i in answers}

    def require(self, roles: Iterable[str]) -> None:
        """FlowDefinitionError naming the first of `roles` the definition does not declare:
        a caller that depends on them says so at start, not halfway through a check."""
        missing = [role for role in roles if role not in self.roles]
        if missing:
            raise FlowDefinitionError(
                f"{self.source}: [flow.roles] needs '{missing[0]}': the answer that is "
                f"{ROLES[missing[0]]}"
            )

    @cached_property
    def assessed_tips(self) -> tuple[Tip, ...]:
        return tuple(tip for tip in self.tips if tip.assessed)

    def relevant_answers(self, answers: Answers) -> dict[str, Any]:
        """The answers of questions that apply, in question order.

        Answers to questions that no longer apply (e.g. the governance questions after the
        form changed from formal, or everything after an early stop) are dropped so they
        cannot feed branching or flags. One pass in order is enough because `ask_when`
        and `stop_when` may only look at earlier answers.
        """
        kept: dict[str, Any] = {}
        for question in self.questions:
            if not question.applies(kept):
                continue
            for answer_id in question.answer_ids:
                if answer_id in answers:
                    kept[answer_id] = answers[answer_id]
            if question.stops(kept):
                break
        return kept

    def applicable(self, answers: Answers) -> list[Question]:
        """The questions asked given these (already relevant) answers, in order."""
        asked = []
        for question in self.questions:
            if question.applies(answers):
                asked.append(question)
                if question.stops(answers):
                    break
        return asked


def load_flow(name_or_path: str | Path) -> Flow:
    """Load and validate a flow: a packaged name like "check", or a path to a TOML file."""
    if isinstance(name_or_path, Path) or name_or_path.endswith(".toml") or "/" in name_or_path:
        path = Path(name_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise FlowDefinitionError(f"{path}: cannot read the flow definition ({err})") from err
        return _parsed(text, str(path))
    if not _FLOW_NAME.fullmatch(name_or_path):
        raise FlowDefinitionError(f"{name_or_path!r} is not a flow name (letters, digits, - and _)")
    packaged = resources.files("flows") / "definitions" / f"{name_or_path}.toml"
    if not packaged.is_file():
        raise FlowDefinitionError(f"no packaged flow named {name_or_path!r} ({packaged})")
    return _parsed(packaged.read_text(encoding="utf-8"), f"{name_or_path}.toml")


@lru_cache(maxsize=16)
def _parsed(text: str, source: str) -> Flow:
    """`parse_flow`, once per text: services are built per process (and per test), and a
    Flow is immutable, so every build of the same definition can share one. Keyed on the
    text itself, so an edited file is parsed afresh; a bad one raises every time."""
    return parse_flow(text, source=source)


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
        self.declared_questions: set[Any] = set()
        self.has_verdict = True

    def fail(self, entry: str, problem: str) -> FlowDefinitionError:
        return FlowDefinitionError(f"{self.source}: {entry}: {problem}")

    def flow(self, data: dict[str, Any]) -> Flow:
        self.keys(
            data, "top level", {"flow", "option_sets", "tips", "questions", "flags", "topics"}
        )
        meta = self.table(data, "flow", "top level")
        self.keys(meta, "[flow]", {"id", "title", "version", "verdict", "too_early_at", "roles"})
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
        for raw in data.get("questions", []):
            if isinstance(raw, dict):
                self.declared_questions.add(raw.get("id"))
                for part in raw.get("parts", []) if isinstance(raw.get("parts"), list) else []:
                    if isinstance(part, dict):
                        self.declared_questions.add(part.get("id"))
        questions: list[Question] = []
        answers: dict[str, _Target] = {}
        for n, raw in self.entries(data, "questions"):
            question = self.question(raw, n, tips, option_sets, questions, answers)
            questions.append(question)
            for target in _targets(question):
                if target.id in answers:
                    raise self.fail(f"question '{question.id}'", f"duplicate id '{target.id}'")
                answers[target.id] = target
        flags = [self.flag(raw, n, tips_by_id, answers) for n, raw in self.entries(data, "flags")]
        self.unique(flags, "flag")
        roles = self.roles(self.table(meta, "roles", "[flow]", required=False), answers)
        topics = [
            self.topic(raw, n, tips_by_id, answers)
            for n, raw in enumerate(data.get("topics", []), start=1)
        ]
        self.unique(topics, "topic")
        return Flow(
            id=self.text(meta, "id", "[flow]"),
            title=self.text(meta, "title", "[flow]"),
            version=version,
            tips=tuple(tips),
            questions=tuple(questions),
            flags=tuple(flags),
            has_verdict=has_verdict,
            too_early_at=self.integer(meta, "too_early_at", "[flow]", minimum=1),
            roles=roles,
            topics=tuple(topics),
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
        earlier_answers: dict[str, _Target],
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
        allowed = (
            {"id", "tip", "type", "text", "hint", "ask_when", "stop_when"}
            | {
                "choice": {"options"},
                "multi_choice": {"options"},
                "number": {"min", "max", "unit"},
                "date": {"min_days_from_today", "max_days_from_today", "default"},
                "short_text": {"max_length", "optional"},
                "long_text": {"max_length", "optional"},
                "list": {
                    "min_items",
                    "max_items",
                    "split_on_commas",
                    "more_messages",
                    "first_item",
                    "max_length",
                },
                "group": {"parts"},
            }[qtype]
            | {"shows"}
        )
        misplaced = sorted(set(raw) - allowed)
        if misplaced:
            raise self.fail(entry, f"'{misplaced[0]}' does not apply to a {qtype} question")
        shows = self.text(raw, "shows", entry, required=False)
        if shows is not None and shows not in ROLES:
            raise self.fail(entry, f"shows '{shows}' is not a role (roles: {', '.join(ROLES)})")
        default = self.text(raw, "default", entry, required=False)
        if default is not None and default not in DATE_DEFAULTS:
            raise self.fail(entry, f"unknown default '{default}' (use: {', '.join(DATE_DEFAULTS)})")
        question = Question(
            id=question_id,
            tip=tip_id,
            type=qtype,
            text=self.text(raw, "text", entry),
            hint=self.text(raw, "hint", entry, required=False),
            options=self.options(raw, entry, option_sets, qtype) if qtype in CHOICE_TYPES else (),
            ask_when=self.condition(raw, "ask_when", entry, earlier_answers, question_id),
            min=self.integer(raw, "min", entry),
            max=self.integer(raw, "max", entry),
            unit=self.text(raw, "unit", entry, required=False),
            max_length=self.integer(raw, "max_length", entry, minimum=1)
            or DEFAULT_MAX_LENGTH.get(qtype),
            min_days_from_today=self.integer(raw, "min_days_from_today", entry),
            max_days_from_today=self.integer(raw, "max_days_from_today", entry),
            parts=self.parts(raw, entry, option_sets) if qtype == "group" else (),
            optional=self.flag_value(raw, "optional", entry),
            min_items=self.integer(raw, "min_items", entry, minimum=1)
            or (1 if qtype == "list" else None),
            max_items=self.integer(raw, "max_items", entry, minimum=1),
            split_on_commas=self.flag_value(raw, "split_on_commas", entry),
            more_messages=self.flag_value(raw, "more_messages", entry),
            first_item=self.text(raw, "first_item", entry, required=False),
            default=default,
            shows=shows,
        )
        # stop_when may read this question's own answer as well as earlier ones.
        own = {target.id: target for target in _targets(question)}
        stop_when = self.condition(raw, "stop_when", entry, {**earlier_answers, **own})
        if stop_when is not None:
            question = replace(question, stop_when=stop_when)
        for low, high in (
            ("min", "max"),
            ("min_days_from_today", "max_days_from_today"),
            ("min_items", "max_items"),
        ):
            lo, hi = getattr(question, low), getattr(question, high)
            if lo is not None and hi is not None and lo > hi:
                raise self.fail(entry, f"'{low}' ({lo}) is greater than '{high}' ({hi})")
        if question.more_messages and question.max_items is None:
            raise self.fail(entry, "'more_messages' needs 'max_items': when to stop waiting")
        return question

    def parts(
        self, raw: dict[str, Any], entry: str, option_sets: dict[str, tuple[Option, ...]]
    ) -> tuple[Part, ...]:
        value = raw.get("parts")
        if not isinstance(value, list) or len(value) < 2:
            raise self.fail(entry, "a group needs 'parts': a list of at least two choices")
        parts = []
        for n, part in enumerate(value, start=1):
            where = f"{entry}, part #{n}"
            if not isinstance(part, dict):
                raise self.fail(where, "must be a table { id, label, options }")
            self.keys(part, where, {"id", "label", "options", "optional"})
            part_id = self.identifier(part, where, _SNAKE_ID)
            if part_id in RESERVED_IDS:
                raise self.fail(where, f"'{part_id}' is reserved; choose another id")
            parts.append(
                Part(
                    id=part_id,
                    label=self.text(part, "label", where),
                    options=self.options(part, where, option_sets, "choice"),
                    optional=self.flag_value(part, "optional", where),
                )
            )
        return tuple(parts)

    def flag(
        self,
        raw: dict[str, Any],
        n: int,
        tips: dict[str, Tip],
        answers: dict[str, _Target],
    ) -> FlagRule:
        entry = self.entry_name("flag", raw, n)
        self.keys(
            raw,
            entry,
            {"id", "tip", "severity", "sets_verdict", "when", "reason", "condition"}
            | {"cases", "unsure", "in_progress"},
        )
        tip_id = self.text(raw, "tip", entry)
        assessed = [tip.id for tip in tips.values() if tip.assessed]
        if tip_id not in assessed:
            known = "is not assessed" if tip_id in tips else "is not a tip"
            raise self.fail(entry, f"'{tip_id}' {known}; flags belong to: {', '.join(assessed)}")
        severity = self.text(raw, "severity", entry, required="cases" not in raw)
        if "cases" in raw:
            single = sorted({"when", "reason", "condition"} & set(raw))
            if single:
                raise self.fail(entry, f"'{single[0]}' belongs in each of its cases")
            raw_cases = raw["cases"]
            if not isinstance(raw_cases, list) or not raw_cases:
                raise self.fail(entry, "'cases' must be a list of { when, reason, condition }")
        else:
            raw_cases = [raw]
        cases = []
        for number, case in enumerate(raw_cases, start=1):
            where = entry if "cases" not in raw else f"{entry}, case #{number}"
            if not isinstance(case, dict):
                raise self.fail(where, "must be a table { when, reason, condition }")
            if "cases" in raw:
                self.keys(case, where, {"when", "severity", "reason", "condition"})
            case_severity = self.text(case, "severity", where, required=False) or severity
            if case_severity is None:
                raise self.fail(where, "missing 'severity' (critical, warning or verdict)")
            if case_severity not in SEVERITIES:
                raise self.fail(
                    where, f"severity '{case_severity}' must be one of: {', '.join(SEVERITIES)}"
                )
            when = self.condition(case, "when", where, answers)
            if when is None:
                raise self.fail(where, "missing 'when' (the condition that raises this flag)")
            cases.append(FlagCase(when, case_severity, self.wording(case, where)))
        sets_verdict = self.text(raw, "sets_verdict", entry, required=False)
        if sets_verdict is not None and not self.has_verdict:
            raise self.fail(entry, "no sets_verdict here: the flow has [flow] verdict = false")
        if sets_verdict is not None and sets_verdict not in VERDICTS:
            raise self.fail(entry, f"sets_verdict must be one of: {', '.join(VERDICTS)}")
        sets = any(case.severity == "verdict" for case in cases)
        if sets and sets_verdict is None:
            raise self.fail(entry, "severity 'verdict' needs sets_verdict: the verdict it sets")
        if sets_verdict is not None and not sets:
            raise self.fail(entry, "sets_verdict needs severity 'verdict' (it would be ignored)")
        rule = FlagRule(
            id=self.identifier(raw, entry, _FLAG_ID),
            tip=tip_id,
            cases=tuple(cases),
            unsure=self.optional_wording(raw, "unsure", entry),
            in_progress=self.optional_wording(raw, "in_progress", entry),
            sets_verdict=sets_verdict,
        )
        self.check_markers(rule, entry, answers)
        return rule

    def wording(self, raw: dict[str, Any], entry: str) -> Wording:
        return Wording(self.text(raw, "reason", entry), self.text(raw, "condition", entry))

    def optional_wording(self, raw: dict[str, Any], key: str, entry: str) -> Wording | None:
        if key not in raw:
            return None
        value = raw[key]
        where = f"{entry}, {key}"
        if not isinstance(value, dict):
            raise self.fail(where, "must be a table { reason, condition }")
        self.keys(value, where, {"reason", "condition"})
        return self.wording(value, where)

    def check_markers(self, rule: FlagRule, entry: str, answers: dict[str, _Target]) -> None:
        """An honest "Not sure" or "In progress" must raise the flag with words of its own;
        and those words must be reachable, or they are a typo waiting to mislead."""
        if rule.only_sets_verdict:
            given = next(
                (k for k, w in (("unsure", rule.unsure), ("in_progress", rule.in_progress)) if w),
                None,
            )
            if given:
                raise self.fail(
                    entry,
                    f"'{given}' is never used: a flag that only sets the verdict is raised by "
                    "a definite answer alone",
                )
            return
        for marker, wording, key in (
            (NOT_SURE, rule.unsure, "unsure"),
            (IN_PROGRESS, rule.in_progress, "in_progress"),
        ):
            reachable = any(
                not compare.names(marker) and answers[compare.question].offers(marker)
                for case in rule.cases
                for compare in case.when.comparisons()
            )
            if reachable and wording is None:
                raise self.fail(
                    entry,
                    f"an answer it reads can be '{marker}': add '{key} = {{ reason, condition }}'",
                )
            if wording is not None and not reachable:
                raise self.fail(entry, f"'{key}' is never used: no answer it reads offers it")

    def topic(self, raw: Any, n: int, tips: dict[str, Tip], answers: dict[str, _Target]) -> Topic:
        if not isinstance(raw, dict):
            raise self.fail(f"topics #{n}", "must be a table")
        entry = self.entry_name("topic", raw, n)
        allowed = {"id", "tip", "title", "answer", "check_answer", "stances", "condition"}
        self.keys(raw, entry, allowed)
        tip = self.text(raw, "tip", entry)
        if tip not in tips or not tips[tip].assessed:
            raise self.fail(entry, f"'{tip}' is not an assessed tip of this flow")
        answer = self.text(raw, "answer", entry)
        target = answers.get(answer)
        if target is None or not target.options:
            raise self.fail(entry, f"answer '{answer}' is not a choice's id")
        stances = self.table(raw, "stances", entry)
        if not all(isinstance(v, str) and v.strip() for v in stances.values()):
            raise self.fail(entry, 'every stance must be text, e.g. { yes = "yes" }')
        unmapped = [o.value for o in target.options if o.value not in stances]
        if unmapped:
            raise self.fail(entry, f"stances needs a word for '{unmapped[0]}'")
        return Topic(
            id=self.identifier(raw, entry, _SNAKE_ID),
            tip=tip,
            title=self.text(raw, "title", entry),
            answer=answer,
            check_answer=self.text(raw, "check_answer", entry, required=False),
            stances={str(k): str(v).strip() for k, v in stances.items()},
            condition=self.text(raw, "condition", entry),
        )

    def roles(self, raw: dict[str, Any], answers: dict[str, _Target]) -> dict[str, str]:
        roles = {}
        for role, answer_id in raw.items():
            if role not in ROLES:
                known = ", ".join(sorted(ROLES))
                raise self.fail("[flow.roles]", f"unknown role '{role}' (roles: {known})")
            target = answers.get(answer_id) if isinstance(answer_id, str) else None
            if target is None:
                raise self.fail("[flow.roles]", f"{role} = {answer_id!r} is not a question's id")
            needed = [v for v in ROLE_VALUES.get(role, ()) if not target.option(v)]
            if needed:
                raise self.fail(
                    "[flow.roles]",
                    f"{role} = '{answer_id}' must offer '{needed[0]}' (the bot acts on it)",
                )
            roles[role] = answer_id
        return roles

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
        usable: Mapping[str, _Target],
        own_id: str | None = None,
    ) -> Condition | None:
        """Parse `raw[key]` and check each comparison against the answers it may use.

        For `ask_when`, `usable` holds only the earlier questions' answers: branching on a
        later answer would make a question depend on one not asked yet.
        """
        if key not in raw:
            return None
        where = f"{entry}, {key}"
        try:
            condition = parse_condition(raw[key])
        except ConditionSyntaxError as err:
            raise self.fail(where, str(err)) from err
        for compare in condition.comparisons():
            target = usable.get(compare.question)
            if target is None:
                if compare.question == own_id:
                    raise self.fail(where, "a question cannot depend on its own answer")
                if own_id is not None and compare.question in self.declared_questions:
                    raise self.fail(
                        where,
                        f"'{compare.question}' comes later "
                        "(ask_when may only use answers given before this question)",
                    )
                raise self.fail(where, f"unknown question '{compare.question}'")
            problem = _operand_problem(target, compare.op, compare.operand)
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

    def flag_value(self, raw: dict[str, Any], key: str, entry: str) -> bool:
        value = raw.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(entry, f"'{key}' must be true or false")
        return value

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


@dataclass(frozen=True)
class _Target:
    """Something a condition can compare: a question's answer, or one part of a group."""

    id: str
    type: str
    options: tuple[Option, ...]

    def offers(self, marker: str) -> bool:
        return any(option.value == marker for option in self.options)

    def option(self, value: str) -> Option | None:
        return next((option for option in self.options if option.value == value), None)


def _targets(question: Question) -> list[_Target]:
    if question.parts:
        return [_Target(part.id, "choice", part.options) for part in question.parts]
    return [_Target(question.id, question.type, question.options)]


def _operand_problem(target: _Target, op: str, operand: Any) -> str | None:
    """Why `answer <op> operand` can never be meaningful, or None if it is fine."""
    numeric = op in ("greater_than", "at_least", "less_than", "at_most")
    if numeric and target.type not in ("number", "list"):
        return f"'{op}' needs a number or list question; '{target.id}' is {target.type}"
    if op in LIST_OPERATORS and target.type != "multi_choice":
        return f"'{op}' needs a multi_choice question; '{target.id}' is {target.type}"
    if target.type == "multi_choice" and op not in LIST_OPERATORS:
        return f"'{target.id}' is multi_choice: use {' or '.join(map(repr, LIST_OPERATORS))}"
    if target.type == "list" and not numeric:
        return f"'{target.id}' is a list: compare its number of items (e.g. greater_than)"
    values = operand if isinstance(operand, tuple) else (operand,)
    if target.type in CHOICE_TYPES:
        known = [option.value for option in target.options]
        for value in values:
            if value not in known:
                return f"'{value}' is not an option of '{target.id}' ({', '.join(known)})"
    if target.type in ("number", "list") and not all(isinstance(v, int) for v in values):
        return f"'{target.id}' is compared by number: use whole numbers"
    return None
