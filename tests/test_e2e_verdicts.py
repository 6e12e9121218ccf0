"""Whole checks reaching each of the four verdicts, through Slack, end to end.

Each check is answered as a person would (buttons, ticks, radio buttons, typed replies,
objectives one message each), then posted. The DM summary and the channel post must both
show the verdict with its counts, what is proposed, each tip's status, every red flag
under the name of its own tip (the post lists the conditions under their tips, only the
critical ones when there are more than 8), and when it is next reviewed or why not; the
thread must hold every answer given. The verdict rule's boundaries (two criticals in one
tip or in two, a third critical, Not sure and In progress answers, the less formal route
ending the check, a flag's cases) are walked on one check with "Change an answer".
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from bot.sandbox.fakeslack import FakeSlack
from flows import display_answer
from flows.answers import format_date
from flows.schedule import effective_cadence
from tests.conftest import ALICE, PARTNERS
from tests.e2e_support import (
    BOTH_DATABASES,
    RULES,
    Journey,
    escape,
    expected_answers,
    expected_flags,
    mrkdwn_texts,
    plain_texts,
    post_conditions,
    post_flags,
    proposal,
    shown,
    stored_answers,
    summary_conditions,
    summary_flags,
    verdict_of,
)
from tests.proposer import FLOW
from tests.slack_driver import SlackDriver

GOES_AHEAD = ("Proceed", "Proceed with conditions")
# The post lists at most this many conditions; beyond it, the critical ones and a count.
POSTED_CONDITIONS = 8
NINE_ORGANISATIONS = ", ".join(f"Partner {n}" for n in "ABCDEFGHI")

# name -> (answers, verdict, the flags expected; their severity and words follow from
# the answers and the policy's cases)
CASES: dict[str, tuple[dict[str, Any], str, tuple[str, ...]]] = {
    "proceed": (proposal(), "Proceed", ()),
    "conditions: warnings in four tips and one critical": (
        proposal(
            costs="neither",
            measuring={"measures": "all", "baseline": "no"},
            evaluation="unfunded",
            reviews={"review_cadence": "not_decided", "value_decider": "joint_board"},
            involvement={"frontline": "once_running", "users_involved": "already"},
            coordinator="nobody",
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
    ),
    "conditions: not sure and in progress are warnings, never Reconsider": (
        # As "no" these would be four criticals (two of them in one tip).
        proposal(
            user_outcomes="not_sure",
            commitment={"resources": "not_sure", "senior_commitment": "all"},
            exit_arrangements="in_progress",
            involvement={"frontline": "not_sure", "users_involved": "not_sure"},
        ),
        "Proceed with conditions",
        (
            "not-user-outcomes",
            "no-resources",
            "no-exit",
            "frontline-not-engaged",
            "users-not-engaged",
        ),
    ),
    "conditions: more than 8, the post shows the critical ones": (
        proposal(
            organisations=NINE_ORGANISATIONS,
            lighter_route="not_sure",
            costs="time_only",
            user_outcomes="no",
            measuring={"measures": "some", "baseline": "no"},
            evaluation="none",
            commitment={"resources": "money_and_staff", "senior_commitment": "some"},
            milestones="no",
            reviews={"review_cadence": "not_decided", "value_decider": "joint_board"},
            involvement={"frontline": "no", "users_involved": "before_design"},
            coordinator="named",
        ),
        "Proceed with conditions",
        (
            "lighter-route-unsure",
            "costs-unknown",
            "many-partners",
            "not-user-outcomes",
            "no-measure",
            "no-baseline",
            "no-evaluation",
            "no-milestones",
            "no-senior-commitment",
            "no-review",
            "frontline-not-engaged",
            "users-not-engaged",
            "no-coordinator",
        ),
    ),
    "reconsider: two criticals in one tip": (
        proposal(involvement={"frontline": "no", "users_involved": "no"}),
        "Reconsider",
        ("frontline-not-engaged", "users-not-engaged"),
    ),
    "reconsider: three criticals in three tips": (
        proposal(
            user_outcomes="no",
            commitment={"resources": "none", "senior_commitment": "all"},
            involvement={"frontline": "already", "users_involved": "once_running"},
        ),
        "Reconsider",
        ("not-user-outcomes", "no-resources", "users-not-engaged"),
    ),
    "less formal route: the check ends there": (
        proposal(lighter_route="yes", lighter_route_which="network"),
        "Use a less formal route",
        ("lighter-route",),
    ),
}

_STATUS = re.compile(r":\w+: (.+): (no flags|warnings|critical|sets the verdict)")


def _status_of(message: dict[str, Any]) -> dict[str, str]:
    """Per-tip status in words: tip title -> 'no flags' | 'warnings' | 'critical' | 'sets
    the verdict' (a line each in the summary, one line in the post)."""
    status = {}
    for text in mrkdwn_texts(message["blocks"]):
        for line in re.split(r"\n| {3}", text):
            match = _STATUS.fullmatch(line)
            if match:
                status[match.group(1)] = match.group(2)
    return status


