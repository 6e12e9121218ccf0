"""The red-flag policy and verdict rule of check.toml, applied to answers from real runs."""

from __future__ import annotations

import pytest
from flows_testkit import GOOD_ANSWERS, run_to_summary

from flows import Assessment, Flow, FlowDefinitionError, RaisedFlag, assess
from flows.definition import FlagRule, parse_flow


def assessed(flow: Flow, **overrides: object) -> Assessment:
    return assess(flow, run_to_summary(flow, **overrides).answers)


def raised(flow: Flow, **overrides: object) -> dict[str, str]:
    return {flag.id: flag.severity for flag in assessed(flow, **overrides).flags}


def rule(flow: Flow, flag_id: str) -> FlagRule:
    return next(rule for rule in flow.flags if rule.id == flag_id)


NINE = ", ".join(f"Organisation {n}" for n in range(1, 10))

# flag id -> replies that raise it, the severity it is raised with, and the start of the
# reason it gives (true to the answer)
RAISING = [
    ("lighter-route", {"lighter_route": "yes"}, "verdict", "You said a less formal route"),
    ("lighter-route-unsure", {"lighter_route": "not sure"}, "warning", "Not known yet: whether a"),
    ("costs-unknown", {"costs": "neither"}, "warning", "Neither the staff time"),
    ("costs-unknown", {"costs": "time_only"}, "warning", "Its yearly cost"),
    ("costs-unknown", {"costs": "cost_only"}, "warning", "The staff time it takes"),
    (
        "no-governance",
        {"form": "formal", "governance_review": "no", "accountable_lead": "no"},
        "critical",
        "A formal arrangement with no legal and governance review and no accountable lead.",
    ),
    (
        "no-governance",
        {"form": "formal", "governance_review": "no"},
        "critical",
        "A formal arrangement with no legal and information-governance review.",
    ),
    (
        "no-governance",
        {"form": "formal", "accountable_lead": "no"},
        "critical",
        "A formal arrangement with no named accountable lead.",
    ),
    (
        "conflict-of-interest",
        {"kinds": "nhs, other private company", "conflict_of_interest": "no"},
        "critical",
        "A private partner is involved",
    ),
    (
        "conflict-of-interest",
        {"kinds": "nhs, independent care provider", "conflict_of_interest": "no"},
        "critical",
        "A private partner is involved",
    ),
    ("many-partners", {"organisations": NINE}, "warning", "More than 8 organisations"),
    ("not-user-outcomes", {"user_outcomes": "no"}, "critical", "The objectives are about"),
    ("no-measure", {"measures": "none"}, "warning", "No objective has a measure"),
    ("no-measure", {"measures": "some"}, "warning", "Only some objectives"),
    ("no-baseline", {"baseline": "no"}, "warning", "No baseline"),
    ("no-evaluation", {"evaluation": "none"}, "warning", "There is no plan"),
    ("no-evaluation", {"evaluation": "unfunded"}, "warning", "The evaluation is planned but"),
    (
        "overambitious-timeline",
        {"system_level": "yes", "full_benefit": "months_6_to_12"},
        "warning",
        "The full benefit of changing a whole system",
    ),
    (
        "overambitious-timeline",
        {"system_level": "yes", "full_benefit": "within_6_months"},
        "warning",
        "The full benefit of changing a whole system",
    ),
    ("no-resources", {"resources": "none"}, "critical", "The partners have not committed"),
    ("no-milestones", {"milestones": "no"}, "warning", "There are no interim milestones"),
    ("no-senior-commitment", {"senior_commitment": "none"}, "warning", "No partner's senior"),
    ("no-senior-commitment", {"senior_commitment": "some"}, "warning", "Senior leaders of some"),
    ("no-review", {"review_cadence": "not_decided"}, "warning", "How often to review it"),
    ("no-exit", {"exit_arrangements": "no"}, "warning", "No exit arrangements"),
    ("no-exit", {"exit_arrangements": "no", "form": "informal"}, "warning", "No exit"),
    (
        "no-exit",
        {"exit_arrangements": "no", "form": "formal"},
        "critical",
        "A formal arrangement with no exit arrangements",
    ),
    ("frontline-not-engaged", {"frontline": "no"}, "critical", "Frontline staff are not involved"),
    (
        "frontline-not-engaged",
        {"frontline": "once_running"},
        "critical",
        "Frontline staff would only be involved once it is running",
    ),
    (
        "frontline-not-engaged",
        {"frontline": "before_design"},
        "warning",
        "Frontline staff are not involved yet; you plan to involve them",
    ),
    ("users-not-engaged", {"users_involved": "no"}, "critical", "Patients, carers or the"),
    (
        "users-not-engaged",
        {"users_involved": "once_running"},
        "critical",
        "Patients, carers or the community would only be involved once it is running",
    ),
    (
        "users-not-engaged",
        {"users_involved": "before_design"},
        "warning",
        "Patients, carers or the community are not involved yet; you plan to involve them",
    ),
    ("no-coordinator", {"coordinator": "nobody"}, "warning", "Nobody is named"),
    ("no-coordinator", {"coordinator": "named"}, "warning", "The coordinator has no protected"),
]

