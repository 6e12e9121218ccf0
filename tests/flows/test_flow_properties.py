"""Property-based tests: whatever a person does or answers, the check stays consistent.

The conversation machine itself is in flows_conversation (the review uses it too).
Answer parsing is tested on the questions of every packaged flow; the assessment on any
answers the check can store, honest unknowns among them.
"""

from __future__ import annotations

import json
import string
from collections import Counter
from typing import Any

from flows_conversation import any_raw, conversation_machine, valid_raw
from flows_testkit import GOOD_ANSWERS, TODAY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import NOT_SURE, VERDICTS, AnswerError, Flow, FlowRun, Question, assess, load_flow
from flows.answers import parse_answer

FLOW = load_flow("check")
QUESTIONS = [*FLOW.questions, *load_flow("review").questions]

# Good answers to the questions GOOD_ANSWERS leaves out (they only apply to some checks).
DEFINITE_GOOD = {
    **GOOD_ANSWERS,
    "governance_review": "yes",
    "accountable_lead": "yes",
    "conflict_of_interest": "yes",
    "system_level": "no",
}

test_check_conversation = conversation_machine(FLOW).TestCase


# --- parsing ---------------------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(question=st.sampled_from(QUESTIONS), raw=any_raw)
def test_parsing_anything_gives_an_answer_or_a_reprompt(question: Question, raw: Any) -> None:
    try:
        values = parse_answer(question, raw, today=TODAY)
    except AnswerError as err:
        assert err.message and len(err.message) < 400
        return
    assert json.loads(json.dumps(values)) == values
    assert set(values) <= set(question.answer_ids)
    assert question.is_answered(values)


@settings(max_examples=200)
@given(data=st.data(), question=st.sampled_from(QUESTIONS))
def test_a_stored_answer_is_accepted_back_unchanged(
    data: st.DataObject, question: Question
) -> None:
    values = parse_answer(question, data.draw(valid_raw(question)), today=TODAY)
    stored = question.value_in(values)
    if stored is None:  # a skipped optional question: Skip again gives the same
        assert parse_answer(question, "skip", today=TODAY) == values
        return
    assert parse_answer(question, stored, today=TODAY) == values


# --- answers the check can store ----------------------------------------------------------

_item = st.text(alphabet=string.ascii_letters + " ", min_size=1, max_size=20).map(
    lambda text: " ".join(text.split()) or "x"
)


@st.composite
def stored_value(draw: st.DrawFn, question: Question) -> dict[str, Any]:
    """A value `question` could have stored (any option, Not sure among them)."""
    if question.type == "group":
        return {
            part.id: draw(st.sampled_from([option.value for option in part.options]))
            for part in question.parts
            if not part.optional or draw(st.booleans())
        }
    if question.type == "choice":
        value: Any = draw(st.sampled_from([option.value for option in question.options]))
    elif question.type == "multi_choice":
        options = [option.value for option in question.options]
        chosen = set(draw(st.lists(st.sampled_from(options), min_size=1)))
        value = [option for option in options if option in chosen]
    elif question.type == "list":
        low, high = question.min_items or 1, min(question.max_items or 12, 12)
        value = draw(st.lists(_item, min_size=low, max_size=high))
    elif question.type == "date":
        value = "2027-04-01"
    elif question.optional and draw(st.booleans()):
        value = None
    else:
        value = draw(_item)
    return {question.id: value}


@st.composite
def check_answers(draw: st.DrawFn, flow: Flow = FLOW) -> dict[str, Any]:
    """Complete answers to a check, drawn question by question as branching allows."""
    answers: dict[str, Any] = {}
    for question in flow.questions:
        if not question.applies(answers):
            continue
        answers.update(draw(stored_value(question)))
        if question.stops(answers):
            break
    return answers


@settings(max_examples=200)
@given(answers=check_answers())
def test_assess_never_raises_on_answers_the_check_can_store(answers: dict[str, Any]) -> None:
    result = assess(FLOW, answers)
    assert result.verdict in VERDICTS
    assert list(result.tip_status) == [tip.id for tip in FLOW.assessed_tips]
    assert result.not_sure == sum(1 for value in answers.values() if value == NOT_SURE)
    assert result.too_early == (result.not_sure >= 5)
    for flag in result.flags:
        assert flag.reason and flag.condition
        if flag.basis != "answer":
            assert flag.severity == "warning"


@settings(max_examples=100)
@given(answers=check_answers())
def test_a_run_at_the_summary_saved_under_another_version_keeps_every_answer(
    answers: dict[str, Any],
) -> None:
    old = {"flow": "check", "version": 1, "state": "summary", "history": [], "answers": answers}
    run = FlowRun(FLOW, {**old, "answers": {**answers, "partner_count": 3}}, today=TODAY)
    assert run.state == "summary"
    assert run.answers == answers
    assert run.migration is not None
    assert run.migration.dropped == ("partner_count",)
    assert (run.migration.kept, run.migration.to_answer) == (len(answers), ())
    saved = json.loads(json.dumps(run.snapshot()))
    assert FlowRun(FLOW, saved, today=TODAY).snapshot() == saved


