"""Test data shared by the flows tests (a plain module: conftest is not for importing)."""

from __future__ import annotations

import datetime as dt

from flows import Flow, FlowRun

TODAY = dt.date(2027, 1, 4)

# Replies, as a person would type them, to every question of the packaged check; with
# these the check raises no flag at all. Tests override single replies.
GOOD_REPLIES: dict[str, str | list[str]] = {
    "name": "Integrated discharge team",
    "lead_org": "City Hospitals NHS Trust",
    "partner_orgs": "City Council adult social care\nCity Housing",
    "partner_types": ["nhs", "social_care", "housing"],
    "problem": "Older people wait in hospital for care at home.",
    "lighter_route": "no",
    "form": "mou",
    "costs_estimated": "yes",
    "governance_review": "yes",
    "accountable_lead": "yes",
    "conflict_of_interest": "yes",
    "partner_count": "3",
    "objectives": "Cut delayed discharges by a third",
    "user_outcomes": "yes",
    "measures_defined": "yes",
    "measures": "Delayed discharge days, from the weekly sitrep",
    "baseline": "yes",
    "evaluation": "funded",
    "first_result_months": "6",
    "system_level": "no",
    "full_benefit_months": "24",
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
GOOD_REVIEW_REPLIES: dict[str, str | list[str]] = {
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


def run_to_summary(flow: Flow, **overrides: object) -> FlowRun:
    """Run a packaged flow to the summary with its good replies, overridden by keyword."""
    replies = {**GOOD[flow.id], **overrides}
    run = FlowRun(flow, today=TODAY)
    while run.current is not None:
        run.answer(replies[run.current.id])  # type: ignore[arg-type]
    assert run.state == "summary"
    return run