# replies close to a flag's threshold that must not raise it
NOT_RAISING = [
    ("lighter-route", {"lighter_route": "not_sure"}),
    ("lighter-route-unsure", {"lighter_route": "no"}),
    ("no-governance", {"form": "formal"}),
    ("no-governance", {"form": "mou", "governance_review": "no"}),  # not asked: stale
    ("conflict-of-interest", {"kinds": "private"}),
    ("conflict-of-interest", {"kinds": "voluntary", "conflict_of_interest": "no"}),
    ("many-partners", {"organisations": NINE.rsplit(",", 1)[0]}),  # 8
    ("no-measure", {"measures": "all"}),
    ("no-baseline", {"baseline": "yes"}),
    ("no-evaluation", {"evaluation": "funded"}),
    ("overambitious-timeline", {"system_level": "yes", "full_benefit": "months_12_to_24"}),
    ("overambitious-timeline", {"system_level": "no", "full_benefit": "within_6_months"}),
    ("no-resources", {"resources": "staff_only"}),
    ("no-resources", {"resources": "money_only"}),
    ("no-review", {"review_cadence": "end_of_project"}),
    ("no-exit", {"exit_arrangements": "yes", "form": "formal"}),
    ("frontline-not-engaged", {"frontline": "already"}),
    ("users-not-engaged", {"users_involved": "already"}),
    ("no-coordinator", {"coordinator": "protected"}),
]


@pytest.mark.parametrize(("flag_id", "replies", "severity", "reason"), RAISING)
def test_each_flag_is_raised_with_a_reason_true_to_the_answer(
    flow: Flow, flag_id: str, replies: dict, severity: str, reason: str
) -> None:
    result = assessed(flow, **replies)
    assert [(flag.id, flag.severity) for flag in result.flags] == [(flag_id, severity)]
    (flag,) = result.flags  # and nothing else: each rule reads only its answers
    assert flag.reason.startswith(reason)
    assert flag.basis == ("not_sure" if flag_id == "lighter-route-unsure" else "answer")
    # The words are the case's own, not another case's or the unknown's.
    wordings = {(case.wording.reason, case.wording.condition) for case in rule(flow, flag_id).cases}
    assert (flag.reason, flag.condition) in wordings


def test_every_flag_and_every_case_has_a_raising_example(flow: Flow) -> None:
    assert {flag_id for flag_id, *_ in RAISING} == {rule.id for rule in flow.flags}
    reasons = {
        (flag.id, flag.reason)
        for flag_id, replies, _, _ in RAISING
        for flag in assessed(flow, **replies).flags
    }
    every_case = {(rule.id, case.wording.reason) for rule in flow.flags for case in rule.cases}
    assert reasons == every_case


