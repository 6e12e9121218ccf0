"""Whole checks through Slack: the real app over HTTP, signed requests, the strict fake."""

from __future__ import annotations

from tests.conftest import ALICE, PARTNERS
from tests.fakeslack import FakeSlack
from tests.proposer import GOOD, Proposer
from tests.slack_driver import SlackDriver


def test_a_good_proposal_is_proceed_and_posts_once(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Proposer(slack, fake_slack, ALICE)
    summary = alice.complete(GOOD)
    assert "Verdict: Proceed" in summary["text"]
    slack.press(ALICE, summary, action_id="post")
    posted = fake_slack.wait_for(lambda: fake_slack.messages(PARTNERS))
    assert len(posted) == 1
    assert "P-1" in posted[0]["text"] and "Proceed" in posted[0]["text"]
    assert fake_slack.errors == []
