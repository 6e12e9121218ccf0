"""A post whose outcome is unknown is never sent blindly again.

Slack can take a post and the bot never hear back (the line drops after Slack stored it),
or the process can be killed in between. Every post carries a tag in its metadata, and
before anything is posted again the bot looks for that tag in the channel: the channel
ends up with one recommendation, one review result and one reminder, and the person is
told where it went.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import select

from bot.sandbox.fakeslack import FakeSlack
from bot.storage.db import Database
from bot.storage.models import Conversation, Partnership, Reminder
from tests.conftest import ALICE, BOB, BOT_TOKEN, PARTNERS
from tests.e2e_support import BOTH_DATABASES, Journey, at_once, mrkdwn_texts, shown
from tests.proposer import GOOD
from tests.review_support import (
    REVIEW_OK,
    local,
    post_check,
    proposal,
    review_by_command,
    submit_review,
)
from tests.slack_driver import BotServer, SlackDriver

DUE = datetime.now(UTC).date() + timedelta(days=35)
DUE += timedelta(days=max(0, 7 - DUE.weekday()) if DUE.weekday() >= 5 else 0)  # a weekday


def top_level(fake: FakeSlack) -> list[dict[str, Any]]:
    return fake.messages(PARTNERS)


def is_recommendation(args: dict[str, Any]) -> bool:
    return args.get("channel") == PARTNERS and not args.get("thread_ts")


def test_a_recommendation_slack_took_without_answering_is_posted_once(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    summary = alice.complete(GOOD)
    with fake_slack.answer_lost("chat.postMessage", is_recommendation) as taken:
        slack.press(ALICE, summary, action_id="post")
        fake_slack.wait_for(taken.is_set, message="Slack taking the post")
    note = fake_slack.wait_for(alice.posted_note, message="Alice told where it went")
    fake_slack.wait_idle()
    posts = top_level(fake_slack)
    assert len(posts) == 1, [m["text"] for m in posts]
    assert "Posted to <#C0PARTNERS> as *P-1*" in shown(note)
    replies = fake_slack.messages(PARTNERS, posts[0]["ts"])
    assert any("Integrated discharge team" in shown(r) for r in replies), "its thread is full"


def test_a_review_result_slack_took_without_answering_is_posted_once(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    post = post_check(slack, fake_slack, ALICE, proposal(DUE))
    summary = review_by_command(slack, fake_slack, BOB, REVIEW_OK)
    in_thread = lambda args: args.get("thread_ts") == post["ts"]  # noqa: E731
    with fake_slack.answer_lost("chat.postMessage", in_thread):
        result = submit_review(slack, fake_slack, BOB, summary, post)
    fake_slack.wait_idle()
    results = [m for m in fake_slack.messages(PARTNERS, post["ts"]) if "Review of" in m["text"]]
    assert len(results) == 1
    assert f"by <@{BOB}>" in result


def test_a_reminder_slack_took_without_answering_is_posted_and_recorded_once(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer
) -> None:
    post_check(slack, fake_slack, ALICE, proposal(DUE))
    reminder_post = lambda args: "Review due" in str(args.get("text", ""))  # noqa: E731
    scheduler = bot_server.services.scheduler
    with fake_slack.answer_lost("chat.postMessage", reminder_post):
        report = scheduler.run_due(local(DUE, 9, 30))
    assert report.posted == 1 and report.failed == []
    again = scheduler.run_due(local(DUE, 9, 45))
    assert again.posted == 0, "recorded: not posted again the same morning"
    reminders = [m for m in top_level(fake_slack) if "Review due" in m["text"]]
    assert len(reminders) == 1


# --- a process stopped mid-post ---------------------------------------------------------


def stop_mid_post(database_url: str, fake: FakeSlack, posted: bool) -> int:
    """Alice's check as a process left it when it stopped while posting it (its claim
    older than any post can take); with `posted`, Slack had taken the post, tag and all.
    Returns the partnership id."""
    db = Database(database_url)
    try:
        with db.session() as session:
            partnership = session.scalars(select(Partnership)).one()
            partnership.post_state = "posting"
            partnership.post_claimed_at = datetime.now(UTC) - timedelta(minutes=5)
            partnership.post_target = PARTNERS
            partnership_id = partnership.id
    finally:
        db.close()
    if posted:
        WebClient(token=BOT_TOKEN, base_url=fake.api_url).chat_postMessage(
            channel=PARTNERS,
            text="P-1 Integrated discharge team: Proceed",
            metadata={
                "event_type": "partnership_check_post",
                "event_payload": {"tag": f"recommendation:{partnership_id}"},
            },
        )
    return partnership_id


def summary_with_claim(
    slack: SlackDriver, fake: FakeSlack, bot: BotServer, database_url: str
) -> dict[str, Any]:
    """Alice's summary, with a claim on its post as a stopped process would leave it."""
    alice = Journey(slack, fake, ALICE)
    summary = alice.complete(proposal(DUE))
    # What the press would have saved before posting (the recommendation's row), without
    # posting: the test plays the process that stopped.
    held = lambda args: is_recommendation(args)  # noqa: E731
    with fake.held("chat.postMessage", held, lost=True) as arrived:
        slack.press(ALICE, summary, action_id="post")
        fake.wait_for(arrived.is_set, message="the post in flight")
    fake.wait_idle()
    return summary