@pytest.mark.parametrize(("flag_id", "replies"), NOT_RAISING)
def test_flag_is_not_raised_near_its_threshold(flow: Flow, flag_id: str, replies: dict) -> None:
    assert flag_id not in raised(flow, **replies)


class TestReasonsTrueToTheAnswer:
    def test_measures_for_some_or_none(self, flow: Flow) -> None:
        (some,) = assessed(flow, measures="some").flags
        (none,) = assessed(flow, measures="none").flags
        assert some.id == none.id == "no-measure"
        assert some.reason == "Only some objectives have a measure and a source of data."
        assert none.reason == "No objective has a measure and a source of data yet."
        assert some.condition != none.condition

    def test_a_coordinator_named_or_nobody(self, flow: Flow) -> None:
        (named,) = assessed(flow, coordinator="named").flags
        (nobody,) = assessed(flow, coordinator="nobody").flags
        assert named.reason == "The coordinator has no protected time for the role."
        assert nobody.reason == "Nobody is named to coordinate it."

    @pytest.mark.parametrize("part", ["frontline", "users_involved"])
    def test_involving_people_before_the_design_is_a_warning(self, flow: Flow, part: str) -> None:
        (before,) = assessed(flow, **{part: "before_design"}).flags
        (running,) = assessed(flow, **{part: "once_running"}).flags
        (never,) = assessed(flow, **{part: "no"}).flags
        assert (before.severity, running.severity, never.severity) == (
            "warning",
            "critical",
            "critical",
        )
        assert len({before.reason, running.reason, never.reason}) == 3

    def test_both_involved_before_the_design_is_proceed_with_conditions(self, flow: Flow) -> None:
        result = assessed(flow, frontline="before_design", users_involved="before_design")
        assert [flag.severity for flag in result.flags] == ["warning", "warning"]
        assert result.verdict == "Proceed with conditions"
        assert result.tip_status["engaged"] == "amber"

    def test_both_involved_only_once_running_is_reconsider(self, flow: Flow) -> None:
        result = assessed(flow, frontline="once_running", users_involved="once_running")
        assert result.verdict == "Reconsider"  # two criticals in one tip

    def test_no_governance_names_what_is_missing(self, flow: Flow) -> None:
        def reason(review: str, lead: str) -> str:
            result = assessed(flow, form="formal", governance_review=review, accountable_lead=lead)
            (flag,) = result.flags
            return flag.reason

        pairs = [("no", "no"), ("no", "yes"), ("yes", "no"), ("no", "not_sure")]
        reasons = {pair: reason(*pair) for pair in pairs}
        assert "no accountable lead" in reasons["no", "no"]
        assert reasons["no", "yes"] == reasons["no", "not_sure"]
        assert "review" in reasons["no", "yes"] and "lead" not in reasons["no", "yes"]
        assert "review" not in reasons["yes", "no"] and "lead" in reasons["yes", "no"]


# --- honest unknowns ---------------------------------------------------------------------------

