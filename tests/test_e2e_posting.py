"""Posting the recommendation: once, to the right channel, with its thread, whatever Slack
answers (a channel without the bot, a vanished channel, 429) and however often Post is
pressed."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.fakeslack import FakeSlack
from tests.conftest import ALICE, ELSEWHERE, PARTNERS
from tests.e2e_support import (
    Journey,
    at_once,
    driver_for,
    mrkdwn_texts,
    proposal,
    replay_press,
    running_bot,
    verdict_of,
    wait_for_draft,
)
from tests.proposer import GOOD
from tests.slack_driver import SlackDriver

# The thread under a post: every answer, then (when there are any) the flags' conditions,
# then the proposer's way to invite partners' views.
THREAD = [
    "Answers given in the check",
    "Red flags and conditions",
    "Conditions and partners' views",
]
NO_BASELINE = {"measures": "all", "baseline": "no"}


def _thread(fake: FakeSlack, post: dict[str, Any]) -> list[dict[str, Any]]:
    return fake.messages(post["channel"], thread_ts=post["ts"])


def _posts(fake: FakeSlack, channel: str = PARTNERS) -> list[dict[str, Any]]:
    return fake.messages(channel)


def test_post_pressed_twice_posts_once_with_one_thread(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    summary = alice.settled(alice.complete(proposal(measuring=NO_BASELINE)))
    assert verdict_of(summary) == "Proceed with conditions"
    first = slack.press(ALICE, summary, action_id="post")
    post = fake_slack.wait_for(lambda: _posts(fake_slack)[0])
    fake_slack.wait_for(alice.posted_note)
    # The same click arrives again (a double click, or a slow client resending).
    again = slack._interactive(first.payload)
    assert again.status == 200
    note = alice.wait_ephemeral()
    assert "already posted" in note["text"]
    fake_slack.wait_idle()
    assert len(_posts(fake_slack)) == 1
    replies = _thread(fake_slack, post)
    assert [r["text"] for r in replies] == THREAD
    # Every thread reply hangs off the one post; nothing was posted anywhere else.
    assert all(call.args.get("thread_ts") in (None, post["ts"]) for call in fake_slack.calls)
    # The DM summary now says where it went, and offers no more buttons.
    closed = alice.current(summary)
    assert f"Posted to <#{PARTNERS}> as *P-1*" in "\n".join(mrkdwn_texts(closed["blocks"]))
    assert not [b for b in closed["blocks"] if b["type"] == "actions"]
    # Its plain-text fallback (notifications, screen readers) reads the same, unescaped.
    assert f"<#{PARTNERS}>" in closed["text"] and "&lt;" not in closed["text"]
    assert fake_slack.errors == []


def test_post_pressed_on_a_discarded_summary_posts_nothing_and_says_why(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    summary = alice.settled(alice.complete(GOOD))
    seen = alice.count()
    slack.press(ALICE, summary, action_id="discard")
    alice.wait_notice(seen, "Check cancelled")
    # A client still showing the summary as it was before the Discard.
    replay_press(slack, ALICE, summary, action_id="post")
    assert "already taken" in alice.wait_ephemeral()["text"]
    fake_slack.wait_idle()
    assert _posts(fake_slack) == []
    assert fake_slack.errors == []


def test_two_post_presses_at_once_post_once(slack: SlackDriver, fake_slack: FakeSlack) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    summary = alice.complete(GOOD)
    at_once(
        slack.pressing(ALICE, summary, action_id="post"),
        slack.pressing(ALICE, summary, action_id="post"),
    )
    post = fake_slack.wait_for(lambda: _posts(fake_slack)[0])
    fake_slack.wait_for(alice.posted_note)
    fake_slack.wait_idle()
    assert len(_posts(fake_slack)) == 1
    # A Proceed has no conditions message: its answers, and the way to partners' views.
    assert [r["text"] for r in _thread(fake_slack, post)] == [THREAD[0], THREAD[2]]
    assert len(fake_slack.ephemerals(ALICE)) == 1
    assert fake_slack.errors == []


@pytest.mark.parametrize("fix", ["pick another channel", "invite the bot"])
def test_a_channel_without_the_bot_is_explained_and_posting_again_works(
    fix: str, slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    summary = alice.complete(GOOD)
    slack.select(ALICE, summary, "pick_channel", ELSEWHERE)
    wait_for_draft(fake_slack, database_url, ALICE, "channel", ELSEWHERE)
    seen = alice.count()
    slack.press(ALICE, summary, action_id="post")
    note = alice.wait_notice(seen, "couldn't post")
    assert f"<#{ELSEWHERE}>" in note["text"] or f"<#{ELSEWHERE}>" in str(note["blocks"])
    assert "Invite me" in "\n".join(mrkdwn_texts(note["blocks"]))
    fake_slack.wait_idle()
    assert _posts(fake_slack, ELSEWHERE) == [] and _posts(fake_slack) == []
    # The summary still offers Post.
    assert alice.current(summary)["blocks"] == summary["blocks"]

    if fix == "pick another channel":
        slack.select(ALICE, summary, "pick_channel", PARTNERS)
        wait_for_draft(fake_slack, database_url, ALICE, "channel", PARTNERS)
        target, other = PARTNERS, ELSEWHERE
    else:
        fake_slack.add_channel(ELSEWHERE, "elsewhere", members=[ALICE], bot_member=True)
        target, other = ELSEWHERE, PARTNERS
    slack.press(ALICE, summary, action_id="post")
    post = fake_slack.wait_for(lambda: _posts(fake_slack, target)[0])
    fake_slack.wait_for(alice.posted_note)
    fake_slack.wait_idle()
    assert len(_posts(fake_slack, target)) == 1 and _posts(fake_slack, other) == []
    assert post["text"].startswith("P-1 ")  # the failed attempt used no reference
    assert [r["text"] for r in _thread(fake_slack, post)] == [THREAD[0], THREAD[2]]
    # The only call Slack refused is the one to the channel without the bot.
    assert [(c.method, c.error, c.args.get("channel")) for c in fake_slack.errors] == [
        ("chat.postMessage", "not_in_channel", ELSEWHERE)
    ]


def test_a_channel_that_vanished_is_explained_and_posting_again_works(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    summary = alice.complete(GOOD)
    fake_slack.fail("chat.postMessage", "channel_not_found")
    seen = alice.count()
    slack.press(ALICE, summary, action_id="post")
    note = alice.wait_notice(seen, "couldn't post")
    assert "can't find that channel" in note["text"]
    assert _posts(fake_slack) == []
    slack.press(ALICE, summary, action_id="post")
    post = fake_slack.wait_for(lambda: _posts(fake_slack)[0])
    fake_slack.wait_for(alice.posted_note)
    fake_slack.wait_idle()
    assert len(_posts(fake_slack)) == 1 and post["text"].startswith("P-1 ")
    assert fake_slack.errors == []


def test_rate_limited_post_waits_and_posts_once(slack: SlackDriver, fake_slack: FakeSlack) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    summary = alice.complete(proposal(coordinator="nobody"))
    fake_slack.rate_limit("chat.postMessage", times=2, retry_after=0)
    slack.press(ALICE, summary, action_id="post")
    post = fake_slack.wait_for(lambda: _posts(fake_slack)[0])
    fake_slack.wait_for(alice.posted_note)
    fake_slack.wait_idle()
    assert len(_posts(fake_slack)) == 1
    assert verdict_of(post) == "Proceed with conditions"
    assert [r["text"] for r in _thread(fake_slack, post)] == THREAD
    limited = [c for c in fake_slack.calls_to("chat.postMessage") if c.status == 429]
    assert len(limited) == 2
    assert fake_slack.errors == []


def test_rate_limited_thread_reply_still_arrives(slack: SlackDriver, fake_slack: FakeSlack) -> None:
    """A 429 on the thread's details (after the post went through) delays, not loses, them."""
    alice = Journey(slack, fake_slack, ALICE)
    summary = alice.complete(proposal(coordinator="nobody"))
    posted = len(fake_slack.calls_to("chat.postMessage"))

    def limit_after_the_post() -> bool:
        calls = fake_slack.calls_to("chat.postMessage")[posted:]
        if calls:
            fake_slack.rate_limit("chat.postMessage", times=1, retry_after=0)
        return bool(calls)

    slack.press(ALICE, summary, action_id="post")
    fake_slack.wait_for(limit_after_the_post)  # runs under the fake's lock: no call slips by
    post = fake_slack.wait_for(lambda: _posts(fake_slack)[0])
    fake_slack.wait_for(lambda: len(_thread(fake_slack, post)) == len(THREAD))
    fake_slack.wait_for(alice.posted_note)
    fake_slack.wait_idle()
    assert len(_posts(fake_slack)) == 1
    assert [r["text"] for r in _thread(fake_slack, post)] == THREAD
    limited = [c for c in fake_slack.calls_to("chat.postMessage") if c.status == 429]
    assert len(limited) == 1 and limited[0].args.get("thread_ts") == post["ts"]
    assert fake_slack.errors == []


