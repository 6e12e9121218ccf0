"""From answers to a recommendation: the red flags raised, a status per tip, a verdict.

Pure functions of (flow, answers), so a summary can be recomputed at any time and the
policy tested without a conversation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal, cast

from flows.conditions import MARKERS, NOT_SURE, Answers, Condition
from flows.definition import (
    PROCEED,
    PROCEED_WITH_CONDITIONS,
    RECONSIDER,
    Flow,
    Severity,
)

# green: no flags · amber: warnings · red: critical · verdict: only a flag that sets the
# verdict (the less formal route), which is neither a warning nor critical.
TipStatus = Literal["green", "amber", "red", "verdict"]
# The verdict rule: Reconsider at this many critical flags in all, or in one tip.
RECONSIDER_AT = 3
RECONSIDER_AT_IN_ONE_TIP = 2
# What a flag rests on: the answer itself, or an honest "not sure" / "in progress".
Basis = Literal["answer", "not_sure", "in_progress"]


@dataclass(frozen=True)
class RaisedFlag:
    id: str
    tip: str
    tip_title: str
    severity: Severity
    reason: str
    condition: str
    basis: Basis = "answer"
    # Whose view raised it: a partner organisation, or None for the proposer's answers.
    view: str | None = None
    # The topic a partners-disagree flag is about (flows.views).
    topic: str | None = None

    @property
    def key(self) -> str:
        """Names the flag among all of a partnership's, whoever's view: a condition's key."""
        return ":".join((self.id, self.view or "", self.topic or ""))


@dataclass(frozen=True)
class Assessment:
    # One of VERDICTS; None for a flow without a verdict (a review decides for itself).
    verdict: str | None
    flags: list[RaisedFlag]
    tip_status: dict[str, TipStatus]
    # How many answers were "Not sure", and whether that many means it is too early.
    not_sure: int = 0
    too_early: bool = False

    @property
    def criticals(self) -> int:
        return sum(1 for flag in self.flags if flag.severity == "critical")

    @property
    def warnings(self) -> int:
        return sum(1 for flag in self.flags if flag.severity == "warning")

    @property
    def to_find_out(self) -> list[RaisedFlag]:
        """The flags raised by Not sure answers: what to find out before agreeing."""
        return [flag for flag in self.flags if flag.basis == NOT_SURE]


def assess(flow: Flow, answers: Answers) -> Assessment:
    """Apply the flow's red-flag policy and, if it has one, the verdict rule to answers.

    Answers to questions that would not be asked are ignored, so a stale answer can
    never raise a flag. An answer of Not sure or In progress raises the flag a "no"
    would, always as a warning and in words of its own (flows.conditions explains how).
    """
    relevant = flow.relevant_answers(answers)
    tip_order = {tip.id: n for n, tip in enumerate(flow.tips)}
    flags: list[RaisedFlag] = []
    sets_verdict = None
    for rule in sorted(flow.flags, key=lambda rule: tip_order[rule.tip]):  # stable in a tip
        truth, case = rule.judge(relevant)
        if truth is False:
            continue
        if case is not None:
            severity, wording = case.severity, case.wording
            basis = _named_marker(case.when, relevant)
            sets_verdict = sets_verdict or (rule.sets_verdict if severity == "verdict" else None)
        else:
            marker, wording = rule.unknown_wording(relevant)
            basis, severity = cast(Basis, marker), "warning"
        flags.append(
            RaisedFlag(
                id=rule.id,
                tip=rule.tip,
                tip_title=flow.tip(rule.tip).title,
                severity=severity,
                reason=wording.reason,
                condition=wording.condition,
                basis=basis,
            )
        )
    not_sure = sum(1 for value in relevant.values() if value == NOT_SURE)
    verdict = None
    if flow.has_verdict:
        verdict = sets_verdict or verdict_of(flags)
    return Assessment(
        verdict=verdict,
        flags=flags,
        tip_status={tip.id: status_of(tip.id, flags) for tip in flow.assessed_tips},
        not_sure=not_sure,
        too_early=flow.too_early_at is not None and not_sure >= flow.too_early_at,
    )


def _named_marker(when: Condition, answers: Answers) -> Basis:
    """A flag raised *because* an answer was Not sure (e.g. "not sure a less formal route
    would not do") rests on that answer, like one raised by the three-valued logic."""
    for compare in when.comparisons():
        answer = answers.get(compare.question)
        if answer in MARKERS and compare.names(answer):
            return answer
    return "answer"


def verdict_of(flags: list[RaisedFlag]) -> str:
    """The verdict rule on flags that do not set the verdict themselves. A flag raised in
    several views (the proposer's and a partner's) is one problem: it counts once."""
    critical = {(flag.id, flag.tip) for flag in flags if flag.severity == "critical"}
    critical_per_tip = Counter(tip for _id, tip in critical)
    if critical_per_tip.total() >= RECONSIDER_AT or any(
        n >= RECONSIDER_AT_IN_ONE_TIP for n in critical_per_tip.values()
    ):
        return RECONSIDER
    return PROCEED_WITH_CONDITIONS if flags else PROCEED


def status_of(tip_id: str, flags: list[RaisedFlag]) -> TipStatus:
    severities = {flag.severity for flag in flags if flag.tip == tip_id}
    if "critical" in severities:
        return "red"
    if "warning" in severities:
        return "amber"
    return "verdict" if severities else "green"