# A flag, the replies that make it unknown, the wording it takes and the basis.
UNKNOWN = [
    ("costs-unknown", {"costs": "not_sure"}, "unsure"),
    ("no-governance", {"form": "formal", "governance_review": "not_sure"}, "unsure"),
    ("no-governance", {"form": "formal", "accountable_lead": "not_sure"}, "unsure"),
    ("no-governance", {"form": "formal", "governance_review": "in_progress"}, "in_progress"),
    (
        "conflict-of-interest",
        {"kinds": "private", "conflict_of_interest": "not sure"},
        "unsure",
    ),
    (
        "conflict-of-interest",
        {"kinds": "private", "conflict_of_interest": "in progress"},
        "in_progress",
    ),
    ("not-user-outcomes", {"user_outcomes": "don't know"}, "unsure"),
    ("no-measure", {"measures": "not_sure"}, "unsure"),
    ("no-baseline", {"baseline": "not_sure"}, "unsure"),
    ("no-baseline", {"baseline": "in_progress"}, "in_progress"),
    ("no-evaluation", {"evaluation": "not_sure"}, "unsure"),
    ("no-evaluation", {"evaluation": "in_progress"}, "in_progress"),
    (
        "overambitious-timeline",
        {"system_level": "not_sure", "full_benefit": "within_6_months"},
        "unsure",
    ),
    ("overambitious-timeline", {"system_level": "yes", "full_benefit": "not_sure"}, "unsure"),
    ("no-resources", {"resources": "not_sure"}, "unsure"),
    ("no-milestones", {"milestones": "?"}, "unsure"),
    ("no-senior-commitment", {"senior_commitment": "not_sure"}, "unsure"),
    ("no-exit", {"exit_arrangements": "not_sure"}, "unsure"),
    ("no-exit", {"exit_arrangements": "in_progress", "form": "formal"}, "in_progress"),
    ("frontline-not-engaged", {"frontline": "not_sure"}, "unsure"),
    ("users-not-engaged", {"users_involved": "not_sure"}, "unsure"),
    ("no-coordinator", {"coordinator": "not_sure"}, "unsure"),
]


@pytest.mark.parametrize(("flag_id", "replies", "wording"), UNKNOWN)
def test_an_unknown_answer_raises_a_warning_in_words_of_its_own(
    flow: Flow, flag_id: str, replies: dict, wording: str
) -> None:
    result = assessed(flow, **replies)
    (flag,) = result.flags
    words = getattr(rule(flow, flag_id), wording)
    assert (flag.id, flag.severity) == (flag_id, "warning")
    assert (flag.reason, flag.condition) == (words.reason, words.condition)
    assert flag.basis == ("not_sure" if wording == "unsure" else "in_progress")
    assert flag.reason.startswith("Not known yet:" if wording == "unsure" else "In progress:")
    assert result.verdict == "Proceed with conditions"
    assert result.to_find_out == ([flag] if wording == "unsure" else [])


def test_every_unsure_and_in_progress_wording_is_reachable(flow: Flow) -> None:
    used = {(flag_id, wording) for flag_id, _, wording in UNKNOWN}
    declared = {
        (rule.id, wording)
        for rule in flow.flags
        for wording in ("unsure", "in_progress")
        if getattr(rule, wording) is not None
    }
    assert used == declared


def test_not_sure_wins_over_in_progress(flow: Flow) -> None:
    (flag,) = assessed(
        flow, form="formal", governance_review="in_progress", accountable_lead="not_sure"
    ).flags
    assert flag.basis == "not_sure"
    assert flag.reason == rule(flow, "no-governance").unsure.reason  # type: ignore[union-attr]


def test_a_definite_answer_wins_over_an_unknown_one(flow: Flow) -> None:
    # The review is in progress but nobody is accountable: that is known, and critical.
    (flag,) = assessed(
        flow, form="formal", governance_review="in_progress", accountable_lead="no"
    ).flags
    assert (flag.severity, flag.basis) == ("critical", "answer")
    assert flag.reason == "A formal arrangement with no named accountable lead."


def test_an_unknown_that_cannot_matter_raises_nothing(flow: Flow) -> None:
    # A whole-system change is not over-ambitious if it is not sure but does not matter:
    # the full benefit comes late, so the system-level question is not even asked.
    assert assessed(flow, first_result="not_sure").flags == []
    # Not a whole-system change: a Not sure full benefit cannot make it over-ambitious.
    assert assessed(flow, full_benefit="not_sure", system_level="no").flags == []


def test_a_flag_that_only_sets_the_verdict_is_never_raised_by_an_unknown(flow: Flow) -> None:
    result = assessed(flow, lighter_route="not_sure")
    assert [flag.id for flag in result.flags] == ["lighter-route-unsure"]
    assert result.flags[0].basis == "not_sure"  # its case names Not sure
    assert result.verdict == "Proceed with conditions"
    assert rule(flow, "lighter-route").judge({"lighter_route": "not_sure"}) == (False, None)


