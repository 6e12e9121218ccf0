"""The red-flag policy and verdict rule of DOMAIN.md, applied to answers from real runs."""

from __future__ import annotations

import pytest
from flows_testkit import run_to_summary

from flows import Assessment, Flow, RaisedFlag, assess
from flows.definition import parse_flow


def assessed(flow: Flow, **overrides: object) -> Assessment:
    return assess(flow, run_to_summary(flow, **overrides).answers)


def raised(flow: Flow, **overrides: object) -> dict[str, str]:
    return {flag.id: flag.severity for flag in assessed(flow, **overrides).flags}


# flag id -> replies that raise it, and the severity it is raised with
RAISING = [
    ("lighter-route", {"lighter_route": "yes"}, "verdict"),
    ("lighter-route-unsure", {"lighter_route": "unsure"}, "warning"),
    ("costs-unknown", {"costs_estimated": "no"}, "warning"),
    ("no-governance", {"form": "formal", "governance_review": "no"}, "critical"),
    ("no-governance", {"form": "formal", "accountable_lead": "no"}, "critical"),
    (
        "conflict-of-interest",
        {"partner_types": "nhs, private", "conflict_of_interest": "no"},
        "critical",
    ),
    ("many-partners", {"partner_count": "9"}, "warning"),
    ("not-user-outcomes", {"user_outcomes": "no"}, "critical"),
    ("no-measure", {"measures_defined": "no"}, "warning"),
    ("no-baseline", {"baseline": "no"}, "warning"),
    ("no-evaluation", {"evaluation": "planned_unfunded"}, "warning"),
    ("no-evaluation", {"evaluation": "none"}, "warning"),
    ("overambitious-timeline", {"system_level": "yes", "full_benefit_months": "12"}, "warning"),
    ("no-resources", {"resources": "none"}, "critical"),
    ("no-milestones", {"milestones": "no"}, "warning"),
    ("no-senior-commitment", {"senior_commitment": "not_all"}, "warning"),
    ("no-senior-commitment", {"senior_commitment": "no"}, "warning"),
    ("no-review", {"review_cadence": "none"}, "warning"),
    ("no-exit", {"exit_arrangements": "no"}, "warning"),
    ("no-exit", {"exit_arrangements": "no", "form": "informal"}, "warning"),
    ("no-exit", {"exit_arrangements": "no", "form": "formal"}, "critical"),
    ("frontline-not-engaged", {"frontline": "later"}, "critical"),
    ("frontline-not-engaged", {"frontline": "no"}, "critical"),
    ("users-not-engaged", {"users_involved": "later"}, "critical"),
    ("users-not-engaged", {"users_involved": "no"}, "critical"),
    ("no-coordinator", {"coordinator": "no"}, "warning"),
]

# replies close to a flag's threshold that must not raise it
NOT_RAISING = [
    ("lighter-route", {"lighter_route": "unsure"}),
    ("no-governance", {"form": "formal"}),
    ("conflict-of-interest", {"partner_types": "private"}),
    ("many-partners", {"partner_count": "8"}),
    ("no-evaluation", {"evaluation": "funded"}),
    ("overambitious-timeline", {"system_level": "yes", "full_benefit_months": "13"}),
    ("overambitious-timeline", {"system_level": "no", "full_benefit_months": "6"}),
    ("no-resources", {"resources": "staff_only"}),
    ("no-resources", {"resources": "money_only"}),
    ("no-review", {"review_cadence": "annual"}),
    ("users-not-engaged", {"users_involved": "yes"}),
]


@pytest.mark.parametrize(("flag_id", "replies", "severity"), RAISING)
def test_each_flag_is_raised(flow: Flow, flag_id: str, replies: dict, severity: str) -> None:
    flags = raised(flow, **replies)
    assert flags.get(flag_id) == severity
    assert set(flags) == {flag_id}  # and nothing else: each rule reads only its answers


def test_every_flag_has_a_raising_case(flow: Flow) -> None:
    assert {flag_id for flag_id, _, _ in RAISING} == {rule.id for rule in flow.flags}


@pytest.mark.parametrize(("flag_id", "replies"), NOT_RAISING)
def test_flag_is_not_raised_near_its_threshold(flow: Flow, flag_id: str, replies: dict) -> None:
    assert flag_id not in raised(flow, **replies)


def test_good_answers_raise_no_flag(flow: Flow) -> None:
    result = assessed(flow)
    assert result.flags == []
    assert result.verdict == "Proceed"
    assert set(result.tip_status.values()) == {"green"}


def test_unanswered_questions_raise_nothing(flow: Flow) -> None:
    assert assess(flow, {}) == Assessment("Proceed", [], {tip.id: "green" for tip in flow.tips[1:]})
    halfway = {"form": "formal", "partner_types": ["private"], "system_level": "yes"}
    assert assess(flow, halfway).flags == []


def test_stale_answers_cannot_raise_a_flag(flow: Flow) -> None:
    answers = {**run_to_summary(flow).answers, "governance_review": "no", "accountable_lead": "no"}
    assert answers["form"] == "mou"
    assert assess(flow, answers).flags == []


def test_answers_of_the_wrong_type_raise_nothing(flow: Flow) -> None:
    odd = {"partner_count": "many", "partner_types": "private", "conflict_of_interest": "no"}
    assert assess(flow, odd).flags == []


