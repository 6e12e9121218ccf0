"""Test data shared by the flows tests (a plain module: conftest is not for importing)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flows import Flow, FlowRun, Question

TODAY = dt.date(2027, 1, 4)

# Replies, as a person would type or click them, to every question of the packaged check;
# with these the check raises no flag at all. A group question is answered with its
# parts (keyed by part id, as Slack's menus send them), so tests override a single part
# (`frontline="no"`) or the whole group, typed (`involvement="not sure"`).
GOOD_REPLIES: dict[str, Any] = {
    "name": "Integrated discharge team",
    "organisations": "City Hospitals NHS Trust, City Council adult social care, City Housing",
    "kinds": ["nhs", "social_care", "housing"],
    "problem": "Older people wait in hospital for care at home.",
    "lighter_route": "no",
    "lighter_route_which": "referral_protocol",
    "added_value": "One team can hold a patient's case from the ward to their home.",
    "form": "mou",
    "governance_review": "yes",
    "accountable_lead": "yes",
    "costs": "both",
    "conflict_of_interest": "yes",
    "objectives": "Cut delayed discharges from Ward 7 by a third within a year",
    "user_outcomes": "yes",
    "measures": "all",
    "baseline": "yes",
    "evaluation": "funded",
    "first_result": "months_6_to_12",
    "full_benefit": "months_12_to_24",
    "system_level": "no",
    "resources": "money_and_staff",
    "senior_commitment": "all",
    "milestones": "yes",
    "review_cadence": "quarterly",
    "value_decider": "joint_board",
    "first_review_date": "2027-04-01",
    "exit_arrangements": "yes",
    "frontline": "already",
    "users_involved": "already",
    "users_how": "co_design",
    "coordinator": "protected",
}

# What GOOD_REPLIES store: the answers of a complete, flag-free check (form "mou").
GOOD_ANSWERS: dict[str, Any] = {
    "name": "Integrated discharge team",
    "organisations": [
        "City Hospitals NHS Trust",
        "City Council adult social care",
        "City Housing",
    ],
    "kinds": ["nhs", "social_care", "housing"],
    "problem": "Older people wait in hospital for care at home.",
    "lighter_route": "no",
    "added_value": "One team can hold a patient's case from the ward to their home.",
    "form": "mou",
    "costs": "both",
    "objectives": ["Cut delayed discharges from Ward 7 by a third within a year"],
    "user_outcomes": "yes",
    "measures": "all",
    "baseline": "yes",
    "evaluation": "funded",
    "first_result": "months_6_to_12",
    "full_benefit": "months_12_to_24",
    "resources": "money_and_staff",
    "senior_commitment": "all",
    "milestones": "yes",
    "review_cadence": "quarterly",
    "value_decider": "joint_board",
    "first_review_date": "2027-04-01",
    "exit_arrangements": "yes",
    "frontline": "already",
    "users_involved": "already",
    "users_how": "co_design",
    "coordinator": "protected",
}

# The answers a finished check stored under version 1 of the definition (the old ids:
# lead_org, partner_count, full_benefit_months...; frontline and coordinator "yes").
V1_ANSWERS: dict[str, Any] = {
    "name": "Integrated discharge team",
    "lead_org": "City Hospitals NHS Trust",
    "partner_orgs": "City Council adult social care\nCity Housing",
    "partner_types": ["nhs", "social_care", "housing"],
    "problem": "Older people wait in hospital for care at home.",
    "lighter_route": "no",
    "form": "mou",
    "costs_estimated": "yes",
    "partner_count": 3,
    "objectives": "Cut delayed discharges by a third",
    "user_outcomes": "yes",
    "measures_defined": "yes",
    "measures": "Delayed discharge days, from the weekly sitrep",
    "baseline": "yes",
    "evaluation": "funded",
    "first_result_months": 6,
    "system_level": "no",
    "full_benefit_months": 24,
    "resources": "money_and_staff",
    "milestones": "yes",
    "senior_commitment": "yes",
    "review_cadence": "quarterly",
    "first_review_date": "2027-04-01",
    "exit_arrangements": "yes",
    "value_decider": "Joint commissioning board",
    "frontline": "yes",
    "users_involved": "yes",
    "users_how": "A carers' panel co-designs the pathway",
    "coordinator": "yes",
}


# Replies to every question of the packaged review of a partnership that is going well:
# no flag, and the decision is to continue (so context_notes and adapt_what are only
# used when an override makes them apply).
GOOD_REVIEW_REPLIES: dict[str, Any] = {
    "value_for_cost": "benefit_outweighs",
    "time_and_money": "A coordinator two days a week and £15,000; 40 fewer delayed days a month",
    "separate_better": "no",
    "outcomes_progress": "on_track",
    "milestones_met": "yes",
    "progress_notes": "Delayed discharge days down from 310 to 190 a month",
    "context_changes": ["none"],
    "context_notes": "A new partner joined",
    "frontline_still": "yes",
    "users_still": "yes",
    "decision": "continue",
    "adapt_what": ["scope"],
    "decision_notes": "It works; keep going.",
}

GOOD = {"check": GOOD_REPLIES, "review": GOOD_REVIEW_REPLIES}


def reply_to(question: Question, replies: dict[str, Any]) -> Any:
    """The reply to `question`: its own entry, else (a group) its parts' entries."""
    if question.id in replies:
        return replies[question.id]
    if question.parts:
        return {part.id: replies[part.id] for part in question.parts if part.id in replies}
    raise KeyError(f"no reply for {question.id!r}")


def give(run: FlowRun, raw: Any) -> None:
    """Answer the current question as a person would: a list question that waits for
    more messages is closed with Done once the reply is in."""
    question = run.current
    assert question is not None, f"no question to answer at {run.state!r}"
    run.answer(raw)
    if question.more_messages and run.state == question.id:
        run.done()


def answer_until(run: FlowRun, stop_at: str, **overrides: object) -> None:
    """Answer with the good replies (or overrides) until the run is at `stop_at`."""
    replies = {**GOOD[run.flow.id], **overrides}
    while run.state != stop_at:
        assert run.current is not None, f"never reached {stop_at}"
        give(run, reply_to(run.current, replies))


def run_to_summary(flow: Flow, **overrides: object) -> FlowRun:
    """Run a packaged flow to the summary with its good replies, overridden by keyword."""
    run = FlowRun(flow, today=TODAY)
    answer_until(run, "summary", **overrides)
    return run


def asked(flow: Flow, **overrides: object) -> list[str]:
    """The question ids asked, in order, answering with good replies and overrides."""
    run, seen = FlowRun(flow, today=TODAY), []
    replies = {**GOOD[flow.id], **overrides}
    while run.current is not None:
        seen.append(run.current.id)
        give(run, reply_to(run.current, replies))
    return seen
