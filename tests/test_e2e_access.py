"""Who may act on a posted partnership: its owner and the members of the channel where it
was posted. Anyone else learns nothing about it, not even its name; a press on someone
else's message says whose it is.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from bot.sandbox.fakeslack import FakeSlack
from tests.conftest import ALICE, BOB, PARTNERS
from tests.e2e_support import Journey, ack_blocks, foreign_press, shown, wait_for_draft
from tests.proposer import GOOD
from tests.review_support import REVIEW_OK, local, review_by_command, submit_review
from tests.slack_driver import BotServer, SlackDriver

CAROL = "U0CAROL"  # in the workspace, in neither channel
PRIVATE = "G0PRIVATE"  # a private channel: the bot and Alice only
FIRST_REVIEW = date.today() + timedelta(days=40)


@pytest.fixture
def workspace(fake_slack: FakeSlack) -> FakeSlack:
    fake_slack.add_user(CAROL, tz="Europe/London", real_name="Carol Example", name="carol")
    fake_slack.add_channel(PRIVATE, "board-papers", members=[ALICE], is_private=True)
    return fake_slack


def posted(
    slack: SlackDriver, fake: FakeSlack, database_url: str, channel: str = PARTNERS
) -> dict[str, Any]:
    """Alice's check (first review in 40 days), posted to `channel`."""
    alice = Journey(slack, fake, ALICE)
    summary = alice.complete({**GOOD, "first_review_date": FIRST_REVIEW.isoformat()})
    if channel != PARTNERS:
        slack.select(ALICE, summary, "pick_channel", channel)
        wait_for_draft(fake, database_url, ALICE, "channel", channel)
    return alice.post(summary, channel)


def reminder_in(fake: FakeSlack, bot: BotServer) -> dict[str, Any]:
    """The review reminder of P-1, once due."""
    day = FIRST_REVIEW
    while day.weekday() >= 5:
        day += timedelta(days=1)
    bot.services.scheduler.run_due(local(day, 9, 30))
    return fake.wait_for(
        lambda: next((m for m in fake.messages(PARTNERS) if "Review due" in m["text"]), None),
        message="the review reminder",
    )


def test_review_by_command_is_only_for_those_who_can_see_it_and_others_learn_nothing(
    slack: SlackDriver, workspace: FakeSlack, database_url: str
) -> None:
    post = posted(slack, workspace, database_url, PRIVATE)
    assert "Integrated discharge team" in post["text"]

    refused = ack_blocks(slack.command(CAROL, "review P-1"))["text"]
    unknown = ack_blocks(slack.command(CAROL, "review P-99"))["text"]
    assert refused == unknown.replace("P-99", "P-1"), "the same answer as for no partnership"
    assert "no posted partnership P-1 that you can see" in refused
    assert "Integrated discharge team" not in refused
    workspace.wait_idle()
    assert workspace.messages(workspace.dm_channel(CAROL)) == [], "nothing started for Carol"

    # Bob is in #partnerships but not in the private channel: the same answer.
    assert "that you can see" in ack_blocks(slack.command(BOB, "review P-1"))["text"]
    # The owner may review it wherever it was posted.
    summary = review_by_command(slack, workspace, ALICE)
    submit_review(slack, workspace, ALICE, summary, post)


def test_a_member_of_the_channel_may_review_what_was_posted_there(
    slack: SlackDriver, workspace: FakeSlack, database_url: str
) -> None:
    post = posted(slack, workspace, database_url)
    summary = review_by_command(slack, workspace, BOB)
    result = submit_review(slack, workspace, BOB, summary, post)
    assert f"by <@{BOB}>" in result


def test_reminder_buttons_are_for_members_of_the_channel(
    slack: SlackDriver, workspace: FakeSlack, bot_server: BotServer, database_url: str
) -> None:
    posted(slack, workspace, database_url)
    reminder = reminder_in(workspace, bot_server)
    before = shown(reminder)
    # Carol can read the public channel without being in it, and press its buttons; Slack
    # shows her no ephemeral message there, so she is told in her DM.
    carol = workspace.dm_channel(CAROL)
    for n, action_id in enumerate(("review_start", "review_snooze_week", "review_end"), 1):
        assert slack.press(CAROL, reminder, action_id=action_id).status == 200
        told = workspace.wait_for(
            lambda n=n: workspace.messages(carol)[n - 1 : n], message="Carol told why"
        )[0]
        assert "Only members of the channel" in told["text"]
    workspace.wait_idle()
    assert shown(workspace.message(PARTNERS, reminder["ts"])) == before, "untouched"
    assert len(workspace.messages(carol)) == 3

    # Bob, a member, starts it.
    assert slack.press(BOB, reminder, action_id="review_start").status == 200
    workspace.wait_for(
        lambda: "is reviewing it now" in shown(workspace.message(PARTNERS, reminder["ts"]))
    )


def test_a_recheck_offer_is_for_the_reviewer_it_was_offered_to(
    slack: SlackDriver, workspace: FakeSlack, database_url: str
) -> None:
    post = posted(slack, workspace, database_url)
    adapt = {**REVIEW_OK, "decision": "adapt", "adapt_what": ["scope"]}
    summary = review_by_command(slack, workspace, BOB, adapt)
    submit_review(slack, workspace, BOB, summary, post)
    bob = Journey(slack, workspace, BOB)
    offer = workspace.wait_for(
        lambda: next((m for m in bob.bot_messages() if "Re-check" in m["text"]), None),
        message="the re-check offer",
    )
    assert foreign_press(slack, workspace, ALICE, offer, action_id="recheck").status == 200
    whisper = workspace.wait_for(lambda: workspace.ephemerals(ALICE)[-1:])[0]
    assert whisper["text"] == f"This button is for <@{BOB}>, who reviewed it."
    workspace.wait_idle()
    assert not [
        m
        for m in Journey(slack, workspace, ALICE).bot_messages()
        if "re-check" in m["text"].lower()
    ]


def test_a_press_on_someone_elses_message_says_whose_it_is(
    slack: SlackDriver, workspace: FakeSlack
) -> None:
    alice = Journey(slack, workspace, ALICE)
    question = alice.run_to(GOOD, "lighter_route")
    assert foreign_press(slack, workspace, BOB, question, action_id="answer_1").status == 200
    whisper = workspace.wait_for(lambda: workspace.ephemerals(BOB)[-1:])[0]
    assert whisper["text"] == f"This button is for <@{ALICE}>; it does nothing for you."
    workspace.wait_idle()
    assert alice.current(question)["blocks"] == question["blocks"], "Alice's check unchanged"
