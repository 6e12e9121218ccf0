"""Loading flow definitions: the packaged check keeps the policy's promises, bad files fail
clearly (naming the file, the entry and the problem)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flows_testkit import GOOD_REPLIES, TODAY, give, reply_to

from flows import IN_PROGRESS, NOT_SURE, Flow, FlowDefinitionError, FlowRun, load_flow
from flows.answers import parse_answer
from flows.conditions import AllOf, AnyOf, Compare
from flows.definition import parse_flow

TIPS = [
    ("about", "About the proposal"),
    ("selective", "Be selective"),
    ("outcomes", "Be clear on outcomes"),
    ("realistic", "Be realistic"),
    ("flexible", "Be flexible"),
    ("engaged", "Be engaged"),
]

QUESTIONS = {
    "name": ("about", "short_text"),
    "organisations": ("about", "list"),
    "kinds": ("about", "multi_choice"),
    "problem": ("about", "long_text"),
    "lighter_route": ("selective", "choice"),
    "lighter_route_which": ("selective", "choice"),
    "added_value": ("selective", "long_text"),
    "form": ("selective", "choice"),
    "governance": ("selective", "group"),
    "costs": ("selective", "choice"),
    "conflict_of_interest": ("selective", "choice"),
    "objectives": ("outcomes", "list"),
    "user_outcomes": ("outcomes", "choice"),
    "measuring": ("outcomes", "group"),
    "evaluation": ("outcomes", "choice"),
    "timing": ("realistic", "group"),
    "system_level": ("realistic", "choice"),
    "commitment": ("realistic", "group"),
    "milestones": ("realistic", "choice"),
    "reviews": ("flexible", "group"),
    "first_review_date": ("flexible", "date"),
    "exit_arrangements": ("flexible", "choice"),
    "involvement": ("engaged", "group"),
    "coordinator": ("engaged", "choice"),
}

PARTS = {
    "governance": ["governance_review", "accountable_lead"],
    "measuring": ["measures", "baseline"],
    "timing": ["first_result", "full_benefit"],
    "commitment": ["resources", "senior_commitment"],
    "reviews": ["review_cadence", "value_decider"],
    "involvement": ["frontline", "users_involved", "users_how"],
}

# The red-flag policy: id -> (tip, the severity of each case in order, has unsure words,
# has in-progress words)
FLAGS = {
    "lighter-route": ("selective", ["verdict"], False, False),
    "lighter-route-unsure": ("selective", ["warning"], False, False),
    "costs-unknown": ("selective", ["warning"] * 3, True, False),
    "no-governance": ("selective", ["critical"] * 3, True, True),
    "conflict-of-interest": ("selective", ["critical"], True, True),
    "many-partners": ("selective", ["warning"], False, False),
    "not-user-outcomes": ("outcomes", ["critical"], True, False),
    "no-measure": ("outcomes", ["warning"] * 2, True, False),
    "no-baseline": ("outcomes", ["warning"], True, True),
    "no-evaluation": ("outcomes", ["warning"] * 2, True, True),
    "overambitious-timeline": ("realistic", ["warning"], True, False),
    "no-resources": ("realistic", ["critical"], True, False),
    "no-milestones": ("realistic", ["warning"], True, False),
    "no-senior-commitment": ("realistic", ["warning"] * 2, True, False),
    "no-review": ("flexible", ["warning"], False, False),
    "no-exit": ("flexible", ["critical", "warning"], True, True),  # critical when formal
    "frontline-not-engaged": ("engaged", ["critical", "critical", "warning"], True, False),
    "users-not-engaged": ("engaged", ["critical", "critical", "warning"], True, False),
    "no-coordinator": ("engaged", ["warning"] * 2, True, False),
}


class TestPackagedCheck:
    def test_metadata(self, flow: Flow) -> None:
        assert (flow.id, flow.title, flow.version) == ("check", "Partnership check", 2)
        assert flow.has_verdict
        assert flow.too_early_at == 5

    def test_tips_in_order_with_help(self, flow: Flow) -> None:
        assert [(tip.id, tip.title) for tip in flow.tips] == TIPS
        assert [tip.assessed for tip in flow.tips] == [False] + [True] * 5
        assert [tip.id for tip in flow.assessed_tips] == [tip_id for tip_id, _ in TIPS[1:]]
        for tip in flow.tips:
            sentences = re.findall(r"[.?!](?:\s|$)", tip.help)
            assert 2 <= len(sentences) <= 5, tip.id

    def test_help_cites_the_reference_instruments(self, flow: Flow) -> None:
        assert "is there a better way of serving the public?" in flow.tip("selective").help
        assert "Partnership Outcomes Evaluation Toolkit" in flow.tip("outcomes").help
        assert "Partnership Assessment Tool" in flow.tip("realistic").help

    def test_every_topic_is_a_question_under_its_tip(self, flow: Flow) -> None:
        assert {q.id: (q.tip, q.type) for q in flow.questions} == QUESTIONS
        assert [q.id for q in flow.questions] == list(QUESTIONS)

    def test_groups_store_each_part_under_its_own_id(self, flow: Flow) -> None:
        groups = {q.id: [part.id for part in q.parts] for q in flow.questions if q.parts}
        assert groups == PARTS
        for question_id, parts in PARTS.items():
            assert flow.question(question_id).answer_ids == tuple(parts)
            for part in parts:
                assert flow.question_of(part) is flow.question(question_id)
        assert flow.question_of("coordinator") is flow.question("coordinator")
        assert flow.question_of("partner_count") is None
        optional = [p.id for q in flow.questions for p in q.parts if p.optional]
        assert optional == ["users_how"]

    def test_branching_and_the_early_stop(self, flow: Flow) -> None:
        branches = {q.id: q.ask_when for q in flow.questions if q.ask_when is not None}
        assert branches == {
            "lighter_route_which": Compare("lighter_route", "equals", "yes"),
            "governance": Compare("form", "equals", "formal"),
            "conflict_of_interest": AnyOf(
                (
                    Compare("kinds", "contains", "private"),
                    Compare("kinds", "contains", "independent_care"),
                )
            ),
            "system_level": Compare(
                "full_benefit", "in", ("within_6_months", "months_6_to_12", "not_sure")
            ),
        }
        stops = {q.id: q.stop_when for q in flow.questions if q.stop_when is not None}
        assert stops == {"lighter_route_which": Compare("lighter_route", "equals", "yes")}

    def test_choice_options(self, flow: Flow) -> None:
        values = {q.id: [o.value for o in q.options] for q in flow.questions if q.options}
        values |= {p.id: [o.value for o in p.options] for q in flow.questions for p in q.parts}
        assert values["kinds"] == [
            "nhs",
            "primary_care",
            "council",
            "social_care",
            "independent_care",
            "police",
            "fire",
            "housing",
            "voluntary",
            "private",
            "community",
            "other",
        ]
        assert values["lighter_route"] == values["user_outcomes"] == ["yes", "no", "not_sure"]
        assert [o.label for o in flow.question("form").options] == [
            "Formal and long-term (contract, pooled budget or new body)",
            "Memorandum of understanding",
            "Informal short-term project",
        ]
        yes_progress_no_unsure = ["yes", "in_progress", "no", "not_sure"]
        assert values["governance_review"] == yes_progress_no_unsure
        assert values["conflict_of_interest"] == yes_progress_no_unsure
        assert values["baseline"] == values["exit_arrangements"] == yes_progress_no_unsure
        assert values["costs"] == ["both", "time_only", "cost_only", "neither", "not_sure"]
        assert values["measures"] == ["all", "some", "none", "not_sure"]
        assert values["evaluation"] == ["funded", "unfunded", "in_progress", "none", "not_sure"]
        timescales = ["within_6_months", "months_6_to_12", "months_12_to_24", "over_24_months"]
        assert values["first_result"] == values["full_benefit"] == [*timescales, "not_sure"]
        assert values["resources"] == [
            "money_and_staff",
            "staff_only",
            "money_only",
            "none",
            "not_sure",
        ]
        assert values["senior_commitment"] == ["all", "some", "none", "not_sure"]
        assert values["review_cadence"] == [
            "quarterly",
            "six_monthly",
            "annual",
            "end_of_project",
            "not_decided",
        ]
        involvement = ["already", "before_design", "once_running", "no", "not_sure"]
        assert values["frontline"] == values["users_involved"] == involvement
        assert values["coordinator"] == ["protected", "named", "nobody", "not_sure"]

    def test_five_questions_offer_in_progress(self, flow: Flow) -> None:
        offering = [q.id for q in flow.questions if q.offers(IN_PROGRESS)]
        assert offering == [
            "governance",
            "conflict_of_interest",
            "measuring",
            "evaluation",
            "exit_arrangements",
        ]

    def test_lists(self, flow: Flow) -> None:
        organisations = flow.question("organisations")
        assert (organisations.min_items, organisations.max_items) == (2, 100)
        assert organisations.split_on_commas and not organisations.more_messages
        assert organisations.first_item == "lead"
        objectives = flow.question("objectives")
        assert (objectives.min_items, objectives.max_items) == (1, 3)
        assert objectives.more_messages and not objectives.split_on_commas
        assert objectives.max_length == 300

    def test_date_limits_and_default(self, flow: Flow) -> None:
        review = flow.question("first_review_date")
        assert (review.min_days_from_today, review.max_days_from_today) == (0, 730)
        assert review.default == "first_review"

    def test_only_the_added_value_may_be_skipped(self, flow: Flow) -> None:
        assert [q.id for q in flow.questions if q.optional] == ["added_value"]

    def test_all_nineteen_flags(self, flow: Flow) -> None:
        assert {
            rule.id: (
                rule.tip,
                [case.severity for case in rule.cases],
                rule.unsure is not None,
                rule.in_progress is not None,
            )
            for rule in flow.flags
        } == {
            flag_id: (tip, severities, unsure, progress)
            for flag_id, (tip, severities, unsure, progress) in FLAGS.items()
        }
        for rule in flow.flags:
            for case in rule.cases:
                assert case.wording.reason and case.wording.condition, rule.id
        setters = {rule.id: rule.sets_verdict for rule in flow.flags if rule.sets_verdict}
        assert setters == {"lighter-route": "Use a less formal route"}
        assert [rule.id for rule in flow.flags if rule.only_sets_verdict] == ["lighter-route"]

    def test_flag_rules_read_structured_answers(self, flow: Flow) -> None:
        rules = {rule.id: rule for rule in flow.flags}
        assert rules["many-partners"].cases[0].when == Compare("organisations", "greater_than", 8)
        assert rules["lighter-route-unsure"].cases[0].when == Compare(
            "lighter_route", "equals", "not_sure"
        )
        assert rules["overambitious-timeline"].cases[0].when == AllOf(
            (
                Compare("system_level", "equals", "yes"),
                Compare("full_benefit", "in", ("within_6_months", "months_6_to_12")),
            )
        )
        assert rules["no-exit"].cases[0].when == AllOf(
            (Compare("exit_arrangements", "equals", "no"), Compare("form", "equals", "formal"))
        )
        assert rules["no-exit"].questions() == {"exit_arrangements", "form"}
        assert rules["no-governance"].questions() == {"governance_review", "accountable_lead"}

    def test_load_by_path(self) -> None:
        path = Path(__file__).parents[2] / "flows" / "definitions" / "check.toml"
        assert [q.id for q in load_flow(path).questions] == list(QUESTIONS)
        assert load_flow(str(path)).source == str(path)


# --- the policy's promises, walked with a run ----------------------------------------------


def _typed(question: object) -> bool:
    """Whether a person has to type this question's answer rather than click one."""
    if question.type in ("short_text", "long_text", "list"):  # type: ignore[attr-defined]
        return not question.optional  # type: ignore[attr-defined]
    if question.type in ("number", "date"):  # type: ignore[attr-defined]
        return question.default is None  # type: ignore[attr-defined]
    return False