def _expected_status(expected: dict[str, set[tuple[str, str]]]) -> dict[str, str]:
    status = {}
    for tip in FLOW.tips:
        if not tip.assessed:
            continue
        severities = {severity for severity, _ in expected.get(tip.title, set())}
        status[tip.title] = (
            "critical"
            if "critical" in severities
            else "warnings"
            if "warning" in severities
            else "sets the verdict"
            if severities
            else "no flags"
        )
    return status


def _counts(expected: dict[str, set[tuple[str, str]]]) -> str:
    """ "1 critical flag and 3 warnings", as the summary and the post count them."""
    severities = [severity for flags in expected.values() for severity, _ in flags]
    parts = []
    for severity, noun in (("critical", "critical flag"), ("warning", "warning")):
        n = severities.count(severity)
        if n:
            parts.append(f"{n} {noun}" if n == 1 else f"{n} {noun}s")
    return " and ".join(parts) if parts else "No red flags"


def _proposed(answers: dict[str, Any]) -> str:
    """What is proposed, as the summary and the post show it."""
    stored = stored_answers(answers)
    labels = {
        "organisations": "Who",
        "form": "Form",
        "lighter_route_which": "Less formal route",
        "problem": "Problem",
    }
    return "\n".join(
        f"*{label}:* {escape(display_answer(FLOW.question(qid), stored[qid]))}"
        for qid, label in labels.items()
        if qid in stored
    )


def _reviews(answers: dict[str, Any], verdict: str, reference: str | None) -> str:
    """When it is next reviewed, or why it is not (only a partnership that goes ahead)."""
    if verdict not in GOES_AHEAD:
        how = f"`/partnership recheck {reference}`" if reference else "a re-check"
        return (
            "No reviews: they start only for a partnership that goes ahead. When things "
            f"change, change the answers with {how}."
        )
    stored = stored_answers(answers)
    then = {
        "quarterly": ", then quarterly",
        "six_monthly": ", then every six months",
        "annual": ", then yearly",
        "end_of_project": " (once, at the end of the project)",
    }[effective_cadence(stored.get("review_cadence"), stored.get("form"))]
    first = date.fromisoformat(stored["first_review_date"])
    return f"Next review: {format_date(first)}{then}."


