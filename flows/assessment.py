"""From answers to a recommendation: the red flags raised, a status per tip, a verdict.

Pure functions of (flow, answers), so a summary can be recomputed at any time and the
policy tested without a conversation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from flows.conditions import Answers
from flows.definition import (
    PROCEED,
    PROCEED_WITH_CONDITIONS,
    RECONSIDER,
    Flow,
    Severity,
)

TipStatus = Literal["green", "amber", "red"]


@dataclass(frozen=True)
class RaisedFlag:
    id: str
    tip: str
    tip_title: str
    severity: Severity
    reason: str
    condition: str


@dataclass(frozen=True)
class Assessment:
    # One of VERDICTS; None for a flow without a verdict (a review decides for itself).
    verdict: str | None
    flags: list[RaisedFlag]
    tip_status: dict[str, TipStatus]


def assess(flow: Flow, answers: Answers) -> Assessment:
    """Apply the flow's red-flag policy and, if it has one, the verdict rule to answers.

    Answers to questions that would not be asked are ignored, so a stale answer can
    never raise a flag.
    """
    relevant = flow.relevant_answers(answers)
    tip_order = {tip.id: n for n, tip in enumerate(flow.tips)}
    fired = sorted(
        (rule for rule in flow.flags if rule.when.evaluate(relevant)),
        key=lambda rule: tip_order[rule.tip],  # stable: keeps file order within a tip
    )
    flags = [
        RaisedFlag(
            id=rule.id,
            tip=rule.tip,
            tip_title=flow.tip(rule.tip).title,
            severity=rule.severity_for(relevant),
            reason=rule.reason,
            condition=rule.condition,
        )
        for rule in fired
    ]
    verdict = None
    if flow.has_verdict:
        overriding = next((rule.sets_verdict for rule in fired if rule.sets_verdict), None)
        verdict = overriding or _verdict(flags)
    return Assessment(
        verdict=verdict,
        flags=flags,
        tip_status={tip.id: _status(tip.id, flags) for tip in flow.tips if tip.assessed},
    )


def _verdict(flags: list[RaisedFlag]) -> str:
    critical_per_tip = Counter(flag.tip for flag in flags if flag.severity == "critical")
    if critical_per_tip.total() >= 3 or any(n >= 2 for n in critical_per_tip.values()):
        return RECONSIDER
    return PROCEED_WITH_CONDITIONS if flags else PROCEED


def _status(tip_id: str, flags: list[RaisedFlag]) -> TipStatus:
    severities = {flag.severity for flag in flags if flag.tip == tip_id}
    if "critical" in severities:
        return "red"
    return "amber" if severities else "green"
