"""The packaged review flow (DOMAIN.md, Reviews): definition, branching, flags, no verdict."""

from __future__ import annotations

import re

import pytest
from flows_conversation import conversation_machine
from flows_testkit import TODAY, run_to_summary

from flows import NOT_SURE, Assessment, Flow, FlowDefinitionError, FlowRun, assess, load_flow
from flows.conditions import Compare, parse_condition
from flows.definition import parse_flow

TIPS = [
    ("value", "Value for cost", True),
    ("progress", "Progress on outcomes", True),
    ("context", "Changes in context", True),
    ("engagement", "Still engaged", True),
    ("decision", "Decision", False),
]

QUESTIONS = {
    "value_for_cost": ("value", "choice"),
    "time_and_money": ("value", "long_text"),
    "separate_better": ("value", "choice"),
    "outcomes_progress": ("progress", "choice"),
    "milestones_met": ("progress", "choice"),
    "progress_notes": ("progress", "long_text"),
    "context_changes": ("context", "multi_choice"),
    "context_notes": ("context", "long_text"),
    "frontline_still": ("engagement", "choice"),
    "users_still": ("engagement", "choice"),
    "decision": ("decision", "choice"),
    "adapt_what": ("decision", "multi_choice"),
    "decision_notes": ("decision", "long_text"),
}

FLAGS = {
    "cost-outweighs-benefit": ("value", "critical"),
    "separate-better": ("value", "critical"),
    "no-progress": ("progress", "critical"),
    "milestones-missed": ("progress", "warning"),
    "context-changed": ("context", "warning"),
    "frontline-dropped": ("engagement", "critical"),
    "users-dropped": ("engagement", "critical"),
}


@pytest.fixture(scope="module")
def review() -> Flow:
    return load_flow("review")


def assessed(flow: Flow, **overrides: object) -> Assessment:
    return assess(flow, run_to_summary(flow, **overrides).answers)


def raised(flow: Flow, **overrides: object) -> dict[str, str]:
    return {flag.id: flag.severity for flag in assessed(flow, **overrides).flags}


def asked(flow: Flow, **overrides: object) -> list[str]:
    return list(run_to_summary(flow, **overrides).answers)


# --- the definition ------------------------------------------------------------------------


class TestPackagedReview:
    def test_metadata(self, review: Flow) -> None:
        assert (review.id, review.title, review.version) == ("review", "Partnership review", 2)
        assert review.has_verdict is False
        assert review.too_early_at is None
        assert load_flow("check").has_verdict is True

    def test_sections_in_order_with_short_help(self, review: Flow) -> None:
        assert [(tip.id, tip.title, tip.assessed) for tip in review.tips] == TIPS
        for tip in review.tips:
            sentences = re.findall(r"[.?!](?:\s|$)", tip.help)
            assert 1 <= len(sentences) <= 5, tip.id

    def test_questions_under_their_sections(self, review: Flow) -> None:
        assert {q.id: (q.tip, q.type) for q in review.questions} == QUESTIONS
        assert [q.id for q in review.questions] == list(QUESTIONS)

    def test_options(self, review: Flow) -> None:
        values = {q.id: [o.value for o in q.options] for q in review.questions if q.options}
        assert values == {
            "value_for_cost": ["benefit_outweighs", "balanced", "cost_outweighs", "not_sure"],
            "separate_better": ["yes", "no", "not_sure"],
            "outcomes_progress": ["on_track", "some", "none", "not_sure"],
            "milestones_met": ["yes", "partly", "no", "not_sure"],
            "context_changes": ["partners", "funding", "policy", "leadership", "none"],
            "frontline_still": ["yes", "no", "not_sure"],
            "users_still": ["yes", "no", "not_sure"],
            "decision": ["continue", "adapt", "end"],
            "adapt_what": ["scope", "form", "partners"],
        }
        labels = [o.label for o in review.question("decision").options]
        assert labels == [
            "Continue as it is",
            "Adapt it (scope, form or partners)",
            "End it, following the exit arrangements",
        ]
        assert review.question("context_changes").option("none").label == "Nothing significant"

    def test_branching(self, review: Flow) -> None:
        branches = {q.id: q.ask_when for q in review.questions if q.ask_when is not None}
        assert branches == {
            "context_notes": Compare("context_changes", "contains_other_than", "none"),
            "adapt_what": Compare("decision", "equals", "adapt"),
        }

    def test_flags(self, review: Flow) -> None:
        assert {
            rule.id: (rule.tip, *{case.severity for case in rule.cases}) for rule in review.flags
        } == FLAGS
        for rule in review.flags:
            (case,) = rule.cases
            assert case.wording.reason and case.wording.condition, rule.id
            assert rule.sets_verdict is None and rule.in_progress is None, rule.id
            # Every flag but the one on a multi_choice answer has words for Not sure.
            assert (rule.unsure is None) == (rule.id == "context-changed"), rule.id
        changed = next(rule for rule in review.flags if rule.id == "context-changed")
        assert changed.cases[0].wording.condition == "Re-run the tips the change affects."

    def test_the_decision_is_asked_last_and_not_assessed(self, review: Flow) -> None:
        assert review.questions[-1].tip == "decision"
        assert all(rule.tip != "decision" for rule in review.flags)


