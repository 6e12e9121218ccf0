"""Declarative conditions, shared by question branching (`ask_when`) and red flags (`when`).

Conditions are data an organisation edits in TOML, so they are a small closed language
rather than code:

    { question = "form", equals = "formal" }
    { question = "partner_types", contains = "private" }
    { question = "context_changes", contains_other_than = "none" }
    { all = [ {...}, {...} ] }      { any = [ {...}, {...} ] }

A comparison on a question that has no answer (skipped by branching, or not reached yet)
is always false, and so is one whose answer has an unexpected type (say, from an older
version of the definition): a rule can never crash on missing data, it simply does not fire.

Honest answers make the logic three-valued. An answer of "not_sure" or "in_progress" (the
MARKERS) says the fact is not known yet, so a comparison that does not name the marker
is *unknown* rather than true or false, and `all`/`any` combine unknowns as Kleene's
logic does (`judge`). A red flag that is unknown is raised as a warning ("Not known
yet: ..."); branching (`evaluate`) treats unknown as false.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Answers = Mapping[str, Any]

# Answers that say "I don't know yet" rather than giving the fact.
NOT_SURE = "not_sure"
IN_PROGRESS = "in_progress"
MARKERS = (NOT_SURE, IN_PROGRESS)

# A three-valued truth: True, False, or None for "unknown".
Truth = bool | None

# Operators for multi_choice answers (lists); the others compare a single value.
LIST_OPERATORS = ("contains", "contains_other_than")


def _is_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _numeric(test: Callable[[int, int], bool]) -> Callable[[object, object], bool]:
    """A numeric test; a list answer (a `list` question) is compared by its number of items."""

    def compare(answer: object, operand: object) -> bool:
        if isinstance(answer, list):
            answer = len(answer)
        return _is_number(answer) and test(answer, operand)  # type: ignore[arg-type]

    return compare


# operator -> (test on (answer, operand), kind of operand it takes)
OPERATORS: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    "equals": (lambda answer, operand: answer == operand, "scalar"),
    "not_equals": (lambda answer, operand: answer != operand, "scalar"),
    "in": (lambda answer, operand: not isinstance(answer, list) and answer in operand, "list"),
    "not_in": (
        lambda answer, operand: not isinstance(answer, list) and answer not in operand,
        "list",
    ),
    "contains": (lambda answer, operand: isinstance(answer, list) and operand in answer, "scalar"),
    # "Something other than X was ticked": robust to options added later, unlike listing them.
    "contains_other_than": (
        lambda answer, operand: isinstance(answer, list) and any(v != operand for v in answer),
        "scalar",
    ),
    "greater_than": (_numeric(lambda answer, operand: answer > operand), "number"),
    "at_least": (_numeric(lambda answer, operand: answer >= operand), "number"),
    "less_than": (_numeric(lambda answer, operand: answer < operand), "number"),
    "at_most": (_numeric(lambda answer, operand: answer <= operand), "number"),
}


class ConditionSyntaxError(ValueError):
    """A condition table is malformed; the loader adds the file and entry to the message."""


@dataclass(frozen=True)
class Compare:
    """`question <op> operand`, false when the question has no answer."""

    question: str
    op: str
    operand: Any

    def evaluate(self, answers: Answers) -> bool:
        return self.judge(answers) is True

    def judge(self, answers: Answers) -> Truth:
        if self.question not in answers:
            return False
        answer = answers[self.question]
        if answer in MARKERS and not self.names(answer):
            return None
        test, _ = OPERATORS[self.op]
        return bool(test(answer, self.operand))

    def names(self, value: object) -> bool:
        """Whether the operand mentions `value` (e.g. `equals = "not_sure"`)."""
        operands = self.operand if isinstance(self.operand, tuple) else (self.operand,)
        return value in operands

    def unknowns(self, answers: Answers) -> set[str]:
        """The markers that make this comparison unknown (empty when it is not)."""
        answer = answers.get(self.question)
        return {answer} if answer in MARKERS and not self.names(answer) else set()

    def comparisons(self) -> Iterator[Compare]:
        yield self


@dataclass(frozen=True)
class AllOf:
    conditions: tuple[Condition, ...]

    def evaluate(self, answers: Answers) -> bool:
        return self.judge(answers) is True

    def judge(self, answers: Answers) -> Truth:
        truths = [condition.judge(answers) for condition in self.conditions]
        if False in truths:
            return False
        return None if None in truths else True

    def unknowns(self, answers: Answers) -> set[str]:
        return set().union(*(condition.unknowns(answers) for condition in self.conditions))

    def comparisons(self) -> Iterator[Compare]:
        for condition in self.conditions:
            yield from condition.comparisons()


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Condition, ...]

    def evaluate(self, answers: Answers) -> bool:
        return self.judge(answers) is True

    def judge(self, answers: Answers) -> Truth:
        truths = [condition.judge(answers) for condition in self.conditions]
        if True in truths:
            return True
        return None if None in truths else False

    def unknowns(self, answers: Answers) -> set[str]:
        return set().union(*(condition.unknowns(answers) for condition in self.conditions))

    def comparisons(self) -> Iterator[Compare]:
        for condition in self.conditions:
            yield from condition.comparisons()


Condition = Compare | AllOf | AnyOf


def parse_condition(raw: object) -> Condition:
    """Build a condition from its TOML table; raises ConditionSyntaxError saying what is wrong."""
    if not isinstance(raw, dict):
        raise ConditionSyntaxError(f"a condition must be a table like {_EXAMPLE}, not {raw!r}")
    for combinator, cls in (("all", AllOf), ("any", AnyOf)):
        if combinator in raw:
            if len(raw) != 1:
                raise ConditionSyntaxError(f"'{combinator}' must be the only key in its table")
            parts = raw[combinator]
            if not isinstance(parts, list) or not parts:
                raise ConditionSyntaxError(f"'{combinator}' needs a non-empty list of conditions")
            return cls(tuple(parse_condition(part) for part in parts))
    question = raw.get("question")
    if not isinstance(question, str) or not question:
        raise ConditionSyntaxError(
            f"a condition needs 'question' (or 'all'/'any'), like {_EXAMPLE}"
        )
    ops = [key for key in raw if key != "question"]
    unknown = [key for key in ops if key not in OPERATORS]
    if unknown:
        raise ConditionSyntaxError(
            f"unknown operator '{unknown[0]}' (use one of: {', '.join(OPERATORS)})"
        )
    if len(ops) != 1:
        raise ConditionSyntaxError(f"a condition on '{question}' needs exactly one operator")
    op = ops[0]
    return Compare(question, op, _operand(op, raw[op]))


def _operand(op: str, value: object) -> Any:
    kind = OPERATORS[op][1]
    if kind == "list":
        if not isinstance(value, list) or not value:
            raise ConditionSyntaxError(f"'{op}' needs a non-empty list of values")
        if not all(isinstance(item, str) or _is_number(item) for item in value):
            raise ConditionSyntaxError(f"'{op}' values must be text or whole numbers")
        return tuple(value)
    if kind == "number" and not _is_number(value):
        raise ConditionSyntaxError(f"'{op}' needs a whole number, not {value!r}")
    if not (isinstance(value, str) or _is_number(value)):
        raise ConditionSyntaxError(f"'{op}' needs text or a whole number, not {value!r}")
    return value


_EXAMPLE = '{ question = "form", equals = "formal" }'
