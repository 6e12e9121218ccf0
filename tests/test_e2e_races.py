"""A person acts on a message before the bot has heard back from Slack that it was posted.

Slack shows a message to people as soon as it stores it; the bot learns its ts only when
Slack's answer to chat.postMessage arrives, and records it after that. Under load (a
busy database, a slow network) a person can press a button in between. These tests make
that window deterministic: Slack's answer to one chosen post is held back (`FakeSlack.held`)
until the test has done what the person does, then released.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from bot.sandbox.fakeslack import FakeSlack
from bot.storage.db import Database
from bot.storage.models import Conversation
from tests.conftest import ALICE, PARTNERS
from tests.e2e_support import Journey, mrkdwn_texts, question_id
from tests.proposer import GOOD, Proposer, is_summary, question_in
from tests.review_support import post_check, review_by_command, review_results
from tests.slack_driver import SlackDriver


def _status(database_url: str, user: str) -> set[str]:
    db = Database(database_url)
    try:
        with db.session() as session:
            return set(
                session.scalars(
                    select(Conversation.state).where(Conversation.user_id == user)
                ).all()
            )
    finally:
        db.close()


def _buttons(message: dict[str, Any]) -> list[str]:
    return [
        e.get("action_id", "")
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def _value(message: dict[str, Any], option: str) -> str:
    return next(
        e["value"]
        for b in message["blocks"]
        for e in b.get("elements", [])
        if e.get("type") == "button" and e["value"].endswith(f".{option}")
    )


def _dm_post(user: str, test: Callable[[str], bool]) -> Callable[[dict[str, Any]], bool]:
    return lambda args: args.get("channel") == f"D{user}" and test(str(args.get("text", "")))


@contextmanager
def evaluation_not_yet_recorded(slack: SlackDriver, alice: Journey) -> Iterator[dict[str, Any]]:
    """Alice answers how she will measure it (a group: a choice per part, then Continue).
    Inside the block Slack shows her the next question (evaluation) while the bot has not
    yet heard that it was posted; yields it."""
    measuring = alice.run_to(GOOD, "measuring")
    for part, chosen in GOOD["measuring"].items():
        assert slack.select_in_block(ALICE, measuring, f"part:{part}", chosen).status == 200
    evaluation_post = _dm_post(ALICE, lambda text: "plan to evaluate" in text)
    with alice.fake.held("chat.postMessage", evaluation_post) as arrived:
        slack.press(ALICE, measuring, action_id="parts_done")
        alice.fake.wait_for(arrived.is_set)
        yield next(m for m in alice.bot_messages() if question_id(m) == "evaluation")


def test_an_answer_that_overtakes_its_question_leaves_a_clean_transcript(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    with evaluation_not_yet_recorded(slack, alice) as evaluation:
        # The person answers before the bot knows the question's ts.
        slack.press(ALICE, evaluation, value=_value(evaluation, "funded"))
        fake_slack.wait_for(lambda: any(question_id(m) == "timing" for m in alice.bot_messages()))
    fake_slack.wait_idle()
    evaluation = alice.current(evaluation)
    assert _buttons(evaluation) == []
    assert ":white_check_mark: *Yes, and it is funded*" in "\n".join(
        mrkdwn_texts(evaluation["blocks"])
    )
    live = [question_id(m) for m in alice.bot_messages() if question_in(m)]
    assert live == ["timing"]
    assert all(len(m["history"]) <= 1 for m in alice.bot_messages())
    assert fake_slack.errors == []


def test_post_pressed_before_the_summary_was_recorded_still_says_where_it_went(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    last = alice.run_to(GOOD, "coordinator")
    dm = fake_slack.dm_channel(ALICE)
    with fake_slack.held(
        "chat.postMessage", _dm_post(ALICE, lambda text: "Verdict:" in text)
    ) as arrived:
        slack.press(ALICE, last, value=_value(last, "protected"))
        fake_slack.wait_for(arrived.is_set)
        summary = next(m for m in fake_slack.messages(dm) if is_summary(m))
        slack.press(ALICE, summary, action_id="post")
        fake_slack.wait_for(lambda: len(fake_slack.messages(PARTNERS)) == 1)
        fake_slack.wait_for(lambda: "done" in _status(database_url, ALICE))
    fake_slack.wait_idle()
    assert len(fake_slack.messages(PARTNERS)) == 1
    # The pressed summary itself turns into where it went, once, as it does without a race.
    summary = alice.current(summary)
    assert f"Posted to <#{PARTNERS}> as *P-1*" in "\n".join(mrkdwn_texts(summary["blocks"]))
    assert len(summary["history"]) == 1
    assert _buttons(summary) == []
    assert fake_slack.errors == []


def test_cancel_that_overtakes_its_question_closes_it(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    first = alice.start()
    dm = fake_slack.dm_channel(ALICE)
    with fake_slack.held(
        "chat.postMessage", _dm_post(ALICE, lambda text: "Which organisations would" in text)
    ) as arrived:
        slack.dm(ALICE, "Integrated discharge team")
        fake_slack.wait_for(arrived.is_set)
        orgs = next(m for m in fake_slack.messages(dm) if question_id(m) == "organisations")
        slack.press(ALICE, orgs, action_id="cancel")
        alice.wait_notice(0, "Check cancelled")
    fake_slack.wait_idle()
    assert "cancelled" in _status(database_url, ALICE)
    orgs = alice.current(orgs)
    assert _buttons(orgs) == []
    assert "Cancelled." in "\n".join(mrkdwn_texts(orgs["blocks"]))
    assert len(orgs["history"]) == 1
    assert _buttons(alice.current(first)) == []
    assert fake_slack.errors == []


def test_back_that_overtakes_its_question_leaves_it_saying_so(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    with evaluation_not_yet_recorded(slack, alice) as evaluation:
        slack.press(ALICE, evaluation, action_id="back")
        # Back shows the measuring question again while the first answer is still held.
        fake_slack.wait_for(
            lambda: (
                [question_id(m) for m in alice.bot_messages() if question_in(m)] == ["measuring"]
            )
        )
    fake_slack.wait_idle()
    evaluation = alice.current(evaluation)
    assert _buttons(evaluation) == []
    assert "Went back." in "\n".join(mrkdwn_texts(evaluation["blocks"]))
    assert len(evaluation["history"]) == 1
    assert fake_slack.errors == []


def test_discard_pressed_while_the_post_is_in_flight_is_refused_and_the_post_completes(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    summary = alice.settled(alice.complete(GOOD))
    to_channel = lambda args: args.get("channel") == PARTNERS and not args.get("thread_ts")  # noqa: E731
    with fake_slack.held("chat.postMessage", to_channel) as arrived:
        slack.press(ALICE, summary, action_id="post")
        fake_slack.wait_for(arrived.is_set)
        # A second button on the same summary while Slack has not answered the post yet.
        seen = alice.count()
        slack.press(ALICE, summary, action_id="discard")
        alice.wait_notice(seen, "being posted to the channel right now")
    fake_slack.wait_for(lambda: "done" in _status(database_url, ALICE))
    fake_slack.wait_idle()
    assert len(fake_slack.messages(PARTNERS)) == 1
    summary = alice.current(summary)
    assert f"Posted to <#{PARTNERS}> as *P-1*" in "\n".join(mrkdwn_texts(summary["blocks"]))
    assert _buttons(summary) == []
    assert fake_slack.errors == []


def test_discarding_a_review_while_it_is_being_posted_is_refused_and_it_posts_once(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    post = post_check(slack, fake_slack, ALICE, GOOD)
    alice = Proposer(slack, fake_slack, ALICE)
    summary = review_by_command(slack, fake_slack, ALICE)
    in_thread = lambda args: args.get("thread_ts") == post["ts"]  # noqa: E731
    with fake_slack.held("chat.postMessage", in_thread) as arrived:
        slack.press(ALICE, summary, action_id="review_submit")
        fake_slack.wait_for(arrived.is_set)
        seen = len(alice.bot_messages())
        slack.press(ALICE, summary, action_id="discard")
        fake_slack.wait_for(
            lambda: any(
                "being posted to the recommendation's thread" in m["text"]
                for m in alice.bot_messages()[seen:]
            ),
            message="the discard refused",
        )
    fake_slack.wait_for(
        lambda: (
            "Review of P-1 posted" in fake_slack.message(summary["channel"], summary["ts"])["text"]
        )
    )
    fake_slack.wait_idle()
    assert [m["text"].startswith("Review of P-1") for m in review_results(fake_slack, post)] == [
        True
    ]
    assert "done" in _status(database_url, ALICE)
    assert fake_slack.errors == []
