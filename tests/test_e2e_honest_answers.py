"""Honest answers, fewer questions and a recommendation a board can act on, end to end.

Each check is answered through Slack as a person would (buttons, radio buttons and
Continue, typed replies, several messages in a row), then posted; what is asserted is
what Slack shows: the DM, the channel post and its thread, and reminders that do or do
not arrive when the scheduler runs.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.sandbox.fakeslack import FakeSlack
from bot.storage.db import Database
from bot.storage.models import Conversation
from tests.conftest import ALICE, BOB, PARTNERS, TEAM_ID
from tests.e2e_support import (
    BOTH_DATABASES,
    Journey,
    ack_blocks,
    expected_flags,
    mrkdwn_texts,
    post_conditions,
    post_flags,
    proposal,
    shown,
    summary_conditions,
    summary_flags,
    verdict_of,
)
from tests.proposer import FLOW, GOOD, question_in
from tests.slack_driver import BotServer, SlackDriver

NOT_SURE_ANSWERS = {
    "lighter_route": "not_sure",
    "costs": "not_sure",
    "user_outcomes": "not_sure",
    "measuring": {"measures": "not_sure", "baseline": "not_sure"},
    "evaluation": "not_sure",
    "timing": {"first_result": "not_sure", "full_benefit": "not_sure"},
    "system_level": "not_sure",
    "commitment": {"resources": "not_sure", "senior_commitment": "not_sure"},
    "milestones": "not_sure",
    "exit_arrangements": "not_sure",
    "involvement": {"frontline": "not_sure", "users_involved": "not_sure"},
    "coordinator": "not_sure",
}
RECONSIDER = proposal(
    commitment={"resources": "none", "senior_commitment": "all"},
    involvement={"frontline": "no", "users_involved": "no"},
)
LESS_FORMAL = proposal(lighter_route="yes", lighter_route_which="network")


def reminders_posted(fake: FakeSlack) -> list[str]:
    """The texts of every message posted in the channel that is not a recommendation."""
    return [
        call.args.get("text", "")
        for call in fake.calls_to("chat.postMessage")
        if call.args.get("channel") == PARTNERS
        and not call.args.get("thread_ts")
        and "Review" in call.args.get("text", "")
    ]


def asked(fake: FakeSlack, user: str) -> list[str]:
    """The questions the bot asked `user`, in order, as first posted in their DM."""
    ids = []
    for call in fake.calls_to("chat.postMessage"):
        if call.args.get("channel") == fake.dm_channel(user):
            blocks = call.args.get("blocks")
            question = question_in(
                {"blocks": json.loads(blocks) if isinstance(blocks, str) else blocks or []}
            )
            if question is not None:
                ids.append(question.id)
    return ids


def run_every_morning(bot: BotServer, days: int, fake: FakeSlack | None = None) -> None:
    """A scheduler pass at 09:30 London on each of the next `days` days; with `fake`, only
    until the first reminder arrives (passes in a row keep Slack's real-time pace)."""
    start = date.today()
    for n in range(days):
        moment = datetime.combine(start + timedelta(days=n), datetime.min.time(), tzinfo=UTC)
        bot.services.scheduler.run_due(moment + timedelta(hours=9, minutes=30))
        if fake is not None and reminders_posted(fake):
            return


def test_not_sure_throughout_is_proceed_with_conditions_and_too_early_to_judge(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    answers = proposal(**NOT_SURE_ANSWERS)
    alice = Journey(slack, fake_slack, ALICE)
    summary = alice.complete(answers)

    assert verdict_of(summary) == "Proceed with conditions"
    first = next(t for t in mrkdwn_texts(summary["blocks"]) if not t.startswith("Check"))
    assert "Too early to judge" in first, "the too-early note comes first"
    assert "16 answers are Not sure" in first
    flags = summary_flags(summary)
    assert all(severity == "warning" for tip in flags.values() for severity, _ in tip)
    reasons = {reason for tip in flags.values() for _, reason in tip}
    assert all(reason.startswith("Not known yet") for reason in reasons), reasons
    conditions = summary_conditions(summary)
    assert conditions and all(c.startswith("Find out") for c in conditions), conditions

    post = alice.post(summary)
    assert verdict_of(post) == "Proceed with conditions"
    top = mrkdwn_texts(post["blocks"])[0]
    assert top.index("Too early to judge") < top.index("Verdict:")
    for condition in conditions[:10]:
        assert condition in top, "the post lists what to find out"
    assert "… and 14 more conditions in the thread." in shown(post), "no critical ones"
    thread = fake_slack.messages(PARTNERS, post["ts"])
    (flags,) = [reply for reply in thread if reply["text"] == "Red flags and conditions"]
    assert summary_flags(flags) == expected_flags(
        answers,
        "lighter-route-unsure",
        "costs-unknown",
        "not-user-outcomes",
        "no-measure",
        "no-baseline",
        "no-evaluation",
        "overambitious-timeline",
        "no-resources",
        "no-milestones",
        "no-senior-commitment",
        "no-exit",
        "frontline-not-engaged",
        "users-not-engaged",
        "no-coordinator",
    )


def test_typed_dont_know_is_not_sure_and_never_forced_into_yes_or_no(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    message = alice.run_to(GOOD, "lighter_route")
    seen = alice.count()
    slack.dm(ALICE, "Don\u2019t know")  # a phone's curly apostrophe
    following = alice.wait_for_prompt(seen)
    assert question_in(following).id == "added_value"
    # The question's own message is closed with the answer (a moment later, if the reply
    # overtook the bot recording that message).
    fake_slack.wait_for(lambda: "Not sure" in shown(alice.current(message)))


def test_engagement_planned_before_the_design_is_agreed_gives_warnings_not_reconsider(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    answers = proposal(
        involvement={"frontline": "before_design", "users_involved": "before_design"}
    )
    alice = Journey(slack, fake_slack, ALICE)
    summary = alice.complete(answers)
    assert verdict_of(summary) == "Proceed with conditions"
    assert summary_flags(summary) == expected_flags(
        answers, "frontline-not-engaged", "users-not-engaged"
    )
    assert {s for s, _ in summary_flags(summary)["Be engaged"]} == {"warning"}
    assert "Be engaged: warnings" in shown(summary)


def test_three_objectives_sent_as_three_messages_are_all_kept_and_shown_back(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    objectives = [
        "Cut delayed discharges from Ward 7 by a third",
        "More people home within 24 hours of being well",
        "Fewer readmissions within 30 days",
    ]
    alice = Journey(slack, fake_slack, ALICE)
    alice.run_to(GOOD, "objectives")
    for objective in objectives[:2]:
        seen = alice.count()
        slack.dm(ALICE, objective)
        after_two = alice.wait_for_prompt(seen)
    assert question_in(after_two).id == "objectives", "it waits for more until Done or 3"
    assert "1. Cut delayed discharges" in shown(after_two)
    assert "2. More people home" in shown(after_two)

    following = alice.send_items(after_two, objectives[2:])
    assert question_in(following).id == "user_outcomes", "the third one completes the list"
    summary = alice.go_on(following, GOOD)
    post = alice.post(summary)
    thread = fake_slack.messages(PARTNERS, post["ts"])
    assert any("; ".join(objectives) in shown(reply) for reply in thread)


def test_lines_and_semicolons_in_one_message_are_separate_objectives(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    question = alice.run_to(GOOD, "objectives")
    seen = alice.count()
    slack.dm(ALICE, "1. Cut delayed discharges\n2. Fewer readmissions; more people home")
    following = alice.wait_for_prompt(seen)
    assert question_in(following).id == "user_outcomes"
    fake_slack.wait_for(
        lambda: (
            "Cut delayed discharges; Fewer readmissions; more people home"
            in shown(alice.current(question))
        ),
        message="the objectives shown back, one by one",
    )


def test_a_yes_to_the_less_formal_route_goes_straight_to_the_summary(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    summary = alice.complete(LESS_FORMAL)
    assert asked(fake_slack, ALICE) == [
        "name",
        "organisations",
        "kinds",
        "problem",
        "lighter_route",
        "lighter_route_which",
    ]
    assert verdict_of(summary) == "Use a less formal route"
    assert "Be selective: sets the verdict" in shown(summary)


def test_reconsider_and_less_formal_route_get_no_reviews_and_say_so(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer
) -> None:
    alice, bob = Journey(slack, fake_slack, ALICE), Journey(slack, fake_slack, BOB)
    reconsider = alice.post(alice.complete(RECONSIDER))
    less_formal = bob.post(bob.complete(LESS_FORMAL))
    assert verdict_of(reconsider) == "Reconsider"
    assert verdict_of(less_formal) == "Use a less formal route"
    for post in (reconsider, less_formal):
        assert "No reviews: they start only for a partnership that goes ahead" in shown(post)
    assert "/partnership recheck P-1" in shown(reconsider)

    run_every_morning(bot_server, 800)  # past any first review date
    fake_slack.wait_idle()
    assert reminders_posted(fake_slack) == []


def test_a_going_ahead_post_says_when_it_is_next_reviewed_and_is_reminded(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer
) -> None:
    first = date.today() + timedelta(days=30)
    alice = Journey(slack, fake_slack, ALICE)
    post = alice.post(alice.complete(proposal(first_review_date=first.isoformat())))
    assert f"Next review: {first.day} {first:%B %Y}, then quarterly." in shown(post)
    run_every_morning(bot_server, 35, fake_slack)
    fake_slack.wait_for(lambda: reminders_posted(fake_slack), message="a review reminder")
    assert "Review due: P-1" in reminders_posted(fake_slack)[0]


def test_the_post_says_what_is_proposed_and_lists_the_conditions(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    answers = proposal(costs="time_only", coordinator="named")
    alice = Journey(slack, fake_slack, ALICE)
    post = alice.post(alice.complete(answers))
    text = shown(post)
    assert (
        "*Who:* Northshire NHS Foundation Trust (lead), Northshire County Council, "
        "Age UK Northshire (3 in all)" in text
    )
    assert "*Form:* Memorandum of understanding" in text
    assert "*Problem:* Older people wait days in hospital" in text
    assert "*Verdict: Proceed with conditions* · 2 warnings" in text
    assert "Be selective: warnings" in text and "Be realistic: no flags" in text
    assert post_flags(post) == expected_flags(answers, "costs-unknown", "no-coordinator")
    assert post_conditions(post) == [
        "Estimate its yearly cost to run and administer, and check the benefit outweighs it.",
        "Protect time in the coordinator's job plan for the role.",
    ]
    assert f"Proposed by <@{ALICE}>" in text


@BOTH_DATABASES
def test_a_recheck_of_a_reconsider_keeps_its_reference_and_starts_reviews_once_it_goes_ahead(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer, database: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    post = alice.post(alice.complete(RECONSIDER))
    assert verdict_of(post) == "Reconsider"

    seen = alice.count()
    ack = slack.command(BOB, "recheck P-1")
    assert "You have no posted partnership P-1" in ack.text, "only its proposer re-checks it"
    ack = slack.command(ALICE, "recheck P-1")
    assert ack.status == 200
    summary = alice.wait_for_prompt(seen)
    assert "Re-check of P-1" in shown(summary)

    for question_id, value in (
        ("commitment", GOOD["commitment"]),
        ("involvement", GOOD["involvement"]),
    ):
        seen = alice.count()
        slack.select(ALICE, summary, "revise", _revise_value(summary, question_id))
        question = alice.wait_for_prompt(seen)
        summary = alice.answer(question, value)
    assert verdict_of(summary) == "Proceed"
    slack.press(ALICE, summary, action_id="post")
    fake_slack.wait_for(
        lambda: verdict_of(fake_slack.message(PARTNERS, post["ts"])) == "Proceed",
        message="the post updated in place",
    )
    channel_posts = [m for m in fake_slack.messages(PARTNERS) if not m.get("thread_ts")]
    assert len(channel_posts) == 1, "updated in place, not posted again"
    assert "P-1" in channel_posts[0]["text"]
    fake_slack.wait_for(
        lambda: any(
            "re-checked P-1" in shown(m) for m in fake_slack.messages(PARTNERS, post["ts"])
        ),
        message="the re-check noted in the thread",
    )

    run_every_morning(bot_server, 800, fake_slack)
    fake_slack.wait_for(lambda: reminders_posted(fake_slack), message="a review reminder")
    assert "P-1" in reminders_posted(fake_slack)[0]

    listed = "\n".join(mrkdwn_texts(ack_blocks(slack.command(ALICE, "list"))["blocks"]))
    assert listed.count(RECONSIDER["name"]) == 1, "a re-check is not a check of its own"
    assert "posted · Proceed" in listed


def _revise_value(summary: dict[str, Any], question_id: str) -> str:
    for block in summary["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == "revise":
                for option in element["options"]:
                    if option["value"].endswith(f".{question_id}"):
                        return option["value"]
    raise AssertionError(f"no 'Change an answer' option for {question_id}")


# --- a conversation saved by the previous release -----------------------------------------

V1_SNAPSHOT = {
    "flow": "check",
    "version": 1,
    "state": "objectives",
    "answers": {
        "name": "Falls prevention network",
        "lead_org": "Southshire Council",
        "partner_orgs": "Southshire NHS Trust",
        "partner_types": ["nhs", "social_care"],
        "problem": "Older people fall at home and wait hours for help.",
        "lighter_route": "no",
        "form": "mou",
        "costs_estimated": "yes",
        "partner_count": 2,
    },
    "history": [
        "name",
        "lead_org",
        "partner_orgs",
        "partner_types",
        "problem",
        "lighter_route",
        "form",
        "costs_estimated",
        "partner_count",
    ],
    "revision_backup": None,
}


def save_v1_check(database_url: str, user: str, channel: str) -> None:
    """A check in progress as the previous release saved it (definition version 1)."""
    db = Database(database_url)
    try:
        with db.session() as session:
            session.add(
                Conversation(
                    team_id=TEAM_ID,
                    user_id=user,
                    channel_id=channel,
                    kind="check",
                    flow_id="check",
                    flow_version="1",
                    state="objectives",
                    snapshot=V1_SNAPSHOT,
                    draft={},
                )
            )
    finally:
        db.close()


@BOTH_DATABASES
def test_a_check_saved_under_the_previous_definition_resumes_after_the_upgrade(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str, database: str
) -> None:
    save_v1_check(database_url, ALICE, fake_slack.dm_channel(ALICE))
    alice = Journey(slack, fake_slack, ALICE)
    seen = alice.count()
    slack.dm(ALICE, "resume")
    note = alice.wait_notice(seen, "questions have been updated")
    assert "I kept 4 of your answers" in shown(note)
    question = alice.wait_for_prompt(seen)
    assert question_in(question).id == "organisations", "the first question that is new"

    summary = alice.go_on(question, GOOD)
    assert verdict_of(summary) == "Proceed"
    post = alice.post(summary)
    assert "Falls prevention network" in post["text"], "the answers kept are used"
    db = Database(database_url)
    try:
        with db.reading() as session:
            saved = session.scalars(select(Conversation.flow_version)).all()
    finally:
        db.close()
    assert saved == [str(FLOW.version)]


def test_a_reply_meant_for_a_question_that_moved_is_not_taken_for_another(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    save_v1_check(database_url, ALICE, fake_slack.dm_channel(ALICE))
    seen = alice.count()
    slack.dm(ALICE, "Cut falls by a fifth")  # an answer to v1's objectives question
    alice.wait_notice(seen, "questions have been updated")
    question = alice.wait_for_prompt(seen)
    assert question_in(question).id == "organisations"
    assert "Cut falls" not in shown(question)
