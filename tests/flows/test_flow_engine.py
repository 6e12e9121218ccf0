"""FlowRun: moving through the check, branching, back, change an answer, cancel, saving."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from flows_testkit import GOOD_REPLIES, TODAY, run_to_summary

from flows import AnswerError, Flow, FlowError, FlowRun, load_flow
from flows.errors import FlowsError


def start(flow: Flow) -> FlowRun:
    return FlowRun(flow, today=TODAY)


def answer_until(run: FlowRun, stop_at: str, **overrides: object) -> None:
    """Answer with the good replies (or overrides) until the run is at `stop_at`."""
    replies = {**GOOD_REPLIES, **overrides}
    while run.state != stop_at:
        assert run.current is not None, f"never reached {stop_at}"
        run.answer(replies[run.current.id])  # type: ignore[arg-type]


def asked(flow: Flow, **overrides: object) -> list[str]:
    """The question ids asked, in order, answering with good replies and overrides."""
    run, seen = start(flow), []
    replies = {**GOOD_REPLIES, **overrides}
    while run.current is not None:
        seen.append(run.current.id)
        run.answer(replies[run.current.id])  # type: ignore[arg-type]
    return seen


class TestForward:
    def test_starts_at_the_first_question(self, flow: Flow) -> None:
        run = start(flow)
        assert run.state == "name"
        assert run.current is flow.question("name")
        assert run.answers == {}
        assert not run.can_go_back
        assert not run.is_finished

    def test_answer_stores_and_advances(self, flow: Flow) -> None:
        run = start(flow)
        run.answer("  Discharge team ")
        assert run.state == "lead_org"
        assert run.answers == {"name": "Discharge team"}
        assert run.can_go_back

    def test_last_answer_goes_to_summary(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        assert run.state == "summary"
        assert run.current is None
        assert set(run.answers) == set(GOOD_REPLIES) - {
            "governance_review",
            "accountable_lead",
            "conflict_of_interest",
        }

    def test_invalid_answer_changes_nothing(self, flow: Flow) -> None:
        run = start(flow)
        answer_until(run, "partner_count")
        before = run.snapshot()
        with pytest.raises(AnswerError, match=r"Please type a number, like 12\."):
            run.answer("twelve")
        assert run.snapshot() == before

    def test_answers_is_a_copy(self, flow: Flow) -> None:
        run = start(flow)
        answer_until(run, "problem")
        run.answers["partner_types"].append("police")
        run.answers.clear()
        assert run.answers["partner_types"] == ["nhs", "social_care", "housing"]


class TestBranching:
    def test_no_conflict_of_interest_question_without_a_private_partner(self, flow: Flow) -> None:
        assert "conflict_of_interest" not in asked(flow)
        with_private = asked(flow, partner_types="nhs, private")
        assert with_private.index("conflict_of_interest") == with_private.index("partner_count") - 1

    def test_governance_questions_only_for_formal(self, flow: Flow) -> None:
        for form in ("mou", "informal"):
            assert "governance_review" not in asked(flow, form=form)
            assert "accountable_lead" not in asked(flow, form=form)
        formal = asked(flow, form="formal")
        position = formal.index("form")
        assert formal[position + 1 : position + 4] == [
            "costs_estimated",
            "governance_review",
            "accountable_lead",
        ]

    def test_other_branches(self, flow: Flow) -> None:
        assert "measures" not in asked(flow, measures_defined="no")
        assert "first_review_date" not in asked(flow, review_cadence="none")
        assert "users_how" not in asked(flow, users_involved="no")
        assert "users_how" in asked(flow, users_involved="later")

    def test_all_questions_when_every_branch_applies(self, flow: Flow) -> None:
        assert asked(flow, form="formal", partner_types="private") == [q.id for q in flow.questions]

    def test_stale_answers_are_dropped(self, flow: Flow) -> None:
        run = start(flow)
        answer_until(run, "partner_count", form="formal", partner_types=["private"])
        assert run.answers["governance_review"] == "yes"
        for _ in range(5):  # back to form, through the three questions formal added
            run.back()
        assert run.state == "form"
        run.answer("informal")
        assert run.state == "costs_estimated"
        assert "governance_review" not in run.answers
        assert "accountable_lead" not in run.answers
        assert run.answers["conflict_of_interest"] == "yes"  # still applies


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
        assert run.state == "lead_org"

    def test_back_skips_questions_branching_skipped(self, flow: Flow) -> None:
        run = start(flow)
        answer_until(run, "objectives", form="mou")
        run.back()
        assert run.state == "partner_count"
        run.back()
        assert run.state == "costs_estimated"  # not accountable_lead / governance_review
        run.back()
        assert run.state == "form"

    def test_back_through_branched_questions_that_were_asked(self, flow: Flow) -> None:
        run = start(flow)
        answer_until(run, "partner_count", form="formal", partner_types=["private"])
        trail = []
        for _ in range(4):
            run.back()
            trail.append(run.state)
        assert trail == [
            "conflict_of_interest",
            "accountable_lead",
            "governance_review",
            "costs_estimated",
        ]

    def test_from_summary_to_the_last_question(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        run.back()
        assert run.state == "coordinator"
        run.answer("yes")
        assert run.state == "summary"

    def test_all_the_way_back(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        steps = 0
        while run.can_go_back:
            run.back()
            steps += 1
        assert run.state == "name"
        assert steps == len(run.answers)


class TestRevise:
    def test_only_from_the_summary(self, flow: Flow) -> None:
        run = start(flow)
        answer_until(run, "problem")
        with pytest.raises(FlowError, match="only be changed from the summary"):
            run.revise("name")
        assert run.state == "problem"

    def test_unknown_or_inapplicable_question(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        with pytest.raises(FlowError, match="no question 'nmae'"):
            run.revise("nmae")
        with pytest.raises(FlowError, match="'governance_review' does not apply"):
            run.revise("governance_review")
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

    def test_change_asks_newly_relevant_questions(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        run.revise("form")
        run.answer("formal")
        assert run.state == "governance_review"
        run.answer("no")
        assert run.state == "accountable_lead"
        run.answer("yes")
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
        assert run.state == "governance_review"
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

    @pytest.mark.parametrize("where", ["name", "coordinator", "summary"])
    def test_cancel_from_anywhere_unfinished(self, flow: Flow, where: str) -> None:
        run = start(flow)
        answer_until(run, where)
        run.cancel()
        assert run.state == "cancelled"
        assert run.is_finished
        assert run.current is None

    def test_nothing_moves_once_finished(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        run.finish()
        before = run.snapshot()
        for step in (run.cancel, run.finish, run.back, lambda: run.answer("yes")):
            with pytest.raises(FlowError):
                step()
        with pytest.raises(FlowError):
            run.revise("name")
        assert run.snapshot() == before

    def test_errors_share_a_base_class(self, flow: Flow) -> None:
        assert issubclass(FlowError, FlowsError)
        assert issubclass(AnswerError, FlowsError)


class TestSnapshot:
    def test_round_trip_mid_flow(self, flow: Flow) -> None:
        run = start(flow)
        answer_until(run, "measures", form="formal")
        saved = json.loads(json.dumps(run.snapshot()))
        restored = FlowRun(flow, saved, today=TODAY)
        assert restored.snapshot() == run.snapshot()
        assert (restored.state, restored.progress) == (run.state, run.progress)
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
            "version": 1,
            "state": "lead_org",
            "answers": {"name": "Discharge team"},
            "history": ["name"],
            "revision_backup": None,
        }

    @pytest.mark.parametrize(
        ("change", "problem"),
        [
            ({"flow": "review"}, "belongs to flow 'review'"),
            ({"state": "nowhere"}, "unknown state 'nowhere'"),
            ({"answers": {"nmae": "x"}}, "answers to unknown questions"),
            ({"history": ["name", 3]}, "history names unknown states"),
            ({"history": ["summary"]}, "returns to the summary outside a revision"),
            ({"state": "governance_review"}, "'governance_review' does not apply"),
        ],
    )
    def test_refuses_a_snapshot_that_does_not_fit(
        self, flow: Flow, change: dict[str, object], problem: str
    ) -> None:
        snapshot = {**start(flow).snapshot(), **change}
        with pytest.raises(FlowError, match=problem):
            FlowRun(flow, snapshot)

    def test_refuses_something_that_is_not_a_snapshot(self, flow: Flow) -> None:
        with pytest.raises(FlowError, match="Not a snapshot"):
            FlowRun(flow, {"answers": {}})


class TestProgress:
    def test_counts_questions_that_apply_so_far(self, flow: Flow) -> None:
        run = start(flow)
        always = sum(1 for q in flow.questions if q.ask_when is None)
        assert run.progress == (1, always)
        answer_until(run, "problem", partner_types="private")
        assert run.progress == (5, always + 1)  # conflict of interest now applies
        answer_until(run, "costs_estimated", partner_types="private", form="formal")
        assert run.progress == (8, always + 3)

    def test_last_question_and_summary(self, flow: Flow) -> None:
        run = run_to_summary(flow)
        total = len(run.answers)
        assert run.progress == (total, total)
        run.back()
        assert run.progress == (total, total)

    def test_position_follows_back(self, flow: Flow) -> None:
        run = start(flow)
        answer_until(run, "lighter_route")
        assert run.progress[0] == 6
        run.back()
        assert run.progress[0] == 5


def test_runs_do_not_share_state(flow: Flow) -> None:
    first, second = start(flow), start(flow)
    first.answer("One")
    assert second.state == "name"
    assert second.answers == {}


def test_runs_on_many_threads_match_runs_in_sequence() -> None:
    fresh = load_flow("check")  # so the threads also race to compile its machine
    variants = [
        {"form": form, "partner_types": types, "users_involved": users}
        for form in ("formal", "mou", "informal")
        for types in ("nhs", "nhs, private")
        for users in ("yes", "no")
    ]

    def play(overrides: dict[str, str]) -> dict[str, object]:
        run = run_to_summary(fresh, **overrides)
        run.back()
        run.answer("yes")
        return run.snapshot()

    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(play, variants * 4))
    assert threaded == [play(overrides) for overrides in variants * 4]


def test_rerun_asks_the_chosen_tips_again_and_keeps_the_rest(flow: Flow) -> None:
    done = run_to_summary(flow)
    old = done.answers
    run = FlowRun.rerun(flow, old, ["realistic"], today=TODAY)
    realistic = [q.id for q in flow.questions if q.tip == "realistic"]
    assert run.state == realistic[0]
    assert all(q not in run.answers for q in realistic)
    assert run.answers["name"] == old["name"]
    asked = []
    while run.current is not None:
        asked.append(run.current.id)
        earlier = old[run.current.id]
        run.answer(earlier if isinstance(earlier, list) else str(earlier))
    assert asked == [q for q in realistic if q in old]
    assert run.state == "summary" and run.answers == old


def test_rerun_back_out_restores_the_old_answers(flow: Flow) -> None:
    done = run_to_summary(flow)
    run = FlowRun.rerun(flow, done.answers, ["engaged"], today=TODAY)
    run.back()
    assert run.state == "summary" and run.answers == done.answers


def test_rerun_refuses_unknown_tips(flow: Flow) -> None:
    done = run_to_summary(flow)
    with pytest.raises(FlowError, match="no tip 'nonsense'"):
        FlowRun.rerun(flow, done.answers, ["nonsense"])