def test_without_a_default_channel_the_person_is_asked_to_pick_one(
    fake_slack: FakeSlack, database_url: str
) -> None:
    with running_bot(fake_slack, database_url, partnership_channel=None) as bot:
        slack = driver_for(bot, fake_slack)
        alice = Journey(slack, fake_slack, ALICE, database_url)
        summary = alice.complete(GOOD)
        seen = alice.count()
        slack.press(ALICE, summary, action_id="post")
        alice.wait_notice(seen, "Pick a channel to post to")
        fake_slack.wait_idle()
        assert _posts(fake_slack) == []
        slack.select(ALICE, summary, "pick_channel", PARTNERS)
        wait_for_draft(fake_slack, database_url, ALICE, "channel", PARTNERS)
        slack.press(ALICE, summary, action_id="post")
        fake_slack.wait_for(lambda: _posts(fake_slack)[0])
        fake_slack.wait_for(alice.posted_note)
        fake_slack.wait_idle()
    assert len(_posts(fake_slack)) == 1
    assert fake_slack.errors == []


def test_a_picked_channel_survives_changing_an_answer(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    fake_slack.add_channel("C0OTHER", "joint-board", members=[ALICE], bot_member=True)
    alice = Journey(slack, fake_slack, ALICE, database_url)
    summary = alice.complete(GOOD)
    slack.select(ALICE, summary, "pick_channel", "C0OTHER")
    wait_for_draft(fake_slack, database_url, ALICE, "channel", "C0OTHER")
    value = next(
        option["value"]
        for block in summary["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == "revise"
        for option in element["options"]
        if option["value"].endswith(".coordinator")
    )
    seen = alice.count()
    slack.select(ALICE, summary, "revise", value)
    revised = alice.answer(alice.wait_for_prompt(seen), "nobody")
    assert verdict_of(revised) == "Proceed with conditions"
    picker = next(b["accessory"] for b in revised["blocks"] if "accessory" in b)
    assert picker.get("initial_conversation") == "C0OTHER"
    post = alice.post(revised, channel="C0OTHER")
    assert verdict_of(post) == "Proceed with conditions"
    assert _posts(fake_slack) == []
    assert fake_slack.errors == []
