"""Loading flow definitions: the packaged check matches DOMAIN.md, bad files fail clearly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows import Flow, FlowDefinitionError, load_flow
from flows.conditions import AllOf, AnyOf, Compare

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
    "lead_org": ("about", "short_text"),
    "partner_orgs": ("about", "long_text"),
    "partner_types": ("about", "multi_choice"),
    "problem": ("about", "long_text"),
    "lighter_route": ("selective", "choice"),
    "form": ("selective", "choice"),
    "costs_estimated": ("selective", "choice"),
    "governance_review": ("selective", "choice"),
    "accountable_lead": ("selective", "choice"),
    "conflict_of_interest": ("selective", "choice"),
    "partner_count": ("selective", "number"),
    "objectives": ("outcomes", "long_text"),
    "user_outcomes": ("outcomes", "choice"),
    "measures_defined": ("outcomes", "choice"),
    "measures": ("outcomes", "long_text"),
    "baseline": ("outcomes", "choice"),
    "evaluation": ("outcomes", "choice"),
    "first_result_months": ("realistic", "number"),
    "system_level": ("realistic", "choice"),
    "full_benefit_months": ("realistic", "number"),
    "resources": ("realistic", "choice"),
    "milestones": ("realistic", "choice"),
    "senior_commitment": ("realistic", "choice"),
    "review_cadence": ("flexible", "choice"),
    "first_review_date": ("flexible", "date"),
    "exit_arrangements": ("flexible", "choice"),
    "value_decider": ("flexible", "short_text"),
    "frontline": ("engaged", "choice"),
    "users_involved": ("engaged", "choice"),
    "users_how": ("engaged", "long_text"),
    "coordinator": ("engaged", "choice"),
}

# DOMAIN.md's red-flag table: id -> (tip, severity)
FLAGS = {
    "lighter-route": ("selective", "verdict"),
    "lighter-route-unsure": ("selective", "warning"),
    "costs-unknown": ("selective", "warning"),
    "no-governance": ("selective", "critical"),
    "conflict-of-interest": ("selective", "critical"),
    "many-partners": ("selective", "warning"),
    "not-user-outcomes": ("outcomes", "critical"),
    "no-measure": ("outcomes", "warning"),
    "no-baseline": ("outcomes", "warning"),
    "no-evaluation": ("outcomes", "warning"),
    "overambitious-timeline": ("realistic", "warning"),
    "no-resources": ("realistic", "critical"),
    "no-milestones": ("realistic", "warning"),
    "no-senior-commitment": ("realistic", "warning"),
    "no-review": ("flexible", "warning"),
    "no-exit": ("flexible", "warning"),  # critical_when form is formal
    "frontline-not-engaged": ("engaged", "critical"),
    "users-not-engaged": ("engaged", "critical"),
    "no-coordinator": ("engaged", "warning"),
}


class TestPackagedCheck:
    def test_metadata(self, flow: Flow) -> None:
        assert (flow.id, flow.title, flow.version) == ("check", "Partnership check", 1)

    def test_tips_in_order_with_help(self, flow: Flow) -> None:
        assert [(tip.id, tip.title) for tip in flow.tips] == TIPS
        assert [tip.assessed for tip in flow.tips] == [False] + [True] * 5
        for tip in flow.tips:
            sentences = re.findall(r"[.?!](?:\s|$)", tip.help)
            assert 2 <= len(sentences) <= 5, tip.id

    def test_help_cites_the_reference_instruments(self, flow: Flow) -> None:
        assert "is there a better way of serving the public?" in flow.tip("selective").help
        assert "Partnership Outcomes Evaluation Toolkit" in flow.tip("outcomes").help

    def test_every_topic_is_a_question_under_its_tip(self, flow: Flow) -> None:
        assert {q.id: (q.tip, q.type) for q in flow.questions} == QUESTIONS
        assert [q.id for q in flow.questions] == list(QUESTIONS)

    def test_branching(self, flow: Flow) -> None:
        branches = {q.id: q.ask_when for q in flow.questions if q.ask_when is not None}
        assert branches == {
            "governance_review": Compare("form", "equals", "formal"),
            "accountable_lead": Compare("form", "equals", "formal"),
            "conflict_of_interest": Compare("partner_types", "contains", "private"),
            "measures": Compare("measures_defined", "equals", "yes"),
            "first_review_date": Compare("review_cadence", "not_in", ("none",)),
            "users_how": Compare("users_involved", "not_in", ("no",)),
        }

    def test_choice_options(self, flow: Flow) -> None:
        values = {q.id: [o.value for o in q.options] for q in flow.questions if q.options}
        assert values["partner_types"] == [
            "nhs",
            "social_care",
            "police",
            "housing",
            "voluntary",
            "private",
            "community",
        ]
        assert values["lighter_route"] == ["yes", "no", "unsure"]
        assert [o.label for o in flow.question("form").options] == [
            "Formal long-term (contract, pooled budget, new body)",
            "Memorandum of understanding",
            "Informal short-term project",
        ]
        assert values["evaluation"] == ["funded", "planned_unfunded", "none"]
        assert values["resources"] == ["money_and_staff", "staff_only", "money_only", "none"]
        assert values["senior_commitment"] == ["yes", "not_all", "no"]
        assert values["review_cadence"] == ["quarterly", "six_monthly", "annual", "none"]
        assert values["frontline"] == values["users_involved"] == ["yes", "later", "no"]
        assert values["coordinator"] == ["yes", "no"]

    def test_number_and_date_limits(self, flow: Flow) -> None:
        count = flow.question("partner_count")
        assert (count.min, count.max) == (2, 500)
        review = flow.question("first_review_date")
        assert (review.min_days_from_today, review.max_days_from_today) == (0, 730)

    def test_all_nineteen_flags(self, flow: Flow) -> None:
        assert {rule.id: (rule.tip, rule.severity) for rule in flow.flags} == FLAGS
        for rule in flow.flags:
            assert rule.reason and rule.condition, rule.id
        exit_rule = next(rule for rule in flow.flags if rule.id == "no-exit")
        assert exit_rule.critical_when == Compare("form", "equals", "formal")
        setters = {rule.id: rule.sets_verdict for rule in flow.flags if rule.sets_verdict}
        assert setters == {"lighter-route": "Use a less formal route"}

    def test_flag_rules_read_structured_answers(self, flow: Flow) -> None:
        rules = {rule.id: rule.when for rule in flow.flags}
        assert rules["many-partners"] == Compare("partner_count", "greater_than", 8)
        assert rules["no-evaluation"] == Compare("evaluation", "not_in", ("funded",))
        assert rules["overambitious-timeline"] == AllOf(
            (
                Compare("system_level", "equals", "yes"),
                Compare("full_benefit_months", "at_most", 12),
            )
        )
        assert isinstance(rules["no-governance"], AllOf)
        assert isinstance(rules["no-governance"].conditions[1], AnyOf)

    def test_load_by_path(self) -> None:
        path = Path(__file__).parents[2] / "flows" / "definitions" / "check.toml"
        assert [q.id for q in load_flow(path).questions] == list(QUESTIONS)
        assert load_flow(str(path)).source == str(path)


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
        ["'greater_than' needs a number question; 'form' is choice"],
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
        ["question 'form'", "duplicate question id"],
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
        'severity = "critical"\ncritical_when = { question = "form", equals = "formal" }',
        "",
        ["flag 'no-review'", "'critical_when' only makes sense on a warning flag"],
        id="critical_when-on-critical",
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