class TestNotSureCount:
    UNSURE = ("costs", "user_outcomes", "milestones", "coordinator", "exit_arrangements")

    def test_counted(self, flow: Flow) -> None:
        result = assessed(flow, **dict.fromkeys(self.UNSURE[:3], "not_sure"))
        assert (result.not_sure, result.too_early) == (3, False)
        assert result.warnings == 3 and result.criticals == 0
        assert [flag.id for flag in result.to_find_out] == [
            "costs-unknown",
            "not-user-outcomes",
            "no-milestones",
        ]

    def test_too_early_at_five(self, flow: Flow) -> None:
        assert flow.too_early_at == 5
        four = assessed(flow, **dict.fromkeys(self.UNSURE[:4], "not_sure"))
        five = assessed(flow, **dict.fromkeys(self.UNSURE, "not_sure"))
        assert (four.not_sure, four.too_early) == (4, False)
        assert (five.not_sure, five.too_early) == (5, True)
        assert five.verdict == "Proceed with conditions"  # too early, but still a verdict

    def test_each_part_of_a_group_counts(self, flow: Flow) -> None:
        result = assessed(flow, timing="not sure", commitment="not sure")
        assert result.not_sure == 4
        assert not result.too_early
        assert {flag.id for flag in result.to_find_out} == {"no-resources", "no-senior-commitment"}

    def test_in_progress_and_not_decided_are_not_counted(self, flow: Flow) -> None:
        result = assessed(
            flow, exit_arrangements="in_progress", evaluation="in_progress", reviews="not sure"
        )
        assert result.not_sure == 0
        assert result.to_find_out == []
        assert {flag.basis for flag in result.flags} == {"in_progress", "answer"}

    def test_stale_not_sure_answers_are_not_counted(self, flow: Flow) -> None:
        answers = {
            **GOOD_ANSWERS,
            "governance_review": "not_sure",
            "accountable_lead": "not_sure",
            "conflict_of_interest": "not_sure",
            "system_level": "not_sure",
        }
        result = assess(flow, answers)
        assert (result.not_sure, result.flags) == (0, [])


# --- without honest unknowns -----------------------------------------------------------------


def test_good_answers_raise_no_flag(flow: Flow) -> None:
    result = assessed(flow)
    assert result.flags == []
    assert result.verdict == "Proceed"
    assert set(result.tip_status.values()) == {"green"}
    assert (result.criticals, result.warnings, result.not_sure) == (0, 0, 0)


def test_unanswered_questions_raise_nothing(flow: Flow) -> None:
    assert assess(flow, {}) == Assessment(
        "Proceed", [], {tip.id: "green" for tip in flow.tips[1:]}, not_sure=0, too_early=False
    )
    halfway = {"form": "formal", "kinds": ["private"], "system_level": "yes"}
    assert assess(flow, halfway).flags == []


def test_stale_answers_cannot_raise_a_flag(flow: Flow) -> None:
    answers = {**run_to_summary(flow).answers, "governance_review": "no", "accountable_lead": "no"}
    assert answers["form"] == "mou"
    assert assess(flow, answers).flags == []


def test_answers_after_an_early_stop_cannot_raise_a_flag(flow: Flow) -> None:
    answers = {
        **GOOD_ANSWERS,
        "lighter_route": "yes",
        "lighter_route_which": "network",
        "resources": "none",
        "frontline": "no",
        "users_involved": "no",
    }
    result = assess(flow, answers)
    assert [flag.id for flag in result.flags] == ["lighter-route"]
    assert result.verdict == "Use a less formal route"


def test_answers_of_the_wrong_type_raise_nothing(flow: Flow) -> None:
    odd = {"organisations": "many", "kinds": "private", "conflict_of_interest": "no"}
    assert assess(flow, odd).flags == []


