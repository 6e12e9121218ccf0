"""Conditions followed to the end, over HTTP against the strict fake Slack: each flag of a
posted recommendation is a condition its owner or the channel's members mark met, drop
with a reason or give to someone else, from the thread; the post's count follows."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import ALICE, BOB, PARTNERS
from tests.e2e_support import Journey, at_once, mrkdwn_texts, proposal, shown
from tests.fakeslack import FakeSlack
from tests.slack_driver import SlackDriver

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
            m
            for m in fake.messages(PARTNERS, thread_ts=post["ts"])
            if m["text"] == "Conditions and partners' views"
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
        lambda: slack.select_in_block(BOB, follow_up, first, f"met:{number}"),
        lambda: slack.select_in_block(BOB, follow_up, first, f"met:{number}"),
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
    told = carol.wait_notice(0, "gave you a condition")
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