def walk(flow: Flow, **overrides: object) -> list[str]:
    """The questions a run asks, answering typically (GOOD_REPLIES) with overrides."""
    run, seen = FlowRun(flow, today=TODAY), []
    replies = {**GOOD_REPLIES, **overrides}
    while run.current is not None:
        seen.append(run.current.id)
        if run.current.default is not None:  # the suggested date is simply accepted
            assert run.suggestion() is not None
            give(run, run.suggestion())
        else:
            give(run, reply_to(run.current, replies))
    assert run.state == "summary"
    return seen


TYPICAL = {
    "form": "mou",
    "measures": "all",
    "kinds": ["nhs", "social_care", "voluntary"],  # no private or independent provider
    "full_benefit": "months_12_to_24",
}


class TestTheCheckIsShort:
    def test_a_typical_check_asks_at_most_20_questions_4_of_them_typed(self, flow: Flow) -> None:
        seen = walk(flow, **TYPICAL)
        typed = [question_id for question_id in seen if _typed(flow.question(question_id))]
        assert len(seen) <= 20
        assert len(typed) <= 4
        assert typed == ["name", "organisations", "problem", "objectives"]
        for skipped in ("governance", "conflict_of_interest", "system_level"):
            assert skipped not in seen

    def test_even_with_every_branch_it_stays_short(self, flow: Flow) -> None:
        seen = walk(
            flow,
            form="formal",
            kinds=["nhs", "private"],
            full_benefit="within_6_months",
        )
        assert seen == [
            question.id for question in flow.questions if question.id != "lighter_route_which"
        ]
        assert len([q for q in seen if _typed(flow.question(q))]) <= 4

    def test_a_yes_to_a_less_formal_route_ends_within_8_questions(self, flow: Flow) -> None:
        seen = walk(flow, lighter_route="yes")
        assert len(seen) <= 8
        assert seen[-2:] == ["lighter_route", "lighter_route_which"]

    @pytest.mark.parametrize("form", ["formal", "mou", "informal"])
    def test_the_first_review_date_is_suggested(self, flow: Flow, form: str) -> None:
        # The only date question has a default, so it never needs typing.
        dated = [q for q in flow.questions if q.type in ("date", "number")]
        assert [q.id for q in dated] == ["first_review_date"]
        assert all(q.default for q in dated)
        assert walk(flow, form=form)