# --- branching in a run --------------------------------------------------------------------


ALL_BUT_BRANCHES = [q for q in QUESTIONS if q not in ("context_notes", "adapt_what")]


@pytest.mark.parametrize("decision", ["continue", "end"])
def test_adapt_what_is_only_asked_when_adapting(review: Flow, decision: str) -> None:
    assert asked(review, decision=decision) == ALL_BUT_BRANCHES


def test_adapting_asks_what_changes(review: Flow) -> None:
    run = run_to_summary(review, decision="Adapt it (scope, form or partners)", adapt_what="form")
    assert run.answers["decision"] == "adapt"
    assert run.answers["adapt_what"] == ["form"]
    assert list(run.answers)[-3:] == ["decision", "adapt_what", "decision_notes"]


def test_changing_the_decision_drops_what_to_adapt(review: Flow) -> None:
    run = run_to_summary(review, decision="adapt", adapt_what=["scope", "partners"])
    run.revise("decision")
    run.answer("continue")
    assert run.state == "summary"
    assert "adapt_what" not in run.answers


def test_changing_the_decision_to_adapt_asks_what(review: Flow) -> None:
    run = run_to_summary(review)
    run.revise("decision")
    run.answer("adapt")
    assert run.state == "adapt_what"


@pytest.mark.parametrize(
    ("changes", "notes_asked"),
    [
        (["none"], False),
        ("Nothing significant", False),
        (["funding"], True),
        ("Partners joined or left, leadership", True),
        (["funding", "none"], True),  # contradictory, but a real change was ticked
    ],
)
def test_context_notes_skipped_only_when_nothing_changed(
    review: Flow, changes: object, notes_asked: bool
) -> None:
    assert ("context_notes" in asked(review, context_changes=changes)) is notes_asked


def test_progress_counts_the_branches_that_apply(review: Flow) -> None:
    run = FlowRun(review, today=TODAY)
    assert run.progress == (1, 11)
    for reply in ["balanced", "A day a week", "no", "some", "partly", "Flat", "leadership, policy"]:
        run.answer(reply)
    assert run.state == "context_notes"
    assert run.progress == (8, 12)


# --- flags -----------------------------------------------------------------------------------

RAISING = [
    ("cost-outweighs-benefit", {"value_for_cost": "cost_outweighs"}, "critical"),
    ("separate-better", {"separate_better": "yes"}, "critical"),
    ("no-progress", {"outcomes_progress": "none"}, "critical"),
    ("milestones-missed", {"milestones_met": "no"}, "warning"),
    ("context-changed", {"context_changes": ["partners"]}, "warning"),
    ("context-changed", {"context_changes": ["funding", "policy", "leadership"]}, "warning"),
    ("frontline-dropped", {"frontline_still": "no"}, "critical"),
    ("users-dropped", {"users_still": "no"}, "critical"),
]

NOT_RAISING = [
    ("cost-outweighs-benefit", {"value_for_cost": "balanced"}),
    ("separate-better", {"separate_better": "no"}),
    ("no-progress", {"outcomes_progress": "some"}),
    ("milestones-missed", {"milestones_met": "partly"}),
    ("context-changed", {"context_changes": ["none"]}),
]


@pytest.mark.parametrize(("flag_id", "replies", "severity"), RAISING)
def test_each_review_flag_is_raised(
    review: Flow, flag_id: str, replies: dict, severity: str
) -> None:
    assert raised(review, **replies) == {flag_id: severity}


