"""Every partner's view of a check: their flags beside the proposer's, where the views
disagree, and the verdict of them all.

The proposer answers the check; each invited partner answers the partner questionnaire
for their own organisation. `combine` puts the partners' flags (marked with whose view
they are) beside the proposer's, raises a partners-disagree warning for each topic the
views answer differently, and applies the verdict rule to all the flags. Pure, like
`assess`, so the summary, the post and a re-check all compute it the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from flows.assessment import Assessment, RaisedFlag, assess, status_of, verdict_of
from flows.conditions import Answers
from flows.definition import USE_LESS_FORMAL_ROUTE, Flow, Topic
from flows.errors import FlowDefinitionError

DISAGREE = "partners-disagree"
# How the proposer's answers are named beside the partners' organisations.
PROPOSER = "proposer"


@dataclass(frozen=True)
class View:
    """One partner organisation's answers to the partner questionnaire."""

    organisation: str
    answers: Answers


def check_topics(check: Flow, partner: Flow) -> None:
    """FlowDefinitionError unless the partner flow fits the check: its assessed tips are
    the check's, and each topic's `check_answer` is an answer of the check."""
    tips = {tip.id for tip in check.assessed_tips}
    for tip in partner.assessed_tips:
        if tip.id not in tips:
            raise FlowDefinitionError(
                f"{partner.source}: tip '{tip.id}' is not an assessed tip of {check.source}"
            )
    for topic in partner.topics:
        if topic.check_answer and check.question_of(topic.check_answer) is None:
            raise FlowDefinitionError(
                f"{partner.source}: topic '{topic.id}': check_answer '{topic.check_answer}' "
                f"is not an answer of {check.source}"
            )


def combine(check: Flow, partner: Flow, answers: Answers, views: Sequence[View]) -> Assessment:
    """The check's assessment with every partner's view in it.

    With no views it is the check's own. A proposer who says a less formal route would
    do has set the verdict, and no partner's view changes that."""
    own = assess(check, answers)
    if not views:
        return own
    tip_titles = {tip.id: tip.title for tip in check.tips}
    relevant = check.relevant_answers(answers)
    flags = list(own.flags)
    for view in views:
        flags += [
            replace(flag, view=view.organisation, tip_title=tip_titles[flag.tip])
            for flag in assess(partner, view.answers).flags
        ]
    flags += [
        flag
        for topic in partner.topics
        if (flag := _disagreement(topic, tip_titles[topic.tip], relevant, views)) is not None
    ]
    order = {tip.id: n for n, tip in enumerate(check.tips)}
    flags.sort(key=lambda flag: order[flag.tip])  # stable: the proposer's first in a tip
    verdict = own.verdict
    if verdict != USE_LESS_FORMAL_ROUTE:
        verdict = verdict_of([flag for flag in flags if flag.severity != "verdict"])
    return replace(
        own,
        verdict=verdict,
        flags=flags,
        tip_status={tip.id: status_of(tip.id, flags) for tip in check.assessed_tips},
    )


def _disagreement(
    topic: Topic, tip_title: str, answers: Answers, views: Sequence[View]
) -> RaisedFlag | None:
    """A partners-disagree warning if the views answer `topic` differently."""
    stances = [(PROPOSER, topic.stance(answers, topic.check_answer))] + [
        (view.organisation, topic.stance(view.answers, topic.answer)) for view in views
    ]
    said = [(who, stance) for who, stance in stances if stance is not None]
    if len({stance for _who, stance in said}) < 2:
        return None
    side_by_side = " · ".join(f"{who} {stance}" for who, stance in said)
    return RaisedFlag(
        id=DISAGREE,
        tip=topic.tip,
        tip_title=tip_title,
        severity="warning",
        reason=f"Views differ. {topic.title}: {side_by_side}.",
        condition=topic.condition,
        topic=topic.id,
    )