def _answers_read_by_flags(flow: Flow) -> list[str]:
    """Every answer id a flag's condition reads, but lists (counted, not chosen) and the
    answers of a flag that only sets the verdict."""
    read = {
        answer_id
        for rule in flow.flags
        if not rule.only_sets_verdict
        for answer_id in rule.questions()
    }
    kept = [q for q in flow.questions if q.type != "list"]
    return [answer_id for q in kept for answer_id in q.answer_ids if answer_id in read]


READ_BY_FLAGS = _answers_read_by_flags(load_flow("check"))


def test_flags_read_these_answers() -> None:
    assert READ_BY_FLAGS == [
        "lighter_route",
        "form",
        "governance_review",
        "accountable_lead",
        "costs",
        "conflict_of_interest",
        "user_outcomes",
        "measures",
        "baseline",
        "evaluation",
        "full_benefit",
        "system_level",
        "resources",
        "senior_commitment",
        "milestones",
        "review_cadence",
        "exit_arrangements",
        "frontline",
        "users_involved",
        "coordinator",
    ]


# `form` only sets how severe a flag is (no exit arrangements is critical for a formal
# arrangement): it is the proposer's own plan, not a fact they may not know yet, so it
# offers no Not sure. Every answer that raises a flag does.
@pytest.mark.parametrize("answer_id", [a for a in READ_BY_FLAGS if a != "form"])
def test_every_answer_a_flag_reads_can_be_not_sure(flow: Flow, answer_id: str) -> None:
    question = flow.question_of(answer_id)
    assert question is not None
    part = next((p for p in question.parts if p.id == answer_id), None)
    values = [o.value for o in (part or question).options]
    # Not sure itself, or (how often to review) "Not decided yet", which "not sure" means.
    assert NOT_SURE in values or "not_decided" in values
    typed = parse_answer(question, "not sure", today=TODAY)
    assert typed[answer_id] in (NOT_SURE, "not_decided")