@pytest.mark.parametrize(
    "answers",
    [
        {"organisations": "not_sure"},
        {"review_cadence": "not_sure"},
        {"lighter_route": "in_progress"},
    ],
)
def test_a_marker_where_none_is_offered_raises_nothing(flow: Flow, answers: dict) -> None:
    result = assess(flow, answers)
    assert result.criticals == 0


def test_raised_flag_carries_tip_reason_condition_and_basis(flow: Flow) -> None:
    (flag,) = assessed(flow, exit_arrangements="no", form="formal").flags
    case = rule(flow, "no-exit").cases[0]
    assert flag == RaisedFlag(
        id="no-exit",
        tip="flexible",
        tip_title="Be flexible",
        severity="critical",
        reason=case.wording.reason,
        condition=case.wording.condition,
        basis="answer",
    )
    assert flag.condition.startswith("Agree an exit clause")


def test_flags_come_in_tip_order(flow: Flow) -> None:
    result = assessed(
        flow,
        coordinator="nobody",
        costs="neither",
        review_cadence="not_decided",
        baseline="no",
        lighter_route="not_sure",
    )
    assert [(f.tip, f.id) for f in result.flags] == [
        ("selective", "lighter-route-unsure"),
        ("selective", "costs-unknown"),
        ("outcomes", "no-baseline"),
        ("flexible", "no-review"),
        ("engaged", "no-coordinator"),
    ]
    assert (result.criticals, result.warnings) == (0, 5)


class TestVerdict:
    def test_proceed(self, flow: Flow) -> None:
        assert assessed(flow).verdict == "Proceed"

    def test_any_warning_means_conditions(self, flow: Flow) -> None:
        assert assessed(flow, milestones="no").verdict == "Proceed with conditions"

    def test_one_critical_means_conditions(self, flow: Flow) -> None:
        assert assessed(flow, resources="none").verdict == "Proceed with conditions"

    def test_two_critical_in_different_tips_means_conditions(self, flow: Flow) -> None:
        result = assessed(flow, resources="none", user_outcomes="no", coordinator="nobody")
        assert result.criticals == 2
        assert result.verdict == "Proceed with conditions"

    def test_two_critical_in_one_tip_means_reconsider(self, flow: Flow) -> None:
        result = assessed(flow, frontline="no", users_involved="once_running")
        assert [f.severity for f in result.flags] == ["critical", "critical"]
        assert result.verdict == "Reconsider"

    def test_three_critical_means_reconsider(self, flow: Flow) -> None:
        result = assessed(flow, resources="none", user_outcomes="no", frontline="once_running")
        assert {f.tip for f in result.flags} == {"realistic", "outcomes", "engaged"}
        assert result.verdict == "Reconsider"

    def test_formal_without_exit_counts_as_critical(self, flow: Flow) -> None:
        assert assessed(flow, exit_arrangements="no", resources="none").verdict == (
            "Proceed with conditions"
        )
        result = assessed(flow, exit_arrangements="no", resources="none", form="formal")
        assert result.criticals == 2
        assert result.verdict == "Proceed with conditions"  # 2 critical, different tips
        result = assessed(
            flow, exit_arrangements="no", resources="none", form="formal", frontline="no"
        )
        assert result.verdict == "Reconsider"

    def test_many_unknowns_are_never_reconsider(self, flow: Flow) -> None:
        result = assessed(
            flow,
            form="formal",
            kinds="private",
            governance="not sure",
            conflict_of_interest="not sure",
            user_outcomes="not sure",
            commitment="not sure",
            exit_arrangements="not sure",
            involvement="not sure",
        )
        assert result.criticals == 0
        assert result.warnings == len(result.flags) == 8  # commitment reads two
        assert result.too_early
        assert result.verdict == "Proceed with conditions"

    def test_less_formal_route_overrides_everything_and_ends_the_check(self, flow: Flow) -> None:
        run = run_to_summary(flow, lighter_route="yes")
        assert list(run.answers) == [
            "name",
            "organisations",
            "kinds",
            "problem",
            "lighter_route",
            "lighter_route_which",
        ]
        result = assess(flow, run.answers)
        assert result.verdict == "Use a less formal route"
        assert [flag.id for flag in result.flags] == ["lighter-route"]

    def test_less_formal_route_is_not_a_critical_flag(self, flow: Flow) -> None:
        # It sets the verdict; it neither counts towards Reconsider nor turns the tip red.
        result = assessed(flow, lighter_route="yes")
        assert [f.severity for f in result.flags] == ["verdict"]
        assert (result.criticals, result.warnings) == (0, 0)
        assert result.tip_status["selective"] == "verdict"

    def test_not_sure_of_a_less_formal_route_is_only_a_warning(self, flow: Flow) -> None:
        assert assessed(flow, lighter_route="not_sure").verdict == "Proceed with conditions"