def test_raised_flag_carries_tip_reason_and_condition(flow: Flow) -> None:
    (flag,) = assessed(flow, exit_arrangements="no", form="formal").flags
    rule = next(rule for rule in flow.flags if rule.id == "no-exit")
    assert flag == RaisedFlag(
        id="no-exit",
        tip="flexible",
        tip_title="Be flexible",
        severity="critical",
        reason=rule.reason,
        condition=rule.condition,
    )
    assert flag.condition.startswith("Agree an exit clause")


def test_flags_come_in_tip_order(flow: Flow) -> None:
    result = assessed(
        flow, coordinator="no", costs_estimated="no", review_cadence="none", baseline="no"
    )
    assert [(f.tip, f.id) for f in result.flags] == [
        ("selective", "costs-unknown"),
        ("outcomes", "no-baseline"),
        ("flexible", "no-review"),
        ("engaged", "no-coordinator"),
    ]


class TestVerdict:
    def test_proceed(self, flow: Flow) -> None:
        assert assessed(flow).verdict == "Proceed"

    def test_any_warning_means_conditions(self, flow: Flow) -> None:
        assert assessed(flow, milestones="no").verdict == "Proceed with conditions"

    def test_one_critical_means_conditions(self, flow: Flow) -> None:
        assert assessed(flow, resources="none").verdict == "Proceed with conditions"

    def test_two_critical_in_different_tips_means_conditions(self, flow: Flow) -> None:
        result = assessed(flow, resources="none", user_outcomes="no", coordinator="no")
        assert result.verdict == "Proceed with conditions"

    def test_two_critical_in_one_tip_means_reconsider(self, flow: Flow) -> None:
        result = assessed(flow, frontline="no", users_involved="later")
        assert [f.severity for f in result.flags] == ["critical", "critical"]
        assert result.verdict == "Reconsider"

    def test_three_critical_means_reconsider(self, flow: Flow) -> None:
        result = assessed(flow, resources="none", user_outcomes="no", frontline="later")
        assert {f.tip for f in result.flags} == {"realistic", "outcomes", "engaged"}
        assert result.verdict == "Reconsider"

    def test_formal_without_exit_counts_as_critical(self, flow: Flow) -> None:
        assert assessed(flow, exit_arrangements="no", resources="none").verdict == (
            "Proceed with conditions"
        )
        result = assessed(flow, exit_arrangements="no", resources="none", form="formal")
        assert result.verdict == "Proceed with conditions"  # 2 critical, different tips
        result = assessed(
            flow,
            exit_arrangements="no",
            resources="none",
            form="formal",
            coordinator="no",
            frontline="no",
        )
        assert result.verdict == "Reconsider"

    def test_less_formal_route_overrides_everything(self, flow: Flow) -> None:
        worst = {q.id: "no" for q in flow.questions if q.options and q.option("no")}
        result = assessed(flow, **{**worst, "lighter_route": "yes", "resources": "none"})
        assert result.verdict == "Use a less formal route"
        assert result.flags[0].id == "lighter-route"

    def test_less_formal_route_is_not_a_critical_flag(self, flow: Flow) -> None:
        # DOMAIN.md: it sets the verdict; it neither counts towards Reconsider nor turns
        # the tip red.
        result = assessed(flow, lighter_route="yes")
        assert [f.severity for f in result.flags] == ["verdict"]
        assert result.tip_status["selective"] == "amber"

    def test_unsure_is_only_a_warning(self, flow: Flow) -> None:
        assert assessed(flow, lighter_route="unsure").verdict == "Proceed with conditions"


class TestTipStatus:
    def test_five_tips_only(self, flow: Flow) -> None:
        assert list(assessed(flow).tip_status) == [
            "selective",
            "outcomes",
            "realistic",
            "flexible",
            "engaged",
        ]

    def test_red_amber_green(self, flow: Flow) -> None:
        result = assessed(
            flow, resources="none", milestones="no", baseline="no", review_cadence="none"
        )
        assert result.tip_status == {
            "selective": "green",
            "outcomes": "amber",
            "realistic": "red",  # a critical and a warning
            "flexible": "amber",
            "engaged": "green",
        }


def test_custom_policy_flags_sorted_by_tip_and_verdict_set_by_data() -> None:
    flow = parse_flow(
        """
        [flow]
        id = "tiny"
        title = "Tiny"
        version = 1
        [[tips]]
        id = "first"
        title = "First"
        help = "One."
        [[tips]]
        id = "second"
        title = "Second"
        help = "Two."
        [[questions]]
        id = "size"
        tip = "first"
        type = "number"
        text = "Size?"
        [[flags]]
        id = "late"
        tip = "second"
        severity = "warning"
        when = { question = "size", at_least = 1 }
        reason = "R"
        condition = "C"
        [[flags]]
        id = "early"
        tip = "first"
        severity = "warning"
        sets_verdict = "Reconsider"
        when = { question = "size", less_than = 5 }
        reason = "R"
        condition = "C"
        """
    )
    result = assess(flow, {"size": 3})
    assert [flag.id for flag in result.flags] == ["early", "late"]
    assert result.verdict == "Reconsider"
    assert assess(flow, {"size": 9}).verdict == "Proceed with conditions"