def test_the_verdict_flags_question_offers_not_sure_and_its_own_flag(flow: Flow) -> None:
    assert flow.question("lighter_route").offers(NOT_SURE)
    unsure = next(rule for rule in flow.flags if rule.id == "lighter-route-unsure")
    assert unsure.cases[0].when.names(NOT_SURE)  # type: ignore[union-attr]


# --- the Question and Flow helpers -----------------------------------------------------------


class TestQuestionHelpers:
    def test_is_answered_and_value_in(self, flow: Flow) -> None:
        involvement = flow.question("involvement")
        some = {"frontline": "already"}
        both = {"frontline": "already", "users_involved": "no"}
        assert not involvement.is_answered(some)
        assert involvement.is_answered(both)  # the optional part may be missing
        assert involvement.value_in({**both, "name": "x"}) == both
        assert flow.question("name").value_in({"name": "x"}) == "x"
        assert flow.question("name").value_in({}) is None
        assert flow.question("added_value").is_answered({"added_value": None})

    def test_offers(self, flow: Flow) -> None:
        assert flow.question("timing").offers(NOT_SURE)
        assert not flow.question("timing").offers(IN_PROGRESS)
        assert flow.question("measuring").offers(IN_PROGRESS)  # its baseline does
        assert not flow.question("form").offers(NOT_SURE)
        assert not flow.question("name").offers(NOT_SURE)

    def test_applicable_and_relevant_answers_honour_the_early_stop(self, flow: Flow) -> None:
        answers = {
            "name": "x",
            "lighter_route": "yes",
            "lighter_route_which": "network",
            "form": "formal",
            "governance_review": "no",
        }
        assert [q.id for q in flow.applicable(answers)] == [
            "name",
            "organisations",
            "kinds",
            "problem",
            "lighter_route",
            "lighter_route_which",
        ]
        assert flow.relevant_answers(answers) == {
            "name": "x",
            "lighter_route": "yes",
            "lighter_route_which": "network",
        }
        no = {**answers, "lighter_route": "no"}
        assert "lighter_route_which" not in flow.relevant_answers(no)
        assert flow.relevant_answers(no)["governance_review"] == "no"
        assert "governance" in [q.id for q in flow.applicable(no)]


MINI = """
[flow]
id = "mini"
title = "Mini"
version = 1

[option_sets]
yes_no = [{ value = "yes", label = "Yes" }, { value = "no", label = "No" }]

[[tips]]
id = "about"
title = "About"
help = "Facts."
assessed = false

[[tips]]
id = "selective"
title = "Be selective"
help = "Choose."

[[questions]]
id = "name"
tip = "about"
type = "short_text"
text = "Name?"

[[questions]]
id = "form"
tip = "selective"
type = "choice"
text = "Form?"
options = [{ value = "formal", label = "Formal" }, { value = "informal", label = "Informal" }]

[[questions]]
id = "review"
tip = "selective"
type = "choice"
text = "Reviewed?"
options = "yes_no"
ask_when = { question = "form", equals = "formal" }

[[questions]]
id = "count"
tip = "selective"
type = "number"
text = "How many?"
min = 2
max = 50

[[flags]]
id = "no-review"
tip = "selective"
severity = "critical"
when = { question = "review", equals = "no" }
reason = "Not reviewed."
condition = "Review it."
"""

ASK_WHEN = 'ask_when = { question = "form", equals = "formal" }'
FLAG_WHEN = 'when = { question = "review", equals = "no" }'
FORM_OPTIONS = (
    'options = [{ value = "formal", label = "Formal" }, { value = "informal", label = "Informal" }]'
)
COUNT = 'id = "count"\ntip = "selective"\ntype = "number"'
FLAG = 'id = "no-review"\ntip = "selective"\nseverity = "critical"'
QUESTION_NAME = 'id = "name"\ntip = "about"\ntype = "short_text"\ntext = "Name?"'
YES_NO = 'yes_no = [{ value = "yes", label = "Yes" }, { value = "no", label = "No" }]'
YES_NO_UNSURE = YES_NO.replace("]", ', { value = "not_sure", label = "Not sure" }]')
FLAG_END = 'condition = "Review it."'
FLAG_BODY = FLAG_WHEN + '\nreason = "Not reviewed."\n' + FLAG_END
UNSURE = '\nunsure = { reason = "Not known.", condition = "Find out." }'
CASES = "cases = [{ " + FLAG_WHEN + ', reason = "No.", condition = "Do." }]'
LIST_QUESTION = """
[[questions]]
id = "items"
tip = "selective"
type = "list"
text = "Which?"
"""
PART_B = ', { id = "second", label = "Second", options = "yes_no" }'
GROUP_QUESTION = (
    """
[[questions]]
id = "when"
tip = "selective"
type = "group"
text = "When?"
parts = [{ id = "first", label = "First", options = "yes_no" }"""
    + PART_B
    + "]\n"
)
DATE_QUESTION = """
[[questions]]
id = "date"
tip = "selective"
type = "date"
text = "When?"
"""