def _asked(summary: dict[str, Any]) -> list[str]:
    """The questions the summary offers to change: those the check asked."""
    return [
        option["value"].rsplit(".", 1)[1]
        for block in summary["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == "revise"
        for option in element["options"]
    ]


@pytest.mark.parametrize("case", list(CASES))
def test_a_check_reaches_its_verdict_with_flags_under_their_tips(
    case: str, slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    answers, verdict, flag_ids = CASES[case]
    name = answers["name"]
    alice = Journey(slack, fake_slack, ALICE)
    summary = alice.complete(answers)
    expected = expected_flags(answers, *flag_ids)
    counts = _counts(expected)

    # The DM summary: the verdict with its counts, what is proposed, each tip's status,
    # every flag under its tip with its condition, and when it would be reviewed.
    assert verdict_of(summary) == verdict
    assert summary["text"] == f"Check: {name}. Verdict: {verdict}"
    texts = mrkdwn_texts(summary["blocks"])
    assert any(t.startswith(f"*Verdict: {verdict}*\n{counts}. ") for t in texts), texts
    assert _proposed(answers) in texts
    assert summary_flags(summary) == expected
    assert len(summary_conditions(summary)) == len(flag_ids)
    assert _status_of(summary) == _expected_status(expected)
    assert escape(_reviews(answers, verdict, None)) in texts
    assert _asked(summary) == [q.id for q in FLOW.applicable(stored_answers(answers))]
    if verdict == "Use a less formal route":
        # The check ended at the less formal route: nothing after it was asked.
        assert _asked(summary)[-2:] == ["lighter_route", "lighter_route_which"]

    # The channel post: the same verdict, counts and proposal, the conditions under
    # their tips (only the critical ones beyond 8), who proposed it and its reviews.
    post = alice.post(summary)
    assert verdict_of(post) == verdict
    assert post["text"] == f"P-1 {name}: {verdict} ({counts.lower()})"
    posted = mrkdwn_texts(post["blocks"])
    assert posted[0].startswith(f"*P-1 · {name}*\n*Verdict: {verdict}* · {counts}")
    assert _proposed(answers) in posted
    assert _status_of(post) == _expected_status(expected)
    if len(flag_ids) <= POSTED_CONDITIONS:
        assert post_flags(post) == expected
        assert post_conditions(post) == summary_conditions(summary)
        assert not any("more condition" in t for t in posted)
    else:
        critical = {
            tip: {flag for flag in flags if flag[0] == "critical"}
            for tip, flags in expected.items()
            if any(severity == "critical" for severity, _ in flags)
        }
        assert critical  # the case has some, or the post would list nothing
        assert post_flags(post) == critical
        hidden = len(flag_ids) - sum(len(flags) for flags in critical.values())
        assert any(t.endswith(f"\n… and {hidden} more conditions in the thread.") for t in posted)
    headings = [t.splitlines()[0].split(" · ")[0] for t in posted]
    less_formal = verdict == "Use a less formal route"
    assert ("*Conditions*" in headings, "*Next step*" in headings) == (
        bool(flag_ids) and not less_formal,
        less_formal,
    )
    footer = posted[-1]
    assert footer == (
        f"Proposed by <@{ALICE}> · P-1 · {escape(_reviews(answers, verdict, 'P-1'))} "
        "Every answer is in the thread."
    )
    assert len(fake_slack.messages(PARTNERS)) == 1
    assert fake_slack.errors == []


def _condition(answers: dict[str, Any], flag_id: str) -> str:
    """The condition `flag_id` gives for these answers (its case's, or its Not sure or
    In progress words)."""
    stored = stored_answers(answers)
    rule = RULES[flag_id]
    truth, case = rule.judge(stored)
    assert truth is not False, flag_id
    return case.wording.condition if case else rule.unknown_wording(stored)[1].condition


@BOTH_DATABASES
def test_the_thread_holds_every_answer_and_the_conditions(
    database: str, slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    answers = proposal(
        kinds=["nhs", "social_care", "private"],
        conflict_of_interest="yes",
        measuring={"measures": "all", "baseline": "no"},
        timing={"first_result": "within_6_months", "full_benefit": "months_12_to_24"},
        coordinator="nobody",
    )
    alice = Journey(slack, fake_slack, ALICE)
    summary = alice.complete(answers)
    assert verdict_of(summary) == "Proceed with conditions"
    post = alice.post(summary)

    replies = fake_slack.wait_for(
        lambda: (
            (r := fake_slack.messages(PARTNERS, thread_ts=post["ts"]))
            and r[-1]["text"] == "Conditions and partners' views"
            and r
        ),
        message="the thread's details",
    )
    thread = "\n".join(shown(reply) for reply in replies)
    for question, answer in expected_answers(answers):
        assert escape(question) in thread, question
        assert escape(answer) in thread, (question, answer)
    # A few answers as a reader sees them, not as stored.
    assert "NHS, Social care, Other private company" in thread
    assert "Northshire NHS Foundation Trust (lead), " in thread
    assert (
        "The first measurable result: Within 6 months · The full benefit: 12 to 24 months"
    ) in thread
    assert "Cut delayed discharges by a third; More people home within 24 hours" in thread
    # Questions branching skipped are not in the thread.
    for skipped in ("governance", "system_level", "lighter_route_which"):
        assert escape(FLOW.question(skipped).text) not in thread, skipped
    for tip in FLOW.tips:
        assert tip.title in "\n".join(plain_texts([r["blocks"] for r in replies]))
    conditions = shown(next(r for r in replies if r["text"] == "Red flags and conditions"))
    for flag in ("no-baseline", "no-coordinator"):
        assert escape(_condition(answers, flag)) in conditions
    # The channel message says what is proposed (the problem too), but no other answers.
    assert escape(answers["problem"]) in shown(post)
    for other in ("objectives", "added_value"):
        for item in answers[other] if isinstance(answers[other], list) else [answers[other]]:
            assert escape(item) not in shown(post), other
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
    answers = proposal(
        user_outcomes="no", commitment={"resources": "none", "senior_commitment": "all"}
    )
    involved = {"frontline": "already", "users_involved": "already"}
    # (question changed, its new answer(s), verdict, flags expected)
    steps: list[tuple[str, dict[str, Any], str, tuple[str, ...]]] = [
        # Two criticals, in two different tips: not yet Reconsider.
        ("", {}, "Proceed with conditions", ("not-user-outcomes", "no-resources")),
        # Not sure about a less formal route is only a warning.
        (
            "lighter_route",
            {"lighter_route": "not_sure"},
            "Proceed with conditions",
            ("lighter-route-unsure", "not-user-outcomes", "no-resources"),
        ),
        # A third critical, in a third tip: Reconsider.
        (
            "involvement",
            {"involvement": {**involved, "users_involved": "no"}},
            "Reconsider",
            ("lighter-route-unsure", "not-user-outcomes", "no-resources", "users-not-engaged"),
        ),
        # A less formal route would work: that verdict wins over Reconsider, and the
        # check ends there (the answers after it no longer count).
        (
            "lighter_route",
            {"lighter_route": "yes", "lighter_route_which": "referral_protocol"},
            "Use a less formal route",
            ("lighter-route",),
        ),
        # Back to "no": every later question is asked again; Reconsider again.
        (
            "lighter_route",
            {"lighter_route": "no"},
            "Reconsider",
            ("not-user-outcomes", "no-resources", "users-not-engaged"),
        ),
        # Fix the criticals one by one.
        (
            "user_outcomes",
            {"user_outcomes": "yes"},
            "Proceed with conditions",
            ("no-resources", "users-not-engaged"),
        ),
        (
            "commitment",
            {"commitment": {"resources": "money_only", "senior_commitment": "all"}},
            "Proceed with conditions",
            ("users-not-engaged",),
        ),
        (
            "involvement",
            {"involvement": {**involved, "users_how": "co_design"}},
            "Proceed",
            (),
        ),
        # Not sure about both in one tip: two warnings, never Reconsider...
        (
            "involvement",
            {"involvement": {"frontline": "not_sure", "users_involved": "not_sure"}},
            "Proceed with conditions",
            ("frontline-not-engaged", "users-not-engaged"),
        ),
        # ... while "no" to both is two criticals in one tip: Reconsider.
        (
            "involvement",
            {"involvement": {"frontline": "no", "users_involved": "no"}},
            "Reconsider",
            ("frontline-not-engaged", "users-not-engaged"),
        ),
        ("involvement", {"involvement": involved}, "Proceed", ()),
        # Formal: a governance review in progress is a warning; not done, a critical.
        (
            "form",
            {
                "form": "formal",
                "governance": {"governance_review": "in_progress", "accountable_lead": "yes"},
            },
            "Proceed with conditions",
            ("no-governance",),
        ),
        (
            "governance",
            {"governance": {"governance_review": "no", "accountable_lead": "yes"}},
            "Proceed with conditions",
            ("no-governance",),
        ),
        # No exit arrangements: critical for a formal arrangement (a warning otherwise).
        (
            "exit_arrangements",
            {"exit_arrangements": "no"},
            "Proceed with conditions",
            ("no-governance", "no-exit"),
        ),
        # A private partner without conflict arrangements: a second critical in the tip.
        (
            "kinds",
            {"kinds": ["nhs", "private"], "conflict_of_interest": "no"},
            "Reconsider",
            ("no-governance", "conflict-of-interest", "no-exit"),
        ),
        # More than 8 organisations, counting the lead: a warning.
        (
            "organisations",
            {"organisations": NINE_ORGANISATIONS},
            "Reconsider",
            ("no-governance", "conflict-of-interest", "many-partners", "no-exit"),
        ),
    ]
    summary = alice.complete(answers)
    for question, changes, verdict, flag_ids in steps:
        answers = {**answers, **changes}
        if question:
            summary = _revise(alice, summary, question, answers)
        assert verdict_of(summary) == verdict, (question, changes)
        assert summary_flags(summary) == expected_flags(answers, *flag_ids), question
        assert _asked(summary) == [q.id for q in FLOW.applicable(stored_answers(answers))]
    # The flags' words follow the answer given: in progress, then each case of its rule.
    governance = summary_flags(summary)["Be selective"]
    assert ("critical", escape(RULES["no-governance"].cases[1].wording.reason)) in governance
    assert ("critical", escape(RULES["no-exit"].cases[0].wording.reason)) in (
        summary_flags(summary)["Be flexible"]
    )
    post = alice.post(summary)
    assert verdict_of(post) == "Reconsider"
    assert post_flags(post) == summary_flags(summary)
    assert post_conditions(post) == summary_conditions(summary)
    assert fake_slack.errors == []
