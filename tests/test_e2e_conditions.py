"""Conditions followed to the end, over HTTP against the strict fake Slack: each flag of a
posted recommendation is a condition its owner or the channel's members mark met, drop
with a reason or give to someone else, from the thread; the post's count follows."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.sandbox.fakeslack import FakeSlack
from bot.storage.models import Partnership
from tests.conftest import ALICE, BOB, PARTNERS
from tests.e2e_support import Journey, ack_blocks, at_once, mrkdwn_texts, proposal, shown
from tests.review_support import (
    REVIEW_OK,
    Clock,
    Passes,
    answer_review,
    install_clock,
    local,
    post_check,
    reminder_posts,
)
from tests.review_support import proposal as review_proposal
from tests.slack_driver import BotServer, SlackDriver

CAROL, DAVE = "U0CAROL", "U0DAVE"
# Two warnings: no estimate of costs, nobody coordinating.
TWO_CONDITIONS = proposal(costs="neither", coordinator="nobody")


@pytest.fixture
def people(fake_slack: FakeSlack) -> None:
    fake_slack.add_user(CAROL, tz="Europe/London", real_name="Carol Example", name="carol")
    fake_slack.add_user(DAVE, tz="Europe/London", real_name="Dave Example", name="dave")


def _texts(message: dict[str, Any]) -> str:
    return "\n".join(mrkdwn_texts(message["blocks"]))


def _follow_up(fake: FakeSlack, post: dict[str, Any]) -> dict[str, Any]:
    return fake.wait_for(
        lambda: next(
            (
                m
                for m in fake.messages(PARTNERS, thread_ts=post["ts"])
                if m["text"] == "Conditions and partners' views"
            ),
            None,
        ),
        channel=PARTNERS,
        message="the thread's conditions",
    )


def _condition_blocks(message: dict[str, Any]) -> list[str]:
    return [
        b["block_id"] for b in message["blocks"] if b.get("block_id", "").startswith("condition:")
    ]


def _count(fake: FakeSlack, post: dict[str, Any]) -> str:
    now = fake.message(PARTNERS, post["ts"])
    assert now is not None
    found = re.search(r"\*Conditions\* · ([^\n]+)", _texts(now))
    assert found, _texts(now)
    return found.group(1)


def test_marking_a_condition_met_twice_at_once_counts_it_once(
    slack: SlackDriver, fake_slack: FakeSlack, people: None
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    post = alice.post(alice.complete(TWO_CONDITIONS))
    assert _count(fake_slack, post) == "0 of 2 met"
    follow_up = _follow_up(fake_slack, post)
    first, _second = _condition_blocks(follow_up)
    assert "owner <@U0ALICE>" in _texts(follow_up)

    number = first.split(":")[1]
    at_once(
        slack.selecting_in_block(BOB, follow_up, first, f"met:{number}"),
        slack.selecting_in_block(BOB, follow_up, first, f"met:{number}"),
    )
    fake_slack.wait_for(lambda: _count(fake_slack, post) == "1 of 2 met", channel=PARTNERS)
    fake_slack.wait_for(lambda: fake_slack.ephemerals(BOB), message="Bob told it is met already")
    fake_slack.wait_idle()
    assert _count(fake_slack, post) == "1 of 2 met"
    assert "is met already" in fake_slack.ephemerals(BOB)[0]["text"]
    now = fake_slack.message(PARTNERS, post["ts"])
    assert now is not None and ":white_check_mark: ~" in _texts(now)
    fake_slack.wait_for(
        lambda: f"_Met by <@{BOB}>_" in _texts(alice.current(follow_up)), channel=PARTNERS
    )
    assert len(fake_slack.messages(PARTNERS)) == 1, "updated in place"


def test_a_condition_is_dropped_with_a_reason_or_given_to_someone_else(
    slack: SlackDriver, fake_slack: FakeSlack, people: None
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    post = alice.post(alice.complete(TWO_CONDITIONS))
    follow_up = _follow_up(fake_slack, post)
    first, second = _condition_blocks(follow_up)

    # Dropping asks why, only of the person dropping it; the reason is kept and shown.
    slack.select_in_block(ALICE, follow_up, first, f"drop:{first.split(':')[1]}")
    ask = fake_slack.wait_for(lambda: fake_slack.ephemerals(ALICE)[0], message="why drop it")
    assert "Why drop it?" in str(ask["blocks"])
    assert _count(fake_slack, post) == "0 of 2 met", "nothing changes before a reason"
    drop_block = next(b["block_id"] for b in ask["blocks"] if b["type"] == "input")
    slack.select_in_block(ALICE, ask, drop_block, "The council <funds> it already")
    fake_slack.wait_for(lambda: _count(fake_slack, post) == "0 of 1 met, 1 dropped")
    dropped = "_Dropped by <@U0ALICE>_: The council &lt;funds&gt; it already"
    fake_slack.wait_for(lambda: dropped in _texts(alice.current(follow_up)), channel=PARTNERS)

    # Given to Carol: she owns it now, and is told.
    slack.select_in_block(BOB, follow_up, second, f"give:{second.split(':')[1]}")
    ask = fake_slack.wait_for(lambda: fake_slack.ephemerals(BOB)[0], message="who owns it now")
    give_block = next(b["block_id"] for b in ask["blocks"] if b.get("accessory"))
    slack.select_in_block(BOB, ask, give_block, CAROL)
    fake_slack.wait_for(
        lambda: f"owner <@{CAROL}>" in _texts(alice.current(follow_up)), channel=PARTNERS
    )
    carol = Journey(slack, fake_slack, CAROL)
    told = carol.wait_notice(0, "gave you a condition of P-1")
    assert "Name a coordinator" in shown(told)


def test_only_the_owner_or_the_channel_may_change_a_condition(
    slack: SlackDriver, fake_slack: FakeSlack, people: None
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    post = alice.post(alice.complete(TWO_CONDITIONS))
    follow_up = _follow_up(fake_slack, post)
    first = _condition_blocks(follow_up)[0]
    # Dave is not in the channel: pressing changes nothing, and he is told why.
    slack.select_in_block(DAVE, follow_up, first, f"met:{first.split(':')[1]}")
    fake_slack.wait_for(
        lambda: (
            fake_slack.messages(fake_slack.dm_channel(DAVE), bot_only=True)
            or fake_slack.ephemerals(DAVE)
        ),
        message="Dave told why not",
    )
    fake_slack.wait_idle()
    assert _count(fake_slack, post) == "0 of 2 met"


def test_reviews_ask_about_open_conditions_and_a_reminder_names_one_still_open(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer
) -> None:
    """Each review asks about the conditions still open; one still open at its second
    review is named in that reminder; the list shows the open ones."""
    today = date.today()
    clock = install_clock(bot_server.services, Clock(local(today, 10)))
    passes = Passes(bot_server.services.scheduler, clock, fake_slack)
    first_review = today + timedelta(days=35)
    answers = review_proposal(first_review, costs="neither", coordinator="nobody")
    post = post_check(slack, fake_slack, ALICE, answers)

    # The first reminder: nothing has been open through a review yet.
    passes.daily(first_review, first_review + timedelta(days=6), hour=9, minute=30)
    first = reminder_posts(fake_slack)[0]
    assert "Still open since the last review" not in str(first.args.get("blocks"))

    alice = Journey(slack, fake_slack, ALICE)
    seen = alice.count()
    assert slack.command(ALICE, "review P-1").status == 200
    summary = answer_review(slack, fake_slack, ALICE, REVIEW_OK, seen)
    asked = next(b for b in summary["blocks"] if b.get("block_id") == "conditions_met")
    options = asked["elements"][0]["options"]
    # Each open condition in full, and a box to tick for each (its label cut to fit).
    assert (
        "Estimate the staff time to agree it and its yearly cost to run, and check the "
        "benefit outweighs them."
    ) in _texts(summary)
    assert [o["text"]["text"][:30] for o in options] == [
        "Estimate the staff time to agr",
        "Name a coordinator and protect",
    ]
    slack.select(ALICE, summary, "conditions_met", [options[0]["value"]])
    assert slack.press(ALICE, summary, action_id="review_submit").status == 200
    result = fake_slack.wait_for(
        lambda: next(
            (
                m
                for m in fake_slack.messages(PARTNERS, thread_ts=post["ts"])
                if m["text"].startswith("Review of P-1")
            ),
            None,
        ),
        channel=PARTNERS,
        message="the review's result",
    )
    assert "Met, as this review found: Estimate the staff time" in _texts(result)
    assert "Still open: Name a coordinator" in _texts(result)
    fake_slack.wait_for(lambda: _count(fake_slack, post) == "1 of 2 met", channel=PARTNERS)

    # The next reminder names the condition still open at this, its second, review.
    mark = len(fake_slack.calls_to("chat.postMessage"))
    with Session(bot_server.services.db.engine) as session:
        next_due = session.scalars(select(Partnership.next_review_on)).one()
    assert next_due is not None
    passes.daily(next_due, next_due + timedelta(days=6), hour=9, minute=30)
    second = reminder_posts(fake_slack, after=mark)[0]
    named = "\n".join(mrkdwn_texts(second.args["blocks"]))
    assert "Still open since the last review:* Name a coordinator" in named
    assert "Estimate the staff time" not in named

    listing = ack_blocks(slack.command(ALICE, "list"))
    assert "Open conditions (1): Name a coordinator" in "\n".join(mrkdwn_texts(listing["blocks"]))