def _load_mini(tmp_path: Path, old: str = "", new: str = "", extra: str = "") -> Flow:
    assert old in MINI
    path = tmp_path / "mini.toml"
    path.write_text(MINI.replace(old, new, 1) + extra, encoding="utf-8")
    return load_flow(path)


def test_mini_definition_loads(tmp_path: Path) -> None:
    flow = _load_mini(tmp_path)
    assert [q.id for q in flow.questions] == ["name", "form", "review", "count"]
    assert flow.question("review").options[0].label == "Yes"


BAD_DEFINITIONS = [
    pytest.param(
        ASK_WHEN,
        ASK_WHEN.replace('"form"', '"frm"'),
        "",
        ["question 'review', ask_when", "unknown question 'frm'"],
        id="ask_when-unknown-question",
    ),
    pytest.param(
        ASK_WHEN,
        'ask_when = { question = "count", greater_than = 3 }',
        "",
        ["question 'review', ask_when", "'count' comes later"],
        id="ask_when-later-question",
    ),
    pytest.param(
        ASK_WHEN,
        'ask_when = { question = "review", equals = "yes" }',
        "",
        ["question 'review'", "cannot depend on its own answer"],
        id="ask_when-itself",
    ),
    pytest.param(
        FLAG_WHEN,
        FLAG_WHEN.replace('"review"', '"reviw"'),
        "",
        ["flag 'no-review', when", "unknown question 'reviw'"],
        id="flag-unknown-question",
    ),
    pytest.param(
        ASK_WHEN,
        ASK_WHEN.replace('"formal"', '"formall"'),
        "",
        ["question 'review'", "'formall' is not an option of 'form'"],
        id="condition-unknown-option",
    ),
    pytest.param(
        ASK_WHEN,
        'ask_when = { question = "form", contains = "formal" }',
        "",
        ["'contains' needs a multi_choice question"],
        id="contains-on-choice",
    ),
    pytest.param(
        ASK_WHEN,
        'ask_when = { question = "form", greater_than = 3 }',
        "",
        ["'greater_than' needs a number or list question; 'form' is choice"],
        id="number-operator-on-choice",
    ),
    pytest.param(
        FLAG_WHEN,
        'when = { question = "count", greater_than = "8" }',
        "",
        ["flag 'no-review', when", "'greater_than' needs a whole number"],
        id="number-operator-with-text",
    ),
    pytest.param(
        ASK_WHEN,
        'ask_when = { question = "form", equal = "formal" }',
        "",
        ["unknown operator 'equal'"],
        id="unknown-operator",
    ),
    pytest.param(
        ASK_WHEN,
        'ask_when = { question = "form", equals = "formal", in = ["informal"] }',
        "",
        ["needs exactly one operator"],
        id="two-operators",
    ),
    pytest.param(
        ASK_WHEN, "ask_when = { all = [] }", "", ["'all' needs a non-empty list"], id="empty-all"
    ),
    pytest.param(
        ASK_WHEN,
        'ask_when = "form is formal"',
        "",
        ["question 'review', ask_when", "a condition must be a table"],
        id="condition-not-a-table",
    ),
    pytest.param(
        'tip = "selective"\ntype = "choice"\ntext = "Form?"',
        'tip = "selectiv"\ntype = "choice"\ntext = "Form?"',
        "",
        ["question 'form'", "unknown tip 'selectiv'"],
        id="question-unknown-tip",
    ),
    pytest.param(
        FLAG,
        FLAG.replace('"selective"', '"flexible"'),
        "",
        ["flag 'no-review'", "'flexible' is not a tip"],
        id="flag-unknown-tip",
    ),
    pytest.param(
        FLAG,
        FLAG.replace('"selective"', '"about"'),
        "",
        ["flag 'no-review'", "'about' is not assessed"],
        id="flag-on-unassessed-tip",
    ),
    pytest.param(
        'id = "count"',
        'id = "form"',
        "",
        ["question 'form'", "duplicate id 'form'"],
        id="duplicate-question",
    ),
    pytest.param(
        "",
        "",
        "\n[[flags]]\n" + FLAG + '\nwhen = { question = "count", at_least = 9 }\n'
        'reason = "Many."\ncondition = "Fewer."\n',
        ["flag 'no-review'", "duplicate flag id"],
        id="duplicate-flag",
    ),
    pytest.param(
        'id = "selective"',
        'id = "about"',
        "",
        ["tip 'about'", "duplicate tip id"],
        id="duplicate-tip",
    ),
    pytest.param(
        FORM_OPTIONS,
        "",
        "",
        ["question 'form'", "needs 'options'"],
        id="choice-without-options",
    ),
    pytest.param(
        'options = "yes_no"',
        'options = "yes_or_no"',
        "",
        ["question 'review'", "unknown option set 'yes_or_no'"],
        id="unknown-option-set",
    ),
    pytest.param(
        FORM_OPTIONS,
        'options = [{ value = "formal", label = "Formal" }]',
        "",
        ["question 'form'", "at least two"],
        id="one-option",
    ),
    pytest.param(
        FORM_OPTIONS,
        'options = [{ value = "formal", label = "A" }, { value = "formal", label = "B" }]',
        "",
        ["question 'form'", "duplicate option value 'formal'"],
        id="duplicate-option",
    ),
    pytest.param(
        'type = "number"',
        'type = "integer"',
        "",
        ["question 'count'", "unknown type 'integer'"],
        id="unknown-type",
    ),
    pytest.param(
        "min = 2\nmax = 50",
        "min = 60\nmax = 50",
        "",
        ["question 'count'", "'min' (60) is greater than 'max' (50)"],
        id="min-above-max",
    ),
    pytest.param(
        QUESTION_NAME,
        QUESTION_NAME + "\nmin = 3",
        "",
        ["question 'name'", "'min' does not apply to a short_text question"],
        id="setting-for-another-type",
    ),
    pytest.param(
        ASK_WHEN,
        ASK_WHEN.replace("ask_when", "ask_wen"),
        "",
        ["question 'review'", "unknown key 'ask_wen'"],
        id="unknown-key",
    ),
    pytest.param(
        'id = "count"',
        'id = "summary"',
        "",
        ["question 'summary'", "reserved"],
        id="reserved-question-id",
    ),
    pytest.param(
        QUESTION_NAME,
        QUESTION_NAME.replace('"about"', '"selective"'),
        "\n[[questions]]\n" + QUESTION_NAME.replace('"name"', '"late"'),
        ["question 'late'", "keep questions grouped in the order of the tips"],
        id="questions-out-of-tip-order",
    ),
    pytest.param(
        'severity = "critical"',
        'severity = "high"',
        "",
        ["flag 'no-review'", "severity 'high' must be one of: critical, warning, verdict"],
        id="bad-severity",
    ),
    pytest.param(
        'severity = "critical"',
        'severity = "verdict"',
        "",
        ["flag 'no-review'", "severity 'verdict' needs sets_verdict"],
        id="verdict-severity-without-verdict",
    ),
    pytest.param(
        'reason = "Not reviewed."\n',
        "",
        "",
        ["flag 'no-review'", "missing 'reason'"],
        id="missing-reason",
    ),
    pytest.param(
        'condition = "Review it."\n',
        "",
        "",
        ["flag 'no-review'", "missing 'condition'"],
        id="missing-condition",
    ),
    pytest.param(
        FLAG_WHEN,
        "",
        "",
        ["flag 'no-review'", "missing 'when'"],
        id="missing-when",
    ),
    pytest.param(
        'severity = "critical"',
        'severity = "warning"\ncritical_when = { question = "form", equals = "formal" }',
        "",
        ["flag 'no-review'", "unknown key 'critical_when'"],
        id="critical_when-is-gone",
    ),
    pytest.param(
        'severity = "critical"',
        'severity = "critical"\nsets_verdict = "Stop"',
        "",
        ["flag 'no-review'", "sets_verdict must be one of"],
        id="unknown-verdict",
    ),
    pytest.param(
        "version = 1",
        'version = "one"',
        "",
        ["[flow]", "'version' must be a whole number"],
        id="bad-version",
    ),
    pytest.param(
        'title = "Mini"',
        "",
        "",
        ["[flow]", "missing 'title'"],
        id="missing-flow-title",
    ),
    pytest.param(
        'title = "Mini"',
        'title = "Mini',
        "",
        ["not valid TOML"],
        id="toml-syntax",
    ),
    pytest.param(
        YES_NO,
        YES_NO_UNSURE,
        "",
        [
            "flag 'no-review'",
            "an answer it reads can be 'not_sure': add 'unsure = { reason, condition }'",
        ],
        id="not-sure-without-unsure-words",
    ),
    pytest.param(
        YES_NO,
        YES_NO.replace("]", ', { value = "in_progress", label = "In progress" }]'),
        "",
        [
            "flag 'no-review'",
            "can be 'in_progress': add 'in_progress = { reason, condition }'",
        ],
        id="in-progress-without-its-words",
    ),
    pytest.param(
        FLAG_END,
        FLAG_END + UNSURE,
        "",
        ["flag 'no-review'", "'unsure' is never used: no answer it reads offers it"],
        id="unused-unsure-words",
    ),
    pytest.param(
        FLAG_END,
        FLAG_END + UNSURE.replace("unsure", "in_progress"),
        "",
        ["flag 'no-review'", "'in_progress' is never used"],
        id="unused-in-progress-words",
    ),
    pytest.param(
        FLAG_END,
        FLAG_END + '\nunsure = "Not known."',
        "",
        ["flag 'no-review', unsure", "must be a table { reason, condition }"],
        id="unsure-not-a-table",
    ),
    pytest.param(
        FLAG_END,
        FLAG_END + '\nunsure = { reason = "Not known." }',
        "",
        ["flag 'no-review', unsure", "missing 'condition'"],
        id="unsure-without-condition",
    ),
    pytest.param(
        FLAG,
        FLAG + "\n" + CASES,
        "",
        ["flag 'no-review'", "'condition' belongs in each of its cases"],
        id="cases-and-a-top-level-when",
    ),
    pytest.param(
        FLAG + "\n" + FLAG_BODY,
        FLAG + "\ncases = []",
        "",
        ["flag 'no-review'", "'cases' must be a list of { when, reason, condition }"],
        id="empty-cases",
    ),
    pytest.param(
        FLAG + "\n" + FLAG_BODY,
        FLAG.replace('\nseverity = "critical"', "") + "\n" + CASES,
        "",
        ["flag 'no-review', case #1", "missing 'severity' (critical, warning or verdict)"],
        id="case-without-severity",
    ),
    pytest.param(
        FLAG + "\n" + FLAG_BODY,
        FLAG + "\n" + CASES.replace("reason =", "why ="),
        "",
        ["flag 'no-review', case #1", "unknown key 'why'"],
        id="case-unknown-key",
    ),
    pytest.param(
        FLAG + "\n" + FLAG_BODY,
        FLAG + "\n" + CASES.replace(FLAG_WHEN + ", ", ""),
        "",
        ["flag 'no-review', case #1", "missing 'when'"],
        id="case-without-when",
    ),
    pytest.param(
        FLAG + "\n" + FLAG_BODY,
        FLAG + "\n" + CASES.replace("}, reason", '}, severity = "grave", reason'),
        "",
        ["flag 'no-review', case #1", "severity 'grave' must be one of"],
        id="case-bad-severity",
    ),
    pytest.param(
        "",
        "",
        LIST_QUESTION + "\nmore_messages = true\n",
        ["question 'items'", "'more_messages' needs 'max_items'"],
        id="open-list-without-a-maximum",
    ),
    pytest.param(
        "",
        "",
        LIST_QUESTION + "\nmin_items = 4\nmax_items = 3\n",
        ["question 'items'", "'min_items' (4) is greater than 'max_items' (3)"],
        id="min-items-above-max-items",
    ),
    pytest.param(
        "",
        "",
        LIST_QUESTION + "\n" + FORM_OPTIONS + "\n",
        ["question 'items'", "'options' does not apply to a list question"],
        id="list-with-options",
    ),
    pytest.param(
        FLAG_WHEN,
        'when = { question = "items", equals = "x" }',
        LIST_QUESTION,
        ["flag 'no-review', when", "'items' is a list: compare its number of items"],
        id="list-compared-as-text",
    ),
    pytest.param(
        "",
        "",
        GROUP_QUESTION.replace(PART_B, ""),
        ["question 'when'", "a group needs 'parts': a list of at least two choices"],
        id="group-of-one",
    ),
    pytest.param(
        "",
        "",
        GROUP_QUESTION.replace('id = "first"', 'id = "name"'),
        ["question 'when'", "duplicate id 'name'"],
        id="group-part-reuses-an-id",
    ),
    pytest.param(
        "",
        "",
        GROUP_QUESTION.replace('id = "first"', 'id = "done"'),
        ["question 'when', part #1", "'done' is reserved"],
        id="group-part-reserved-id",
    ),
    pytest.param(
        "",
        "",
        GROUP_QUESTION.replace('label = "First"', 'label = "First", hint = "h"'),
        ["question 'when', part #1", "unknown key 'hint'"],
        id="group-part-unknown-key",
    ),
    pytest.param(
        "",
        "",
        GROUP_QUESTION.replace(', options = "yes_no"', "", 1),
        ["question 'when', part #1", "needs 'options'"],
        id="group-part-without-options",
    ),
    pytest.param(
        "",
        "",
        DATE_QUESTION + '\ndefault = "tomorrow"\n',
        ["question 'date'", "unknown default 'tomorrow' (use: first_review)"],
        id="unknown-date-default",
    ),
    pytest.param(
        FORM_OPTIONS,
        FORM_OPTIONS + '\ndefault = "first_review"',
        "",
        ["question 'form'", "'default' does not apply to a choice question"],
        id="default-on-a-choice",
    ),
    pytest.param(
        FORM_OPTIONS,
        FORM_OPTIONS + "\noptional = true",
        "",
        ["question 'form'", "'optional' does not apply to a choice question"],
        id="optional-choice",
    ),
    pytest.param(
        ASK_WHEN,
        ASK_WHEN + '\nstop_when = { question = "count", at_least = 3 }',
        "",
        ["question 'review', stop_when", "'count'"],
        id="stop_when-on-a-later-question",
    ),
    pytest.param(
        "version = 1",
        "version = 1\ntoo_early_at = 0",
        "",
        ["[flow]", "'too_early_at' must be at least 1"],
        id="too-early-at-zero",
    ),
    pytest.param(
        "version = 1",
        "version = 1\ntoo_early = 5",
        "",
        ["[flow]", "unknown key 'too_early'"],
        id="unknown-flow-key",
    ),
]