def test_every_review_flag_has_a_raising_case(review: Flow) -> None:
    assert {flag_id for flag_id, _, _ in RAISING} == set(FLAGS)


@pytest.mark.parametrize(("flag_id", "replies"), NOT_RAISING)
def test_review_flag_is_not_raised_near_its_threshold(
    review: Flow, flag_id: str, replies: dict
) -> None:
    assert flag_id not in raised(review, **replies)


@pytest.mark.parametrize("decision", ["continue", "adapt", "end"])
def test_the_decision_raises_no_flag(review: Flow, decision: str) -> None:
    assert raised(review, decision=decision) == {}


def test_a_good_review_raises_nothing_and_has_no_verdict(review: Flow) -> None:
    result = assessed(review)
    assert result == Assessment(
        verdict=None,
        flags=[],
        tip_status={
            "value": "green",
            "progress": "green",
            "context": "green",
            "engagement": "green",
        },
        not_sure=0,
        too_early=False,
    )


def test_no_verdict_however_bad(review: Flow) -> None:
    worst = {
        "value_for_cost": "cost_outweighs",
        "separate_better": "yes",
        "outcomes_progress": "none",
        "milestones_met": "no",
        "context_changes": "funding",
        "frontline_still": "no",
        "users_still": "no",
        "decision": "end",
    }
    result = assessed(review, **worst)
    assert result.verdict is None
    assert [flag.id for flag in result.flags] == list(FLAGS)  # in section order
    assert result.tip_status == {
        "value": "red",
        "progress": "red",
        "context": "amber",
        "engagement": "red",
    }
    assert assess(review, {}).verdict is None


def test_raised_review_flag_names_its_section(review: Flow) -> None:
    (flag,) = assessed(review, users_still="no").flags
    assert (flag.tip, flag.tip_title) == ("engagement", "Still engaged")
    assert flag.reason == "Patients, carers or the community are no longer involved."


def test_tip_status_covers_the_assessed_sections_only(review: Flow) -> None:
    result = assessed(review, milestones_met="no", separate_better="not sure")
    assert result.tip_status == {
        "value": "amber",
        "progress": "amber",
        "context": "green",
        "engagement": "green",
    }


def test_a_stale_context_change_cannot_raise_a_flag(review: Flow) -> None:
    answers = {**run_to_summary(review).answers, "context_changes": "funding"}  # not a list
    assert assess(review, answers).flags == []


# --- honest unknowns ---------------------------------------------------------------------------

UNSURE = [
    ("cost-outweighs-benefit", "value_for_cost"),
    ("separate-better", "separate_better"),
    ("no-progress", "outcomes_progress"),
    ("milestones-missed", "milestones_met"),
    ("frontline-dropped", "frontline_still"),
    ("users-dropped", "users_still"),
]


def test_every_choice_a_review_flag_reads_offers_not_sure(review: Flow) -> None:
    read = {answer_id for rule in review.flags for answer_id in rule.questions()}
    choices = {answer_id for answer_id in read if review.question(answer_id).type == "choice"}
    assert choices == {question_id for _, question_id in UNSURE}
    for question_id in choices:
        assert review.question(question_id).offers(NOT_SURE), question_id
    # The one multi_choice answer ("what changed") is a list: it cannot be unknown.
    assert read - choices == {"context_changes"}


@pytest.mark.parametrize(("flag_id", "question_id"), UNSURE)
def test_not_sure_raises_a_warning_saying_what_to_find_out(
    review: Flow, flag_id: str, question_id: str
) -> None:
    result = assessed(review, **{question_id: "not sure"})
    (flag,) = result.flags
    rule = next(rule for rule in review.flags if rule.id == flag_id)
    assert (flag.id, flag.severity, flag.basis) == (flag_id, "warning", "not_sure")
    assert (flag.reason, flag.condition) == (rule.unsure.reason, rule.unsure.condition)  # type: ignore[union-attr]
    assert flag.reason.startswith("Not known yet:")
    assert result.to_find_out == [flag]
    assert result.verdict is None


def test_working_separately_unsure_is_now_the_flags_own_words(review: Flow) -> None:
    (flag,) = assessed(review, separate_better="not_sure").flags
    assert flag.id == "separate-better"
    assert flag.reason == "Not known yet: whether working together still beats working separately."


