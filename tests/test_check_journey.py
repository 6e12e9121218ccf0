"""Whole checks through Slack: the real app over HTTP, signed requests, the strict fake."""

from __future__ import annotations

from bot.sandbox.fakeslack import FakeSlack
from tests.conftest import ALICE, PARTNERS
from tests.proposer import GOOD, Proposer
from tests.slack_driver import SlackDriver


def test_a_good_proposal_is_proceed_and_posts_once(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Proposer(slack, fake_slack, ALICE)
    summary = alice.complete(GOOD)
    assert summary["text"] == f"Check: {GOOD['name']}. Verdict: Proceed"
    slack.press(ALICE, summary, action_id="post")
    posted = fake_slack.wait_for(lambda: fake_slack.messages(PARTNERS))
    assert len(posted) == 1
    assert posted[0]["text"] == f"P-1 {GOOD['name']}: Proceed (no red flags)"
    fake_slack.wait_idle()
    assert len(fake_slack.messages(PARTNERS)) == 1
    assert fake_slack.errors == []