class TestTipStatus:
    def test_five_tips_only(self, flow: Flow) -> None:
        assert list(assessed(flow).tip_status) == [
            "selective",
            "outcomes",
            "realistic",
            "flexible",
            "engaged",
        ]
        assert [tip.id for tip in flow.assessed_tips] == list(assessed(flow).tip_status)

    def test_red_amber_green(self, flow: Flow) -> None:
        result = assessed(
            flow,
            resources="none",
            milestones="no",
            baseline="not_sure",
            review_cadence="not_decided",
        )
        assert result.tip_status == {
            "selective": "green",
            "outcomes": "amber",  # an unknown is a warning
            "realistic": "red",  # a critical and a warning
            "flexible": "amber",
            "engaged": "green",
        }

    def test_verdict_only(self, flow: Flow) -> None:
        assert assessed(flow, lighter_route="yes").tip_status == {
            "selective": "verdict",
            "outcomes": "green",
            "realistic": "green",
            "flexible": "green",
            "engaged": "green",
        }


TINY = """
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
severity = "verdict"
sets_verdict = "Reconsider"
when = { question = "size", less_than = 5 }
reason = "R"
condition = "C"
"""


def test_custom_policy_flags_sorted_by_tip_and_verdict_set_by_data() -> None:
    flow = parse_flow(TINY)
    result = assess(flow, {"size": 3})
    assert [flag.id for flag in result.flags] == ["early", "late"]
    assert result.verdict == "Reconsider"
    assert result.tip_status == {"first": "verdict", "second": "amber"}
    assert assess(flow, {"size": 9}).verdict == "Proceed with conditions"
    assert assess(flow, {}).verdict == "Proceed"


def test_a_verdict_case_among_others_sets_the_verdict_only_when_it_holds() -> None:
    flow = parse_flow(
        TINY.replace(
            'severity = "verdict"\nsets_verdict = "Reconsider"\n'
            'when = { question = "size", less_than = 5 }\nreason = "R"\ncondition = "C"',
            'sets_verdict = "Reconsider"\ncases = [\n'
            '  { when = { question = "size", less_than = 2 }, severity = "verdict", '
            'reason = "Tiny.", condition = "Stop." },\n'
            '  { when = { question = "size", less_than = 5 }, severity = "critical", '
            'reason = "Small.", condition = "Grow." },\n]',
        )
    )
    assert assess(flow, {"size": 1}).verdict == "Reconsider"
    small = assess(flow, {"size": 3})
    assert small.verdict == "Proceed with conditions"
    assert [(flag.id, flag.severity, flag.reason) for flag in small.flags] == [
        ("early", "critical", "Small."),
        ("late", "warning", "R"),
    ]


def test_sets_verdict_on_a_warning_is_not_silently_ignored() -> None:
    text = TINY.replace('severity = "verdict"\nsets_verdict', 'severity = "warning"\nsets_verdict')
    try:
        flow = parse_flow(text)
    except FlowDefinitionError:
        return
    assert assess(flow, {"size": 3}).verdict == "Reconsider"
