"""FlowRun: moving through the check, branching, the early stop, lists that take several
messages, back, change an answer, cancel, saving, and carrying runs over to a new version."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flows_testkit import (
    GOOD_ANSWERS,
    TODAY,
    V1_ANSWERS,
    answer_until,
    asked,
    give,
    reply_to,
    run_to_summary,
)

from flows import AnswerError, Flow, FlowError, FlowRun, Migration, assess, load_flow
from flows.errors import FlowsError


def start(flow: Flow) -> FlowRun:
    return FlowRun(flow, today=TODAY)


def at(flow: Flow, question_id: str, **overrides: object) -> FlowRun:
    run = start(flow)
    answer_until(run, question_id, **overrides)
    return run


def earlier_reply(question: Any, answers: dict[str, Any]) -> Any:
    """What a person gives to keep their earlier answer: the value, or a group's parts."""
    return question.value_in(answers)


class TestForward:
    def test_starts_at_the_first_question(self, flow: Flow) -> None:
        run = start(flow)
        assert run.state == "name"
        assert run.current is flow.question("name")
        assert run.answers == {}
        assert run.pending == []
        assert run.migration is None
        assert not run.can_go_back
        assert not run.is_finished

    def test_answer_stores_and_advances(self, flow: Flow) -> None:
        run = start(flow)
        run.answer("  Discharge team ")
        assert run.state == "organisations"
        assert run.answers == {"name": "Discharge team"}
        assert run.can_go_back

    def test_last_answer_goes_to_summary(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        assert run.state == "summary"
        assert run.current is None
        assert run.answers == GOOD_ANSWERS

    def test_a_group_stores_each_part(self, flow: Flow) -> None:
        run = at(flow, "timing")
        run.answer("not sure; 12 to 24 months")
        assert run.state == "commitment"
        assert run.answers["first_result"] == "not_sure"
        assert run.answers["full_benefit"] == "months_12_to_24"
        assert "timing" not in run.answers

    def test_invalid_answer_changes_nothing(self, flow: Flow) -> None:
        run = at(flow, "organisations")
        before = run.snapshot()
        with pytest.raises(AnswerError, match=r"That's 1; please give at least 2"):
            run.answer("Northshire NHS Trust")
        assert run.snapshot() == before

    def test_answers_is_a_copy(self, flow: Flow) -> None:
        run = at(flow, "problem")
        run.answers["kinds"].append("police")
        run.answers.clear()
        assert run.answers["kinds"] == ["nhs", "social_care", "housing"]

    def test_an_optional_question_can_be_skipped(self, flow: Flow) -> None:
        run = at(flow, "added_value")
        run.answer("Skip")
        assert run.state == "form"
        assert run.answers["added_value"] is None
        run.back()
        assert run.state == "added_value"
        run.answer("One team from ward to home")
        assert run.answers["added_value"] == "One team from ward to home"


class TestBranching:
    @pytest.mark.parametrize(
        ("kinds", "asked_about_conflicts"),
        [
            (["nhs"], False),
            (["nhs", "private"], True),
            (["independent_care"], True),
            (["voluntary", "community"], False),
        ],
    )
    def test_conflicts_of_interest_only_with_a_private_partner(
        self, flow: Flow, kinds: list[str], asked_about_conflicts: bool
    ) -> None:
        seen = asked(flow, kinds=kinds)
        assert ("conflict_of_interest" in seen) is asked_about_conflicts
        if asked_about_conflicts:
            assert seen.index("conflict_of_interest") == seen.index("objectives") - 1

    def test_governance_only_for_formal(self, flow: Flow) -> None:
        for form in ("mou", "informal"):
            assert "governance" not in asked(flow, form=form)
        formal = asked(flow, form="formal")
        position = formal.index("form")
        assert formal[position + 1 : position + 3] == ["governance", "costs"]

    @pytest.mark.parametrize(
        ("full_benefit", "asked_if_whole_system"),
        [
            ("within_6_months", True),
            ("months_6_to_12", True),
            ("not_sure", True),
            ("months_12_to_24", False),
            ("over_24_months", False),
        ],
    )
    def test_whole_system_only_when_the_benefit_may_come_within_a_year(
        self, flow: Flow, full_benefit: str, asked_if_whole_system: bool
    ) -> None:
        assert ("system_level" in asked(flow, full_benefit=full_benefit)) is asked_if_whole_system

    def test_all_questions_when_every_branch_applies(self, flow: Flow) -> None:
        seen = asked(flow, form="formal", kinds="private", full_benefit="within_6_months")
        assert seen == [q.id for q in flow.questions if q.id != "lighter_route_which"]

    def test_stale_answers_are_dropped(self, flow: Flow) -> None:
        run = at(flow, "objectives", form="formal", kinds=["private"])
        assert run.answers["governance_review"] == "yes"
        for _ in range(4):  # back to form, through the questions formal added
            run.back()
        assert run.state == "form"
        run.answer("informal")
        assert run.state == "costs"
        assert "governance_review" not in run.answers
        assert "accountable_lead" not in run.answers
        assert run.answers["conflict_of_interest"] == "yes"  # still applies


class TestEarlyStop:
    def test_a_less_formal_route_ends_the_check(self, flow: Flow) -> None:
        run = at(flow, "lighter_route")
        run.answer("yes")
        assert run.state == "lighter_route_which"
        assert run.progress == (6, 6)
        run.answer("A network")
        assert run.state == "summary"
        assert run.answers["lighter_route_which"] == "network"
        assert assess(flow, run.answers).verdict == "Use a less formal route"

    def test_back_from_the_stop_and_a_no_carries_on(self, flow: Flow) -> None:
        run = run_to_summary(flow, lighter_route="yes")
        run.back()
        assert run.state == "lighter_route_which"
        run.back()
        assert run.state == "lighter_route"
        run.answer("no")
        assert run.state == "added_value"
        assert "lighter_route_which" not in run.answers

    def test_changing_yes_to_no_asks_the_rest(self, flow: Flow) -> None:
        run = run_to_summary(flow, lighter_route="yes")
        stopped = run.answers
        run.revise("lighter_route")
        run.answer("no")
        seen = []
        while run.current is not None:
            seen.append(run.current.id)
            give(run, reply_to(run.current, GOOD_ANSWERS | {"objectives": "One"}))
        assert seen == asked(flow)[5:]
        assert run.answers["lighter_route"] == "no"
        assert "lighter_route_which" not in run.answers
        assert assess(flow, run.answers).verdict == "Proceed"
        assert stopped != run.answers

    def test_changing_no_to_yes_stops_again(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        run.revise("lighter_route")
        run.answer("yes")
        assert run.state == "lighter_route_which"
        run.answer("one_agency")
        assert run.state == "summary"
        assert list(run.answers)[-2:] == ["lighter_route", "lighter_route_which"]
        assert "form" not in run.answers

    def test_backing_out_of_the_change_restores_the_full_check(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        run.revise("lighter_route")
        run.answer("yes")
        run.back()
        run.back()
        assert run.state == "summary"
        assert run.answers == GOOD_ANSWERS


class TestOpenList:
    """Objectives come as lines, semicolons or several messages, until three or Done."""

    def test_three_messages_make_three_objectives_in_order(self, flow: Flow) -> None:
        run = at(flow, "objectives")
        run.answer("Cut delayed discharges")
        assert (run.state, run.pending) == ("objectives", ["Cut delayed discharges"])
        run.answer("Fewer readmissions")
        assert run.pending == ["Cut delayed discharges", "Fewer readmissions"]
        assert "objectives" not in run.answers
        run.answer("Shorter waits for care at home")
        assert run.state == "user_outcomes"
        assert run.pending == []
        assert run.answers["objectives"] == [
            "Cut delayed discharges",
            "Fewer readmissions",
            "Shorter waits for care at home",
        ]

    @pytest.mark.parametrize(
        "message",
        [
            "One\nTwo\nThree",
            "One; Two; Three",
            "- One\n- Two\n- Three",
            "• One\n• Two\n• Three",
            "1. One\n2. Two\n3. Three",
        ],
    )
    def test_lines_semicolons_and_bullets_in_one_message(self, flow: Flow, message: str) -> None:
        run = at(flow, "objectives")
        run.answer(message)
        assert run.state == "user_outcomes"
        assert run.answers["objectives"] == ["One", "Two", "Three"]

    def test_items_add_up_across_messages(self, flow: Flow) -> None:
        run = at(flow, "objectives")
        run.answer("- One\n- Two")
        run.answer("3. Three")
        assert run.answers["objectives"] == ["One", "Two", "Three"]

    def test_a_fourth_is_refused_and_the_earlier_ones_kept(self, flow: Flow) -> None:
        run = at(flow, "objectives")
        run.answer("One")
        run.answer("Two")
        before = run.snapshot()
        with pytest.raises(AnswerError) as refused:
            run.answer("Three\nFour")
        assert refused.value.message == (
            "That makes 4; please keep to at most 3. I still have the 2 you sent before."
        )
        assert run.snapshot() == before
        assert run.pending == ["One", "Two"]
        run.answer("Three")
        assert run.answers["objectives"] == ["One", "Two", "Three"]

    def test_four_at_once_is_refused(self, flow: Flow) -> None:
        run = at(flow, "objectives")
        with pytest.raises(AnswerError) as refused:
            run.answer("a\nb\nc\nd")
        assert refused.value.message == "That makes 4; please keep to at most 3."
        assert (run.state, run.pending) == ("objectives", [])

    def test_done_closes_the_list(self, flow: Flow) -> None:
        run = at(flow, "objectives")
        run.answer("Only one")
        run.done()
        assert run.state == "user_outcomes"
        assert run.answers["objectives"] == ["Only one"]
        run.back()
        assert (run.state, run.pending) == ("objectives", [])

    def test_done_with_none_is_refused(self, flow: Flow) -> None:
        run = at(flow, "objectives")
        before = run.snapshot()
        with pytest.raises(AnswerError, match="Please type at least one"):
            run.done()
        assert run.snapshot() == before

    def test_an_empty_message_is_refused_when_there_is_nothing_yet(self, flow: Flow) -> None:
        run = at(flow, "objectives")
        with pytest.raises(AnswerError, match="Please type at least one"):
            run.answer(" - ")
        with pytest.raises(AnswerError, match="Please name what you know so far"):
            run.answer("not sure")
        assert run.pending == []

    def test_done_only_on_an_open_list(self, flow: Flow) -> None:
        for run in (at(flow, "organisations"), run_to_summary(flow)):
            with pytest.raises(FlowError, match=r"There is no list to close here\."):
                run.done()

    def test_back_lets_go_of_the_items_not_closed(self, flow: Flow) -> None:
        run = at(flow, "objectives")
        run.answer("One")
        run.answer("Two")
        run.back()
        assert run.state == "costs"
        assert run.pending == []
        run.answer("both")
        assert (run.state, run.pending) == ("objectives", [])
        assert "objectives" not in run.answers

    def test_a_list_is_a_whole_answer(self, flow: Flow) -> None:
        # e.g. "Keep this answer", which sends the stored items back
        run = at(flow, "objectives")
        run.answer("Something typed first")
        run.answer(["Kept one", "Kept two"])
        assert run.state == "user_outcomes"
        assert run.answers["objectives"] == ["Kept one", "Kept two"]

    def test_done_after_back_keeps_the_earlier_answer(self, flow: Flow) -> None:
        run = at(flow, "user_outcomes", objectives="One\nTwo")
        run.back()
        assert run.state == "objectives"
        run.done()
        assert run.state == "user_outcomes"
        assert run.answers["objectives"] == ["One", "Two"]

    def test_changing_the_objectives_from_the_summary(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        run.revise("objectives")
        run.answer("New one")
        assert run.state == "objectives"
        run.done()
        assert run.state == "summary"
        assert run.answers["objectives"] == ["New one"]

    def test_pending_items_are_saved(self, flow: Flow) -> None:
        run = at(flow, "objectives")
        run.answer("One")
        saved = json.loads(json.dumps(run.snapshot()))
        assert saved["pending"] == ["One"]
        restored = FlowRun(flow, saved, today=TODAY)
        assert restored.pending == ["One"]
        restored.answer("Two\nThree")
        assert restored.answers["objectives"] == ["One", "Two", "Three"]

    def test_cancelling_lets_go_of_the_items(self, flow: Flow) -> None:
        run = at(flow, "objectives")
        run.answer("One")
        run.cancel()
        assert run.state == "cancelled"
        assert run.pending == []


class TestBack:
    def test_nothing_to_go_back_to(self, flow: Flow) -> None:
        run = start(flow)
        with pytest.raises(FlowError, match="nothing to go back to"):
            run.back()
        assert run.state == "name"

    def test_back_keeps_the_answer_to_show_again(self, flow: Flow) -> None:
        run = start(flow)
        run.answer("Discharge team")
        run.back()
        assert run.state == "name"
        assert run.answers == {"name": "Discharge team"}
        run.answer("Discharge hub")
        assert run.answers == {"name": "Discharge hub"}
        assert run.state == "organisations"

    def test_back_skips_questions_branching_skipped(self, flow: Flow) -> None:
        run = at(flow, "objectives", form="mou")
        run.back()
        assert run.state == "costs"  # not conflict_of_interest
        run.back()
        assert run.state == "form"  # not governance
        run.back()
        assert run.state == "added_value"

    def test_back_through_branched_questions_that_were_asked(self, flow: Flow) -> None:
        run = at(flow, "objectives", form="formal", kinds=["private"])
        trail = []
        for _ in range(4):
            run.back()
            trail.append(run.state)
        assert trail == ["conflict_of_interest", "costs", "governance", "form"]

    def test_from_summary_to_the_last_question(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        run.back()
        assert run.state == "coordinator"
        run.answer("protected")
        assert run.state == "summary"

    def test_all_the_way_back(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        steps = 0
        while run.can_go_back:
            run.back()
            steps += 1
        assert run.state == "name"
        assert steps == len(asked(flow))


class TestRevise:
    def test_only_from_the_summary(self, flow: Flow) -> None:
        run = at(flow, "problem")
        with pytest.raises(FlowError, match="only be changed from the summary"):
            run.revise("name")
        assert run.state == "problem"

    def test_unknown_or_inapplicable_question(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        with pytest.raises(FlowError, match="no question 'nmae'"):
            run.revise("nmae")
        with pytest.raises(FlowError, match="'governance' does not apply"):
            run.revise("governance")
        with pytest.raises(FlowError, match="no question 'frontline'"):
            run.revise("frontline")  # a part: change its group
        assert run.state == "summary"

    def test_change_then_straight_back_to_summary(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        run.revise("name")
        assert run.state == "name"
        assert run.is_revising
        assert run.can_go_back
        run.answer("Discharge hub")
        assert run.state == "summary"
        assert not run.is_revising
        assert run.answers["name"] == "Discharge hub"

    def test_change_a_group(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        run.revise("involvement")
        run.answer(
            {"frontline": "before_design", "users_involved": "already", "users_how": "board"}
        )
        assert run.state == "summary"
        assert run.answers["frontline"] == "before_design"
        assert run.answers["users_how"] == "board"

    def test_a_group_answer_replaces_all_its_parts(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        assert run.answers["users_how"] == "co_design"
        run.revise("involvement")
        run.answer({"frontline": "already", "users_involved": "no"})
        assert run.answers["users_involved"] == "no"
        assert "users_how" not in run.answers

    def test_change_asks_newly_relevant_questions(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        run.revise("form")
        run.answer("formal")
        assert run.state == "governance"
        run.answer("no; yes")
        assert run.state == "summary"
        assert run.answers["governance_review"] == "no"

    def test_change_drops_answers_that_no_longer_apply(self, flow: Flow) -> None:
        run = run_to_summary(flow, form="formal")
        run.revise("form")
        run.answer("mou")
        assert run.state == "summary"
        assert "governance_review" not in run.answers

    def test_back_out_of_a_change_restores_the_answers(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        before = run.answers
        run.revise("form")
        run.answer("formal")
        assert run.state == "governance"
        run.back()
        assert run.state == "form"
        assert run.answers["form"] == "formal"
        run.back()
        assert run.state == "summary"
        assert run.answers == before
        assert not run.is_revising

    def test_back_from_summary_after_a_change(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        run.revise("name")
        run.answer("Discharge hub")
        run.back()
        assert run.state == "coordinator"


class TestEnding:
    def test_finish_only_from_summary(self, flow: Flow) -> None:
        run = start(flow)
        with pytest.raises(FlowError, match="Cannot finish from 'name'"):
            run.finish()
        run = run_to_summary(flow)
        run.finish()
        assert run.state == "done"
        assert run.is_finished
        assert not run.can_go_back

    @pytest.mark.parametrize("where", ["name", "objectives", "coordinator", "summary"])
    def test_cancel_from_anywhere_unfinished(self, flow: Flow, where: str) -> None:
        run = at(flow, where)
        run.cancel()
        assert run.state == "cancelled"
        assert run.is_finished
        assert run.current is None

    def test_nothing_moves_once_finished(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        run.finish()
        before = run.snapshot()
        for step in (run.cancel, run.finish, run.back, run.done, lambda: run.answer("yes")):
            with pytest.raises(FlowError):
                step()
        with pytest.raises(FlowError):
            run.revise("name")
        assert run.snapshot() == before

    def test_errors_share_a_base_class(self, flow: Flow) -> None:
        assert issubclass(FlowError, FlowsError)
        assert issubclass(AnswerError, FlowsError)


class TestSuggestion:
    """The first review date is suggested from how often it will be reviewed."""

    @pytest.mark.parametrize(
        ("replies", "suggested"),
        [
            ({"review_cadence": "quarterly"}, "2027-04-04"),
            ({"review_cadence": "six_monthly"}, "2027-07-04"),
            ({"review_cadence": "annual"}, "2028-01-04"),
            ({"review_cadence": "not_decided", "form": "formal"}, "2027-04-04"),
            ({"review_cadence": "not_decided", "form": "mou"}, "2027-07-04"),
            (
                {"review_cadence": "not_decided", "form": "informal"},  # benefit in 12-24 months
                "2029-01-03",  # 24 months is past the 730 days allowed: the last day allowed
            ),
            (
                {"review_cadence": "end_of_project", "full_benefit": "months_6_to_12"},
                "2028-01-04",
            ),
            (
                {"review_cadence": "end_of_project", "full_benefit": "within_6_months"},
                "2027-07-04",
            ),
            ({"review_cadence": "end_of_project", "full_benefit": "not_sure"}, "2027-07-04"),
        ],
    )
    def test_suggested_date(self, flow: Flow, replies: dict, suggested: str) -> None:
        run = at(flow, "first_review_date", **replies)
        assert run.suggestion() == suggested
        run.answer(run.suggestion())  # type: ignore[arg-type]
        assert run.answers["first_review_date"] == suggested

    def test_only_for_the_date_question(self, flow: Flow) -> None:
        run = start(flow)
        while run.current is not None:
            expected = run.current.id == "first_review_date"
            assert (run.suggestion() is not None) is expected
            give(run, reply_to(run.current, {**GOOD_ANSWERS, "objectives": "One"}))
        assert run.suggestion() is None

    def test_never_before_today(self, flow: Flow) -> None:
        question = flow.question("first_review_date")
        assert question.min_days_from_today == 0
        run = at(flow, "first_review_date")
        assert run.suggestion() >= TODAY.isoformat()  # type: ignore[operator]


class TestProgress:
    def test_counts_questions_that_apply_so_far(self, flow: Flow) -> None:
        run = start(flow)
        always = sum(1 for q in flow.questions if q.ask_when is None)
        assert run.progress == (1, always)
        run = at(flow, "problem", kinds="private")
        assert run.progress == (4, always + 1)  # conflict of interest now applies
        run = at(flow, "costs", kinds="private", form="formal")
        assert run.progress == (9, always + 2)

    def test_last_question_and_summary(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        total = len(asked(flow))
        assert run.progress == (total, total)
        run.back()
        assert run.progress == (total, total)

    def test_position_follows_back(self, flow: Flow) -> None:
        run = at(flow, "lighter_route")
        assert run.progress[0] == 5
        run.back()
        assert run.progress[0] == 4

    def test_tip_progress_counts_the_five_tips(self, flow: Flow) -> None:
        seen = {}
        run = start(flow)
        while run.current is not None:
            seen[run.current.id] = run.tip_progress()
            give(run, reply_to(run.current, {**GOOD_ANSWERS, "objectives": "One"}))
        assert run.tip_progress() is None  # at the summary
        assert {seen[q] for q in ("name", "organisations", "kinds", "problem")} == {None}
        assert seen["lighter_route"] == seen["costs"] == (1, 5)
        assert seen["objectives"] == (2, 5)
        assert seen["timing"] == (3, 5)
        assert seen["first_review_date"] == (4, 5)
        assert seen["coordinator"] == (5, 5)


class TestSnapshot:
    def test_round_trip_mid_flow(self, flow: Flow) -> None:
        run = at(flow, "measuring", form="formal")
        saved = json.loads(json.dumps(run.snapshot()))
        restored = FlowRun(flow, saved, today=TODAY)
        assert restored.snapshot() == run.snapshot()
        assert (restored.state, restored.progress) == (run.state, run.progress)
        assert restored.migration is None
        restored.back()
        run.back()
        assert restored.snapshot() == run.snapshot()

    def test_round_trip_mid_revision(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        before = run.answers
        run.revise("form")
        run.answer("formal")
        restored = FlowRun(flow, json.loads(json.dumps(run.snapshot())), today=TODAY)
        assert restored.is_revising
        restored.back()
        restored.back()
        assert restored.state == "summary"
        assert restored.answers == before

    def test_snapshot_shape(self, flow: Flow) -> None:
        run = start(flow)
        run.answer("Discharge team")
        assert run.snapshot() == {
            "flow": "check",
            "version": 2,
            "state": "organisations",
            "answers": {"name": "Discharge team"},
            "history": ["name"],
            "revision_backup": None,
            "pending": [],
            "filling": False,
        }

    def test_a_snapshot_without_pending_restores(self, flow: Flow) -> None:
        saved = at(flow, "objectives").snapshot()
        del saved["pending"]
        assert FlowRun(flow, saved, today=TODAY).pending == []

    @pytest.mark.parametrize(
        ("change", "problem"),
        [
            ({"flow": "review"}, "belongs to flow 'review'"),
            ({"state": "nowhere"}, "unknown state 'nowhere'"),
            ({"answers": {"nmae": "x"}}, "answers to unknown questions"),
            ({"answers": {"governance": "yes"}}, "answers to unknown questions"),  # a group
            ({"revision_backup": {"partner_count": 3}}, "answers to unknown questions"),
            ({"history": ["name", 3]}, "history names unknown states"),
            ({"history": ["summary"]}, "returns to the summary outside a revision"),
            ({"state": "governance"}, "'governance' is not asked"),
            ({"state": "objectives", "pending": ["a", 2]}, "pending items are not text"),
            ({"state": "objectives", "pending": "a"}, "pending items are not text"),
            pytest.param(
                {
                    "state": "form",
                    "answers": {"lighter_route": "yes", "lighter_route_which": "network"},
                },
                "'form' is not asked",
                id="after-an-early-stop",
            ),
            pytest.param(
                {"state": "name", "pending": ["a"]},
                "pending",
                id="pending-at-a-question-that-takes-none",
            ),
        ],
    )
    def test_refuses_a_snapshot_of_this_version_that_does_not_fit(
        self, flow: Flow, change: dict[str, object], problem: str
    ) -> None:
        snapshot = {**start(flow).snapshot(), **change}
        with pytest.raises(FlowError, match=problem):
            FlowRun(flow, snapshot)

    def test_refuses_something_that_is_not_a_snapshot(self, flow: Flow) -> None:
        with pytest.raises(FlowError, match="Not a snapshot"):
            FlowRun(flow, {"answers": {}})
        with pytest.raises(FlowError, match="Not a snapshot"):
            FlowRun(flow, ["state", "name"])  # type: ignore[arg-type]


def v1_snapshot(**changes: object) -> dict[str, Any]:
    """A run of the check saved under version 1, at its partner_count question."""
    return {
        "flow": "check",
        "version": 1,
        "state": "partner_count",
        "answers": dict(V1_ANSWERS),
        "history": ["name", "lead_org", "partner_orgs"],
        "revision_backup": None,
        **changes,
    }


# The v1 answers that still fit the v2 check: same id, and a value it still offers.
V1_KEPT = {
    "name": "Integrated discharge team",
    "problem": "Older people wait in hospital for care at home.",
    "lighter_route": "no",
    "form": "mou",
    "user_outcomes": "yes",
    "baseline": "yes",
    "evaluation": "funded",
    "resources": "money_and_staff",
    "milestones": "yes",
    "review_cadence": "quarterly",
    "first_review_date": "2027-04-01",
    "exit_arrangements": "yes",
}


class TestMigration:
    def test_a_v1_run_resumes_keeping_the_answers_that_fit(self, flow: Flow) -> None:
        run = FlowRun(flow, v1_snapshot(), today=TODAY)
        assert run.answers == V1_KEPT
        assert run.state == "organisations"  # the first question it has no answer to
        assert run.snapshot()["history"] == ["name"]  # the way back: the questions before it
        assert run.snapshot()["version"] == 2
        run.back()
        assert run.state == "name"

    def test_the_migration_says_what_happened(self, flow: Flow) -> None:
        run = FlowRun(flow, v1_snapshot(), today=TODAY)
        assert run.migration == Migration(
            kept=12,
            dropped=(
                "coordinator",  # "yes": now protected time, named or nobody
                "costs_estimated",  # renamed: costs
                "first_result_months",  # a number: now a range
                "frontline",  # "yes": now already, before the design...
                "full_benefit_months",
                "lead_org",  # now the first of the organisations
                "measures",  # was text: now all, some or none
                "measures_defined",
                "objectives",  # was text: now a list
                "partner_count",  # counted from the organisations
                "partner_orgs",
                "partner_types",  # renamed: kinds
                "senior_commitment",  # "yes": now all, some or none
                "system_level",  # only asked once the full benefit is known to be soon
                "users_how",
                "users_involved",
                "value_decider",  # was text: now a choice
            ),
            to_answer=(
                "organisations",
                "kinds",
                "added_value",
                "costs",
                "objectives",
                "measuring",
                "timing",
                "commitment",
                "reviews",
                "involvement",
                "coordinator",
            ),
            same_place=False,
        )
        assert set(run.migration.dropped) | set(V1_KEPT) == set(V1_ANSWERS)

    def test_the_new_questions_then_reach_the_summary(self, flow: Flow) -> None:
        run = FlowRun(flow, v1_snapshot(), today=TODAY)
        to_answer = list(run.migration.to_answer)  # type: ignore[union-attr]
        seen = []
        while run.current is not None:
            seen.append(run.current.id)
            replies = {**GOOD_ANSWERS, "objectives": "One"}
            if run.current.id in V1_KEPT or set(run.current.answer_ids) & set(V1_KEPT):
                replies = {**replies, **V1_KEPT}  # keep the carried-over answer
            give(run, reply_to(run.current, replies))
        assert run.state == "summary"
        assert set(to_answer) <= set(seen)
        assert {k: run.answers[k] for k in V1_KEPT} == V1_KEPT
        assert assess(flow, run.answers).verdict == "Proceed"

    def test_only_what_is_new_is_asked(self, flow: Flow) -> None:
        run = FlowRun(flow, v1_snapshot(), today=TODAY)
        seen = []
        while run.current is not None:
            seen.append(run.current.id)
            give(run, reply_to(run.current, {**GOOD_ANSWERS, **V1_KEPT, "objectives": "One"}))
        assert seen == list(run.migration.to_answer)  # type: ignore[union-attr]

    def test_a_run_at_a_question_that_still_exists_stays_there(self, flow: Flow) -> None:
        snapshot = v1_snapshot(state="organisations", answers={"name": "Team"}, history=["name"])
        run = FlowRun(flow, snapshot, today=TODAY)
        assert run.state == "organisations"
        assert run.migration == Migration(
            kept=1,
            dropped=(),
            to_answer=tuple(q.id for q in flow.applicable({"name": "Team"}))[1:],
            same_place=True,
        )

    def test_a_finished_looking_run_goes_to_the_summary(self, flow: Flow) -> None:
        run = FlowRun(flow, v1_snapshot(answers=GOOD_ANSWERS, state="summary"), today=TODAY)
        assert run.state == "summary"
        assert run.answers == GOOD_ANSWERS
        assert run.migration.to_answer == ()  # type: ignore[union-attr]
        run.back()
        assert run.state == "coordinator"

    def test_a_revision_in_progress_is_abandoned_for_its_complete_answers(self, flow: Flow) -> None:
        snapshot = v1_snapshot(
            state="form",
            answers={"name": "Half-changed"},
            revision_backup=GOOD_ANSWERS,
            history=["summary"],
        )
        run = FlowRun(flow, snapshot, today=TODAY)
        assert (run.state, run.answers) == ("summary", GOOD_ANSWERS)
        assert not run.is_revising

    def test_pending_items_are_let_go(self, flow: Flow) -> None:
        saved = at(flow, "objectives").snapshot()
        saved["pending"] = ["One"]
        run = FlowRun(flow, {**saved, "version": 1}, today=TODAY)
        assert (run.state, run.pending) == ("objectives", [])
        assert run.migration.same_place  # type: ignore[union-attr]

    def test_a_newer_version_is_carried_over_too(self, flow: Flow) -> None:
        saved = run_to_summary(flow).snapshot()
        run = FlowRun(flow, {**saved, "version": 3, "state": "a_question_of_v3"}, today=TODAY)
        assert (run.state, run.answers) == ("summary", GOOD_ANSWERS)

    def test_values_that_no_longer_fit_are_dropped(self, flow: Flow) -> None:
        answers = {
            **GOOD_ANSWERS,
            "coordinator": "yes",  # not an option any more
            "kinds": ["nhs", "army"],  # one is not an option
            "organisations": "A, B",  # not a list
            "first_review_date": "soon",  # not a date
            "added_value": None,  # skipped: fits an optional question
            "problem": None,  # but not a required one
            "measures": 3,
        }
        run = FlowRun(flow, v1_snapshot(answers=answers, state="summary"), today=TODAY)
        assert run.migration.dropped == (  # type: ignore[union-attr]
            "coordinator",
            "first_review_date",
            "kinds",
            "measures",
            "organisations",
            "problem",
        )
        assert run.answers["added_value"] is None
        assert run.state == "organisations"

    def test_junk_under_an_old_version_starts_afresh(self, flow: Flow) -> None:
        run = FlowRun(flow, v1_snapshot(answers="junk", state=7, history=None), today=TODAY)
        assert (run.state, run.answers) == ("name", {})
        assert run.migration == Migration(
            kept=0,
            dropped=(),
            to_answer=tuple(q.id for q in flow.applicable({})),
            same_place=False,
        )

    def test_a_corrupt_snapshot_of_this_version_is_still_refused(self, flow: Flow) -> None:
        corrupt = {**v1_snapshot(), "version": flow.version}
        with pytest.raises(FlowError, match="unknown state 'partner_count'"):
            FlowRun(flow, corrupt)
        assert FlowRun(flow, {**corrupt, "version": 1}).migration is not None

    def test_a_snapshot_without_a_version_counts_as_version_1(self, flow: Flow) -> None:
        snapshot = v1_snapshot()
        del snapshot["version"]
        assert FlowRun(flow, snapshot, today=TODAY).answers == V1_KEPT


def test_runs_do_not_share_state(flow: Flow) -> None:
    first, second = start(flow), start(flow)
    first.answer("One")
    assert second.state == "name"
    assert second.answers == {}


def test_runs_on_many_threads_match_runs_in_sequence() -> None:
    fresh = load_flow("check")  # so the threads also race to compile its machine
    variants = [
        {"form": form, "kinds": kinds, "users_involved": users}
        for form in ("formal", "mou", "informal")
        for kinds in ("nhs", "nhs, private")
        for users in ("already", "no")
    ]

    def play(overrides: dict[str, str]) -> dict[str, object]:
        run = run_to_summary(fresh, **overrides)
        run.back()
        run.answer("named")
        return run.snapshot()

    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(play, variants * 4))
    assert threaded == [play(overrides) for overrides in variants * 4]


class TestRerun:
    def test_asks_the_chosen_tips_again_and_keeps_the_rest(self, flow: Flow) -> None:
        old = run_to_summary(flow).answers
        run = FlowRun.rerun(flow, old, ["realistic"], today=TODAY)
        realistic = [q.id for q in flow.questions if q.tip == "realistic"]
        assert run.state == realistic[0]
        assert run.is_revising
        assert not {"first_result", "full_benefit", "resources", "milestones"} & set(run.answers)
        assert run.answers["name"] == old["name"]
        seen = []
        while run.current is not None:
            seen.append(run.current.id)
            run.answer(earlier_reply(run.current, old))
        assert seen == ["timing", "commitment", "milestones"]  # system_level does not apply
        assert run.state == "summary" and run.answers == old

    def test_back_out_restores_the_old_answers(self, flow: Flow) -> None:
        done = run_to_summary(flow)
        run = FlowRun.rerun(flow, done.answers, ["engaged"], today=TODAY)
        assert run.state == "involvement"
        run.back()
        assert run.state == "summary" and run.answers == done.answers

    def test_refuses_unknown_tips(self, flow: Flow) -> None:
        done = run_to_summary(flow)
        with pytest.raises(FlowError, match="no tip 'nonsense'"):
            FlowRun.rerun(flow, done.answers, ["nonsense"])

    def test_refuses_when_there_is_nothing_to_ask(self, flow: Flow) -> None:
        done = run_to_summary(flow)
        with pytest.raises(FlowError, match="no questions to ask again"):
            FlowRun.rerun(flow, done.answers, [])

    def test_older_answers_are_carried_over_and_the_gaps_asked(self, flow: Flow) -> None:
        run = FlowRun.rerun(flow, V1_ANSWERS, ["engaged"], today=TODAY)
        assert run.state == "organisations"  # a gap comes before the engaged tip
        seen = []
        while run.current is not None:
            seen.append(run.current.id)
            give(run, reply_to(run.current, {**GOOD_ANSWERS, "objectives": "One"}))
        assert seen == [
            "organisations",
            "kinds",
            "added_value",
            "costs",
            "objectives",
            "measuring",
            "timing",
            "commitment",
            "reviews",
            "involvement",
            "coordinator",
        ]
        assert {k: run.answers[k] for k in V1_KEPT} == V1_KEPT

    def test_backing_out_of_a_rerun_of_older_answers_never_shows_an_incomplete_summary(
        self, flow: Flow
    ) -> None:
        run = FlowRun.rerun(flow, V1_ANSWERS, ["engaged"], today=TODAY)
        run.back()
        if run.state == "summary":
            assert all(q.is_answered(run.answers) for q in flow.applicable(run.answers))


class TestAtSummary:
    def test_complete_answers_are_back_at_the_summary(self, flow: Flow) -> None:
        run = FlowRun.at_summary(flow, GOOD_ANSWERS, today=TODAY)
        assert (run.state, run.answers) == ("summary", GOOD_ANSWERS)
        assert not run.is_revising
        run.revise("coordinator")
        run.answer("named")
        assert run.state == "summary"
        assert assess(flow, run.answers).verdict == "Proceed with conditions"
        run.back()
        assert run.state == "coordinator"

    def test_stale_answers_are_dropped(self, flow: Flow) -> None:
        answers = {**GOOD_ANSWERS, "governance_review": "no", "partner_count": 3}
        run = FlowRun.at_summary(flow, answers, today=TODAY)
        assert (run.state, run.answers) == ("summary", GOOD_ANSWERS)

    def test_older_answers_start_at_the_first_gap(self, flow: Flow) -> None:
        run = FlowRun.at_summary(flow, V1_ANSWERS, today=TODAY)
        assert run.state == "organisations"
        assert run.answers == V1_KEPT
        run.back()
        assert run.state == "name"