@pytest.mark.parametrize(("old", "new", "extra", "expected"), BAD_DEFINITIONS)
def test_invalid_definition_names_file_entry_and_problem(
    tmp_path: Path, old: str, new: str, extra: str, expected: list[str]
) -> None:
    with pytest.raises(FlowDefinitionError) as raised:
        _load_mini(tmp_path, old, new, extra)
    message = str(raised.value)
    assert message.startswith(str(tmp_path / "mini.toml") + ": ")
    for part in expected:
        assert part in message


def test_no_questions(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text(MINI.split("[[questions]]")[0], encoding="utf-8")
    with pytest.raises(FlowDefinitionError, match=r"empty\.toml: top level: .*\[\[questions\]\]"):
        load_flow(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FlowDefinitionError, match=r"nowhere\.toml: cannot read"):
        load_flow(tmp_path / "nowhere.toml")


def test_unknown_packaged_flow() -> None:
    with pytest.raises(FlowDefinitionError, match="no packaged flow named 'chekc'"):
        load_flow("chekc")


def test_flow_name_cannot_escape_the_package() -> None:
    with pytest.raises(FlowDefinitionError, match="is not a flow name"):
        load_flow("..\\check")


def test_a_flag_that_names_not_sure_needs_no_unsure_words(tmp_path: Path) -> None:
    text = MINI.replace(YES_NO, YES_NO_UNSURE).replace(FLAG_END, FLAG_END + UNSURE)
    text += (
        '\n[[flags]]\nid = "review-unsure"\ntip = "selective"\nseverity = "warning"\n'
        'when = { question = "review", equals = "not_sure" }\n'
        'reason = "Not known."\ncondition = "Find out."\n'
    )
    path = tmp_path / "named.toml"
    path.write_text(text, encoding="utf-8")
    loaded = load_flow(path)
    named = next(rule for rule in loaded.flags if rule.id == "review-unsure")
    assert named.unsure is None and named.in_progress is None


def test_lists_groups_defaults_and_stops_load(tmp_path: Path) -> None:
    extra = (
        LIST_QUESTION
        + "max_items = 3\nmore_messages = true\nsplit_on_commas = true\n"
        + 'first_item = "lead"\nmax_length = 40\n'
        + GROUP_QUESTION
        + 'ask_when = { question = "items", greater_than = 1 }\n'
        + 'stop_when = { question = "first", equals = "no" }\n'
        + DATE_QUESTION
        + 'default = "first_review"\nask_when = { question = "second", equals = "yes" }\n'
    )
    flow = _load_mini(tmp_path, "version = 1", "version = 3\ntoo_early_at = 2", extra)
    assert (flow.version, flow.too_early_at) == (3, 2)
    items = flow.question("items")
    assert (items.min_items, items.max_items, items.max_length) == (1, 3, 40)
    assert items.more_messages and items.split_on_commas and items.first_item == "lead"
    group = flow.question("when")
    assert group.answer_ids == ("first", "second")
    assert group.stop_when == Compare("first", "equals", "no")
    assert flow.question("date").default == "first_review"
    stopped = {"name": "x", "form": "informal", "count": 3, "items": ["a", "b"], "first": "no"}
    assert [q.id for q in flow.applicable(stopped)][-1] == "when"


def test_too_early_at_is_optional(tmp_path: Path) -> None:
    assert _load_mini(tmp_path).too_early_at is None


def test_unused_unsure_words_on_a_verdict_flag_are_refused() -> None:
    path = Path(__file__).parents[2] / "flows" / "definitions" / "check.toml"
    end = 'condition = "Try the less formal route first; check again if it falls short."'
    text = path.read_text(encoding="utf-8")
    assert end in text
    with pytest.raises(FlowDefinitionError, match="'unsure' is never used"):
        parse_flow(text.replace(end, end + UNSURE), source="check.toml")


# --- roles: the answers the bot relies on by meaning ------------------------------------

ROLES_MINI = MINI.replace(
    "version = 1\n", 'version = 1\n\n[flow.roles]\nname = "name"\nform = "form"\n', 1
)


def test_roles_name_the_answers_code_relies_on(tmp_path: Path) -> None:
    path = tmp_path / "mini.toml"
    path.write_text(ROLES_MINI, encoding="utf-8")
    flow = load_flow(path)
    assert flow.roles == {"name": "name", "form": "form"}
    answers = {"name": "Falls team", "form": "formal"}
    assert flow.answer_for("name", answers) == "Falls team"
    assert flow.by_role(answers) == {"name": "Falls team", "form": "formal"}
    assert flow.role_question("form") is flow.question("form")
    assert flow.answer_for("review_cadence", answers) is None  # not declared
    flow.require(["name", "form"])
    with pytest.raises(FlowDefinitionError, match=r"mini\.toml: \[flow.roles\] needs 'problem'"):
        flow.require(["name", "problem"])


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ('nickname = "name"', "unknown role 'nickname'"),
        ('name = "title"', "name = 'title' is not a question's id"),
        ('decision = "form"', "decision = 'form' must offer 'continue'"),
    ],
)
def test_a_bad_role_is_refused_at_load(tmp_path: Path, roles: str, expected: str) -> None:
    path = tmp_path / "mini.toml"
    path.write_text(MINI.replace("version = 1\n", f"version = 1\n\n[flow.roles]\n{roles}\n", 1))
    with pytest.raises(FlowDefinitionError) as raised:
        load_flow(path)
    assert str(raised.value).startswith(f"{path}: [flow.roles]: ")
    assert expected in str(raised.value)
