"""The partner questionnaire and the combination of every partner's view with the check."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
from flows_conversation import conversation_machine
from flows_testkit import GOOD_ANSWERS
from hypothesis import given, settings
from hypothesis import strategies as st
from test_flow_properties import check_answers

from flows import VERDICTS, FlowDefinitionError, assess, load_flow
from flows.definition import (
    PROCEED,
    PROCEED_WITH_CONDITIONS,
    RECONSIDER,
    USE_LESS_FORMAL_ROUTE,
    parse_flow,
)
from flows.views import DISAGREE, PROPOSER, View, check_topics, combine

CHECK = load_flow("check")
PARTNER = load_flow("partner")

# A partner with nothing to flag.
CONTENT = {
    "lighter_route": "no",
    "shares_objectives": "yes",
    "resources": "staff_only",
    "senior_signoff": "yes",
    "exit_arrangements": "yes",
    "frontline": "already",
    "users_involved": "already",
    "worries": None,
}
# The proposer's answers that match CONTENT on every topic.
PROPOSER_AGREES = {
    **GOOD_ANSWERS,
    "lighter_route": "no",
    "resources": "money_and_staff",
    "senior_commitment": "all",
    "exit_arrangements": "yes",
    "frontline": "already",
    "users_involved": "already",
}

test_partner_conversation = conversation_machine(PARTNER).TestCase


def test_the_partner_flow_fits_the_check() -> None:
    check_topics(CHECK, PARTNER)
    assert not PARTNER.has_verdict
    assert PARTNER.question("shares_objectives").shows == "objectives"
    assert CHECK.roles["objectives"] == "objectives"


def test_agreeing_views_add_nothing() -> None:
    result = combine(CHECK, PARTNER, PROPOSER_AGREES, [View("City Trust", CONTENT)])
    assert result == assess(CHECK, PROPOSER_AGREES)
    assert result.verdict == PROCEED


def test_a_partners_flags_say_whose_view_they_are_and_land_in_the_checks_tip() -> None:
    view = View("County Council", {**CONTENT, "resources": "none"})
    result = combine(CHECK, PARTNER, PROPOSER_AGREES, [view])
    (own,) = [f for f in result.flags if f.id == "no-resources"]
    assert (own.view, own.tip, own.tip_title, own.severity) == (
        "County Council",
        "realistic",
        "Be realistic",
        "critical",
    )
    assert own.key == "no-resources:County Council:"
    assert result.tip_status["realistic"] == "red"
    # The proposer said money and staff were committed: the views differ, side by side.
    (disagree,) = [f for f in result.flags if f.id == DISAGREE]
    assert disagree.topic == "resources" and disagree.severity == "warning"
    assert f"{PROPOSER} yes · County Council nothing yet" in disagree.reason
    assert result.verdict == PROCEED_WITH_CONDITIONS


def test_disagreement_on_senior_sign_off_and_an_honest_not_sure() -> None:
    """The issue's example: one partner disagrees on senior sign-off, another is not
    sure about resources."""
    views = [
        View("City Trust", {**CONTENT, "senior_signoff": "not_yet"}),
        View("County Council", {**CONTENT, "resources": "not_sure"}),
    ]
    result = combine(CHECK, PARTNER, PROPOSER_AGREES, views)
    by_topic = {f.topic: f for f in result.flags if f.id == DISAGREE}
    assert set(by_topic) == {"senior_signoff", "resources"}
    assert by_topic["senior_signoff"].reason == (
        "Views differ. Senior sign-off: proposer yes · City Trust not yet · County Council yes."
    )
    assert "County Council not sure" in by_topic["resources"].reason
    unsure = [f for f in result.flags if f.view == "County Council"]
    assert [(f.id, f.basis, f.severity) for f in unsure] == [
        ("no-resources", "not_sure", "warning")
    ]
    assert result.verdict == PROCEED_WITH_CONDITIONS


def test_a_proposer_answer_left_out_of_the_stances_is_not_contradicted() -> None:
    """ "From some partners" says nothing a partner's "yes" could contradict."""
    answers = {**PROPOSER_AGREES, "senior_commitment": "some"}
    result = combine(CHECK, PARTNER, answers, [View("City Trust", CONTENT)])
    assert not [f for f in result.flags if f.id == DISAGREE]


