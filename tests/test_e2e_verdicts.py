"""Whole checks reaching each of the four verdicts, through Slack, end to end.

Each check is answered as a person would (buttons, ticks, typed replies), then posted.
The DM summary and the channel post must both show the verdict, and every red flag
under the name of its own tip; the thread must hold every answer given. The verdict
rule's boundaries (two criticals in one tip or in two, a third critical, "unsure", the
less formal route winning, critical_when) are walked on one check with "Change an answer".
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import ALICE, PARTNERS
from tests.e2e_support import (
    BOTH_DATABASES,
    Journey,
    escape,
    expected_answers,
    expected_flags,
    mrkdwn_texts,
    plain_texts,
    post_flags,
    proposal,
    shown,
    summary_conditions,
    summary_flags,
    verdict_of,
)
from tests.fakeslack import FakeSlack
from tests.proposer import FLOW
from tests.slack_driver import SlackDriver

# name -> (answers, verdict, expected flags, flags raised to critical by critical_when)
CASES: dict[str, tuple[dict[str, Any], str, tuple[str, ...], tuple[str, ...]]] = {
    "proceed": (proposal(), "Proceed", (), ()),
    "conditions: warnings in four tips and one critical": (
        proposal(
            costs_estimated="no",
            baseline="no",
            evaluation="planned_unfunded",
            review_cadence="none",
            frontline="later",
            coordinator="no",
        ),
        "Proceed with conditions",
        (
            "costs-unknown",
            "no-baseline",
            "no-evaluation",
            "no-review",
            "frontline-not-engaged",
            "no-coordinator",
        ),
        (),
    ),
    "reconsider: two criticals in one tip": (
        proposal(frontline="later", users_involved="later"),
        "Reconsider",
        ("frontline-not-engaged", "users-not-engaged"),
        (),
    ),
    "less formal route": (
        proposal(lighter_route="yes", milestones="no"),
        "Use a less formal route",
        ("lighter-route", "no-milestones"),
        (),
    ),
}


def _status_of(summary: dict[str, Any]) -> dict[str, str]:
    """Per-tip status lines on the summary: tip title -> 'no flags' | 'warnings' | 'critical'."""
    status = {}
    for text in mrkdwn_texts(summary["blocks"]):
        for line in text.splitlines():
            match = re.fullmatch(r":\w+: (.+): (no flags|warnings|critical)", line)
            if match:
                status[match.group(1)] = match.group(2)
    return status


@pytest.mark.parametrize("case", list(CASES))
def test_a_check_reaches_its_verdict_with_flags_under_their_tips(
    case: str, slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    answers, verdict, flag_ids, raised = CASES[case]
    alice = Journey(slack, fake_slack, ALICE)
    summary = alice.complete(answers)

    # The DM summary.
    assert verdict_of(summary) == verdict
    assert f"Verdict: {verdict}" in summary["text"]
    expected = expected_flags(*flag_ids, critical=raised)
    assert summary_flags(summary) == expected
    assert len(summary_conditions(summary)) == len(flag_ids)
    status = _status_of(summary)
    assert set(status) == {t.title for t in FLOW.tips if t.assessed}
    for title, word in status.items():
        severities = {severity for severity, _ in expected.get(title, set())}
        assert word == (
            "critical" if "critical" in severities else "warnings" if severities else "no flags"
        ), (title, status)

    # The channel post: compact, the same verdict and the same flags under the same tips.
    post = alice.post(summary)
    assert verdict_of(post) == verdict
    assert post["text"].startswith("P-1 ") and post["text"].endswith(f": {verdict}")
    assert post_flags(post) == expected
    assert f"<@{ALICE}>" in "\n".join(mrkdwn_texts(post["blocks"]))
    assert len(fake_slack.messages(PARTNERS)) == 1
    assert fake_slack.errors == []


@BOTH_DATABASES
def test_the_thread_holds_every_answer_and_the_conditions(
    database: str, slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    answers = proposal(
        partner_types=["nhs", "social_care", "private"],
        conflict_of_interest="yes",
        baseline="no",
        first_result_months="4 months",
        coordinator="no",
    )
    alice = Journey(slack, fake_slack, ALICE)
    summary = alice.complete(answers)
    assert verdict_of(summary) == "Proceed with conditions"
    post = alice.post(summary)

    replies = fake_slack.wait_for(
        lambda: (
            (r := fake_slack.messages(PARTNERS, thread_ts=post["ts"]))
            and "Suggested conditions" in r[-1]["text"]
            and r
        ),
        message="the thread's details",
    )
    thread = "\n".join(shown(reply) for reply in replies)
    for question, answer in expected_answers(answers):
        assert escape(question) in thread, question
        assert escape(answer) in thread, (question, answer)
    # A few answers as a reader sees them, not as stored.
    assert "NHS, Social care, Private company" in thread
    assert "4 months" in thread
    # Questions branching skipped are not in the thread.
    assert escape(FLOW.question("governance_review").text) not in thread
    for tip in FLOW.tips:
        assert tip.title in "\n".join(plain_texts([r["blocks"] for r in replies]))
    conditions = shown(replies[-1])
    for flag in ("no-baseline", "no-coordinator"):
        rule = next(rule for rule in FLOW.flags if rule.id == flag)
        assert escape(rule.condition) in conditions
    # The channel message itself stays compact: no answers in it.
    assert escape(answers["problem"]) not in shown(post)
    assert fake_slack.message(PARTNERS, post["ts"])["reply_count"] == len(replies)
    assert fake_slack.errors == []


def _revise(
    alice: Journey, summary: dict[str, Any], question: str, answers: dict[str, Any]
) -> dict[str, Any]:
    """Change one answer from the summary (and answer any question it opens)."""
    value = next(
        option["value"]
        for block in summary["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == "revise"
        for option in element["options"]
        if option["value"].endswith(f".{question}")
    )
    seen = alice.count()
    alice.slack.select(alice.user, summary, "revise", value)
    return alice.go_on(alice.wait_for_prompt(seen), answers)


def test_the_verdict_rule_at_its_boundaries(slack: SlackDriver, fake_slack: FakeSlack) -> None:
    """One check, changed answer by answer across the verdict rule's boundaries."""
    alice = Journey(slack, fake_slack, ALICE)
    answers = proposal(user_outcomes="no", resources="none")
    steps: list[tuple[str, dict[str, Any], str, tuple[str, ...], tuple[str, ...]]] = [
        # Two criticals, in two different tips: not yet Reconsider.
        ("", {}, "Proceed with conditions", ("not-user-outcomes", "no-resources"), ()),
        # Unsure about a lighter route is only a warning.
        (
            "lighter_route",
            {"lighter_route": "unsure"},
            "Proceed with conditions",
            ("lighter-route-unsure", "not-user-outcomes", "no-resources"),
            (),
        ),
        # A third critical: Reconsider.
        (
            "users_involved",
            {"users_involved": "no"},
            "Reconsider",
            ("lighter-route-unsure", "not-user-outcomes", "no-resources", "users-not-engaged"),
            (),
        ),
        # A less formal route would work: that verdict wins over Reconsider.
        (
            "lighter_route",
            {"lighter_route": "yes"},
            "Use a less formal route",
            ("lighter-route", "not-user-outcomes", "no-resources", "users-not-engaged"),
            (),
        ),
        # Back to "no": Reconsider again; then fix the criticals one by one.
        (
            "lighter_route",
            {"lighter_route": "no"},
            "Reconsider",
            ("not-user-outcomes", "no-resources", "users-not-engaged"),
            (),
        ),
        (
            "user_outcomes",
            {"user_outcomes": "yes"},
            "Proceed with conditions",
            ("no-resources", "users-not-engaged"),
            (),
        ),
        (
            "resources",
            {"resources": "money_only"},
            "Proceed with conditions",
            ("users-not-engaged",),
            (),
        ),
        # Involving users again asks how (the answer was dropped when they were not).
        (
            "users_involved",
            {"users_involved": "yes", "users_how": "A carers' panel"},
            "Proceed",
            (),
            (),
        ),
        # Formal without governance, no exit (critical when formal), a private partner
        # without conflict arrangements, many partners.
        (
            "form",
            {"form": "formal", "governance_review": "no", "accountable_lead": "yes"},
            "Proceed with conditions",
            ("no-governance",),
            (),
        ),
        (
            "exit_arrangements",
            {"exit_arrangements": "no"},
            "Proceed with conditions",
            ("no-governance", "no-exit"),
            ("no-exit",),
        ),
        (
            "partner_types",
            {"partner_types": ["nhs", "private"], "conflict_of_interest": "no"},
            "Reconsider",
            ("no-governance", "no-exit", "conflict-of-interest"),
            ("no-exit",),
        ),
        (
            "partner_count",
            {"partner_count": "9"},
            "Reconsider",
            ("no-governance", "no-exit", "conflict-of-interest", "many-partners"),
            ("no-exit",),
        ),
    ]
    summary = alice.complete(answers)
    for question, changes, verdict, flag_ids, raised in steps:
        if question:
            summary = _revise(alice, summary, question, changes)
        assert verdict_of(summary) == verdict, (question, changes)
        assert summary_flags(summary) == expected_flags(*flag_ids, critical=raised), question
    post = alice.post(summary)
    assert verdict_of(post) == "Reconsider"
    assert post_flags(post) == summary_flags(summary)
    assert fake_slack.errors == []
