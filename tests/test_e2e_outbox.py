"""Posts that fail after what they show was saved are posted again until Slack takes
them, and the person is told when something they expect is late: the thread of a
recommendation, the next question of a check.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.sandbox.fakeslack import FakeSlack
from tests.conftest import ALICE, PARTNERS
from tests.e2e_support import Journey, question_id, shown
from tests.proposer import GOOD
from tests.slack_driver import BotServer, SlackDriver


def later(bot: BotServer, minutes: int = 1) -> None:
    """Run the outbox as the scheduler thread would, `minutes` from now."""
    outbox = bot.services.outbox
    outbox.clock = lambda: datetime.now(UTC) + timedelta(minutes=minutes)
    outbox.drain()


def in_thread(args: dict[str, Any]) -> bool:
    return args.get("channel") == PARTNERS and bool(args.get("thread_ts"))


def test_a_thread_slack_would_not_take_follows_and_the_proposer_is_told(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    # Answers, a flag, and the invitation to partners' views: 3 replies.
    summary = alice.complete({**GOOD, "costs": "neither"})
    fake_slack.fail("chat.postMessage", "internal_error", times=3, matches=in_thread)
    post = alice.post(summary)
    note = alice.posted_note()
    assert note is not None
    assert "they follow in its thread shortly" in shown(note)
    assert fake_slack.messages(PARTNERS, post["ts"]) == []

    later(bot_server)
    replies = fake_slack.messages(PARTNERS, post["ts"])
    assert [r["text"] for r in replies] == [
        "Answers given in the check",
        "Red flags and conditions",
        "Conditions and partners' views",
    ]
    later(bot_server, minutes=10)
    assert len(fake_slack.messages(PARTNERS, post["ts"])) == 3, "each once"


def test_a_question_slack_would_not_take_follows_and_can_be_answered(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    question = alice.run_to(GOOD, "problem")
    dm = fake_slack.dm_channel(ALICE)
    next_question = lambda args: (  # noqa: E731
        args.get("channel") == dm and "less formal" in str(args.get("text", ""))
    )
    fake_slack.fail("chat.postMessage", "internal_error", times=1, matches=next_question)
    seen = alice.count()
    slack.dm(ALICE, GOOD["problem"])
    fake_slack.wait_for(
        lambda: ":white_check_mark:" in shown(alice.current(question)), message="the answer taken"
    )
    fake_slack.wait_idle()
    assert alice.new_messages(seen) == [], "Slack would not take the next question"

    later(bot_server)
    lighter = alice.wait_for_prompt(seen)
    assert question_id(lighter) == "lighter_route"
    following = alice.answer(lighter, "no")
    assert question_id(following) == "added_value"
    # The late question was recorded as the one showing: answering it closed it.
    assert "No" in shown(alice.current(lighter))