def test_a_post_left_by_a_stopped_process_is_found_and_completed(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer, database_url: str
) -> None:
    summary_with_claim(slack, fake_slack, bot_server, database_url)
    stop_mid_post(database_url, fake_slack, posted=True)
    alice = Journey(slack, fake_slack, ALICE)
    bot_server.services.recommendations.recover()
    note = fake_slack.wait_for(alice.posted_note, message="Alice told where it went")
    assert "as *P-1*" in shown(note)
    assert len(top_level(fake_slack)) == 1, "found, not posted again"
    db = Database(database_url)
    try:
        with db.reading() as session:
            partnership = session.scalars(select(Partnership)).one()
            assert partnership.post_state == "posted"
            assert session.scalars(select(Reminder.due_on)).all() == [DUE]
            done = session.scalars(select(Conversation.status)).all()
    finally:
        db.close()
    assert done == ["finished"]


def test_a_post_that_never_reached_slack_is_released_and_the_proposer_told(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer, database_url: str
) -> None:
    summary = summary_with_claim(slack, fake_slack, bot_server, database_url)
    stop_mid_post(database_url, fake_slack, posted=False)
    alice = Journey(slack, fake_slack, ALICE)
    seen = alice.count()
    bot_server.services.recommendations.recover()
    told = alice.wait_notice(seen, "was interrupted")
    assert "press *Post* on its summary again" in "\n".join(mrkdwn_texts(told["blocks"]))
    assert top_level(fake_slack) == []
    post = alice.post(alice.current(summary))
    assert post["text"].startswith("P-1 Integrated discharge team")
    assert len(top_level(fake_slack)) == 1


# --- two reviews of one partnership, decided at once ---------------------------------------


@BOTH_DATABASES
def test_end_and_continue_submitted_at_once_leave_no_reminder_behind(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    bot_server: BotServer,
    database_url: str,
    database: str,
) -> None:
    post = post_check(slack, fake_slack, ALICE, proposal(DUE))
    keep_going = review_by_command(slack, fake_slack, ALICE, REVIEW_OK)
    stop = review_by_command(slack, fake_slack, BOB, {**REVIEW_OK, "decision": "end"})
    at_once(
        slack.pressing(ALICE, keep_going, action_id="review_submit"),
        slack.pressing(BOB, stop, action_id="review_submit"),
    )
    fake_slack.wait_for(
        lambda: any("ended" in shown(m) for m in fake_slack.messages(PARTNERS, post["ts"])),
        message="the end in the thread",
    )
    fake_slack.wait_idle()
    db = Database(database_url)
    try:
        with db.reading() as session:
            status = session.scalars(select(Partnership.status)).one()
            open_reminders = session.scalars(
                select(Reminder.id).where(Reminder.state.in_(("pending", "reviewing")))
            ).all()
    finally:
        db.close()
    assert status == "ended"
    assert open_reminders == [], "an ended partnership keeps no reminder"
    scheduler = bot_server.services.scheduler
    for day in range(0, 400, 7):
        scheduler.run_due(local(DUE + timedelta(days=day), 9, 30))
    assert not [m for m in top_level(fake_slack) if "Review" in m["text"]]
    thread = fake_slack.messages(PARTNERS, post["ts"])
    decided = [m["text"] for m in thread if "Review of" in m["text"]]
    assert len(decided) in (1, 2), decided  # continue then end, or end and continue refused