def test_a_review_is_never_too_early(review: Flow) -> None:
    result = assessed(review, **dict.fromkeys((q for _, q in UNSURE), "not_sure"))
    assert result.not_sure == 6
    assert not result.too_early
    assert result.criticals == 0 and result.warnings == 6
    assert set(result.tip_status.values()) == {"amber", "green"}


def test_a_review_saved_under_version_1_carries_over(review: Flow) -> None:
    old = {
        "flow": "review",
        "version": 1,
        "state": "outcomes_progress",
        "answers": {
            "value_for_cost": "balanced",
            "time_and_money": "A day a week",
            "separate_better": "unsure",  # now "not_sure"
        },
        "history": ["value_for_cost", "time_and_money", "separate_better"],
        "revision_backup": None,
    }
    run = FlowRun(review, old, today=TODAY)
    assert run.answers == {"value_for_cost": "balanced", "time_and_money": "A day a week"}
    assert run.state == "separate_better"
    assert run.migration is not None
    assert run.migration.dropped == ("separate_better",)
    assert not run.migration.same_place
    run.answer("not sure")
    assert run.state == "outcomes_progress"


# --- the definition format: flows without a verdict, contains_other_than ---------------------


def test_contains_other_than() -> None:
    condition = parse_condition({"question": "changes", "contains_other_than": "none"})
    assert condition.evaluate({"changes": ["funding"]})
    assert condition.evaluate({"changes": ["none", "policy"]})
    assert not condition.evaluate({"changes": ["none"]})
    assert not condition.evaluate({"changes": []})
    assert not condition.evaluate({"changes": "funding"})  # not a list: never fires
    assert not condition.evaluate({})


NO_VERDICT = """
[flow]
id = "tiny"
title = "Tiny"
version = 1
verdict = {verdict}
[[tips]]
id = "first"
title = "First"
help = "One."
[[questions]]
id = "kind"
tip = "first"
type = "{qtype}"
text = "Kind?"
options = [{{ value = "a", label = "A" }}, {{ value = "none", label = "None" }}]
[[flags]]
id = "some"
tip = "first"
severity = "warning"
when = {{ question = "kind", contains_other_than = "none" }}
reason = "R"
condition = "C"
{extra}
"""


def tiny(verdict: str = "false", qtype: str = "multi_choice", extra: str = "") -> Flow:
    return parse_flow(NO_VERDICT.format(verdict=verdict, qtype=qtype, extra=extra), source="t")


def test_a_flow_without_a_verdict() -> None:
    flow = tiny()
    assert not flow.has_verdict
    assert assess(flow, {"kind": ["a"]}).verdict is None
    assert [flag.id for flag in assess(flow, {"kind": ["a"]}).flags] == ["some"]


def test_verdict_defaults_to_true() -> None:
    flow = tiny(verdict="true")
    assert flow.has_verdict
    assert assess(flow, {"kind": ["a"]}).verdict == "Proceed with conditions"
    assert assess(flow, {"kind": ["none"]}).verdict == "Proceed"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"verdict": '"no"'}, "t: [flow]: 'verdict' must be true or false"),
        (
            {"extra": 'sets_verdict = "Reconsider"'},
            "t: flag 'some': no sets_verdict here: the flow has [flow] verdict = false",
        ),
        (
            {"qtype": "choice"},
            "'contains_other_than' needs a multi_choice question; 'kind' is choice",
        ),
    ],
)
def test_invalid_no_verdict_definitions(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(FlowDefinitionError) as raised_error:
        tiny(**kwargs)
    assert message in str(raised_error.value)


def test_multi_choice_labels_cannot_hold_a_separator() -> None:
    # "Its form (formal, memorandum, informal)" once broke typed answers this way.
    text = NO_VERDICT.format(verdict="false", qtype="multi_choice", extra="")
    with pytest.raises(FlowDefinitionError, match=r"label 'A, or B' .* cannot contain ','"):
        parse_flow(text.replace('label = "A"', 'label = "A, or B"'), source="t")


def test_multi_choice_comparisons_name_both_list_operators() -> None:
    text = NO_VERDICT.format(verdict="false", qtype="multi_choice", extra="")
    with pytest.raises(FlowDefinitionError, match="use 'contains' or 'contains_other_than'"):
        parse_flow(text.replace("contains_other_than", "equals"), source="t")


# --- a person doing anything at all ----------------------------------------------------------

test_review_conversation = conversation_machine(load_flow("review")).TestCase