def test_partners_can_disagree_among_themselves_on_what_the_proposer_is_not_asked() -> None:
    views = [
        View("City Trust", CONTENT),
        View("County Council", {**CONTENT, "shares_objectives": "partly"}),
    ]
    result = combine(CHECK, PARTNER, PROPOSER_AGREES, views)
    (disagree,) = [f for f in result.flags if f.id == DISAGREE]
    assert disagree.reason == (
        "Views differ. Shares the objectives: City Trust yes · County Council some."
    )


def test_partner_criticals_count_towards_reconsider_but_one_problem_counts_once() -> None:
    both_none = {**PROPOSER_AGREES, "resources": "none"}
    one = combine(CHECK, PARTNER, both_none, [View("A", {**CONTENT, "resources": "none"})])
    # The same flag in two views is one critical flag in the tip, not two.
    assert one.verdict == PROCEED_WITH_CONDITIONS
    two_in_a_tip = View("A", {**CONTENT, "frontline": "no", "users_involved": "no"})
    assert combine(CHECK, PARTNER, PROPOSER_AGREES, [two_in_a_tip]).verdict == RECONSIDER


def test_a_less_formal_route_set_by_the_proposer_stays_the_verdict() -> None:
    answers = {**GOOD_ANSWERS, "lighter_route": "yes", "lighter_route_which": "network"}
    view = View("City Trust", {**CONTENT, "frontline": "no", "users_involved": "no"})
    assert combine(CHECK, PARTNER, answers, [view]).verdict == USE_LESS_FORMAL_ROUTE


def test_a_topic_must_name_a_choice_and_a_word_for_each_option() -> None:
    broken = _partner_text().replace(
        'stances = { yes = "yes", no = "no", not_sure = "not sure" }',
        'stances = { yes = "yes", no = "no" }',
    )
    with pytest.raises(FlowDefinitionError, match="stances needs a word for 'not_sure'"):
        parse_flow(broken, source="partner.toml")
    not_a_check_answer = _partner_text().replace(
        'check_answer = "senior_commitment"', 'check_answer = "seniors"'
    )
    with pytest.raises(FlowDefinitionError, match="check_answer 'seniors'"):
        check_topics(CHECK, parse_flow(not_a_check_answer, source="partner.toml"))


def _partner_text() -> str:
    return (resources.files("flows") / "definitions" / "partner.toml").read_text()


@st.composite
def partner_answers(draw: st.DrawFn) -> dict[str, Any]:
    return draw(check_answers(PARTNER))


@settings(max_examples=150)
@given(
    answers=check_answers(),
    views=st.lists(partner_answers(), max_size=3),
)
def test_combining_any_views_keeps_the_rules(
    answers: dict[str, Any], views: list[dict[str, Any]]
) -> None:
    named = [View(f"Partner {n}", view) for n, view in enumerate(views)]
    result = combine(CHECK, PARTNER, answers, named)
    own = assess(CHECK, answers)
    assert result.verdict in VERDICTS
    # The proposer's flags are all there, unchanged; every other flag says whose it is
    # or which topic the views differ on.
    assert [f for f in result.flags if f.view is None and f.id != DISAGREE] == own.flags
    for flag in result.flags:
        assert flag.reason and flag.condition
        assert flag.view is None or flag.id != DISAGREE
        if flag.basis != "answer" or flag.id == DISAGREE:
            assert flag.severity == "warning"
    assert len({f.key for f in result.flags}) == len(result.flags)
    # More views never make it less cautious.
    rank = {PROCEED: 0, PROCEED_WITH_CONDITIONS: 1, RECONSIDER: 2}
    if own.verdict in rank and result.verdict in rank:
        assert rank[result.verdict] >= rank[own.verdict]
    # Partners' honest unknowns and disagreements are warnings: they never make it
    # Reconsider on their own.
    if own.verdict != RECONSIDER and result.verdict == RECONSIDER:
        assert any(f.view is not None and f.severity == "critical" for f in result.flags)