# --- honest unknowns and the verdict ---------------------------------------------------------


def _with_not_sure_replaced(answers: dict[str, Any]) -> dict[str, Any]:
    """The same answers with every Not sure replaced by a good, definite answer."""
    definite = {k: DEFINITE_GOOD[k] if v == NOT_SURE else v for k, v in answers.items()}
    return FLOW.relevant_answers(definite)


@settings(max_examples=300)
@given(answers=check_answers())
def test_not_sure_never_makes_the_verdict_reconsider_by_itself(answers: dict[str, Any]) -> None:
    honest = assess(FLOW, answers)
    definite = assess(FLOW, _with_not_sure_replaced(answers))
    critical = {flag.id for flag in honest.flags if flag.severity == "critical"}
    assert critical == {flag.id for flag in definite.flags if flag.severity == "critical"}
    assert (honest.verdict == "Reconsider") == (definite.verdict == "Reconsider")
    # What Not sure added is warnings saying what to find out, nothing more.
    added = [flag for flag in honest.flags if flag not in definite.flags]
    assert all(flag.severity == "warning" for flag in added)
    assert all(flag.basis == NOT_SURE for flag in added if flag.id not in critical)


# The answer ids that offer Not sure in a check where every question applies.
NOT_SURE_ANSWERS = sorted(
    answer_id
    for answer_id in DEFINITE_GOOD
    if (question := FLOW.question_of(answer_id)) is not None
    and (
        question.offers(NOT_SURE)
        if not question.parts
        else any(
            o.value == NOT_SURE for p in question.parts if p.id == answer_id for o in p.options
        )
    )
)


@settings(max_examples=200)
@given(
    unsure=st.sets(st.sampled_from(NOT_SURE_ANSWERS)),
    form=st.sampled_from(["formal", "mou", "informal"]),
    private=st.booleans(),
)
def test_good_answers_and_any_not_sure_never_reconsider(
    unsure: set[str], form: str, private: bool
) -> None:
    kinds = ["nhs", "private"] if private else ["nhs"]
    answers = {**DEFINITE_GOOD, "form": form, "kinds": kinds}
    answers = FLOW.relevant_answers({**answers, **dict.fromkeys(unsure, NOT_SURE)})
    result = assess(FLOW, answers)
    assert result.criticals == 0
    assert result.verdict in ("Proceed", "Proceed with conditions")
    assert all(flag.severity == "warning" and flag.basis == NOT_SURE for flag in result.flags)
    assert result.to_find_out == result.flags
    assert result.not_sure == len(set(unsure) & set(answers))
    assert result.too_early == (result.not_sure >= 5)
    assert (result.verdict == "Proceed") == (not result.flags)


# Answers that raise each critical flag of the check (on a formal check with a private
# partner), and the tip each counts in.
CRITICALS = {
    "no-governance": ("selective", {"governance_review": "no"}),
    "conflict-of-interest": ("selective", {"conflict_of_interest": "no"}),
    "not-user-outcomes": ("outcomes", {"user_outcomes": "no"}),
    "no-resources": ("realistic", {"resources": "none"}),
    "no-exit": ("flexible", {"exit_arrangements": "no"}),
    "frontline-not-engaged": ("engaged", {"frontline": "once_running"}),
    "users-not-engaged": ("engaged", {"users_involved": "no"}),
}
WARNINGS = {
    "costs-unknown": {"costs": "time_only"},
    "many-partners": {"organisations": [f"Org {n}" for n in range(9)]},
    "no-measure": {"measures": "some"},
    "no-baseline": {"baseline": "in_progress"},
    "no-evaluation": {"evaluation": "unfunded"},
    "no-milestones": {"milestones": "not_sure"},
    "no-senior-commitment": {"senior_commitment": "some"},
    "no-review": {"review_cadence": "not_decided"},
    "no-coordinator": {"coordinator": "named"},
}


@settings(max_examples=200)
@given(
    criticals=st.sets(st.sampled_from(sorted(CRITICALS))),
    warnings=st.sets(st.sampled_from(sorted(WARNINGS))),
)
def test_verdict_rule_three_criticals_or_two_in_one_tip(
    criticals: set[str], warnings: set[str]
) -> None:
    answers = {**DEFINITE_GOOD, "form": "formal", "kinds": ["nhs", "private"]}
    for flag_id in warnings:
        answers.update(WARNINGS[flag_id])
    for flag_id in criticals:
        answers.update(CRITICALS[flag_id][1])
    result = assess(FLOW, answers)
    assert {flag.id for flag in result.flags if flag.severity == "critical"} == criticals
    assert {flag.id for flag in result.flags if flag.severity == "warning"} == warnings
    per_tip = Counter(CRITICALS[flag_id][0] for flag_id in criticals)
    if len(criticals) >= 3 or any(n >= 2 for n in per_tip.values()):
        assert result.verdict == "Reconsider"
    elif criticals or warnings:
        assert result.verdict == "Proceed with conditions"
    else:
        assert result.verdict == "Proceed"
