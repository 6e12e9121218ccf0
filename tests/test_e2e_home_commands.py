"""Ways in and ways to look around: `/partnership` and its sub-commands, words typed in
the DM, and the App Home tab."""

from __future__ import annotations

from datetime import date

from tests.conftest import ALICE, BOB, PARTNERS
from tests.e2e_support import (
    Journey,
    ack_blocks,
    at_once,
    mrkdwn_texts,
    plain_texts,
    proposal,
    question_id,
)
from tests.fakeslack import FakeSlack, block_kit_errors, view_errors
from tests.proposer import GOOD
from tests.slack_driver import SlackDriver

VERDICTS = ("Proceed", "Proceed with conditions", "Reconsider", "Use a less formal route")
TIPS = ("Be selective", "Be clear on outcomes", "Be realistic", "Be flexible", "Be engaged")


def _text(message: dict) -> str:
    return "\n".join([message["text"], *mrkdwn_texts(message["blocks"])])


def test_partnership_help_explains_the_bot(slack: SlackDriver, fake_slack: FakeSlack) -> None:
    helped = ack_blocks(slack.command(ALICE, "help"))
    text = _text(helped)
    for label in (*VERDICTS, *TIPS):
        assert f"*{label}*" in text, label
    for command in ("/partnership new", "/partnership list", "/partnership cancel"):
        assert command in text
    assert block_kit_errors(helped["blocks"]) == []
    fake_slack.wait_idle()
    assert fake_slack.calls_to("chat.postMessage") == []  # answered in place, no DM


def test_an_unknown_sub_command_gets_the_usage(slack: SlackDriver, fake_slack: FakeSlack) -> None:
    answer = ack_blocks(slack.command(ALICE, "frobnicate now"))
    assert "I don't know `frobnicate`" in answer["text"]
    assert "/partnership list" in answer["text"]
    fake_slack.wait_idle()
    assert fake_slack.calls_to("chat.postMessage") == []


def test_partnership_list_shows_each_check_with_its_status(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    empty = ack_blocks(slack.command(ALICE, "list"))
    assert "You have no checks yet." in _text(empty)

    alice = Journey(slack, fake_slack, ALICE)
    alice.post(alice.complete(proposal(name="Falls prevention", baseline="no")))
    first = alice.start()
    alice.answer(first, "Hospital at home")
    seen = alice.count()
    slack.dm(ALICE, "cancel")
    alice.wait_notice(seen, "Check cancelled")
    alice.answer(alice.start(), "Street triage")

    listing = ack_blocks(slack.command(ALICE, "list"))
    assert block_kit_errors(listing["blocks"]) == []
    text = "\n".join(mrkdwn_texts(listing["blocks"]))
    # Newest first: in progress, cancelled, posted (with its reference, verdict, channel).
    order = [text.index(name) for name in ("Street triage", "Hospital at home", "Falls")]
    assert order == sorted(order)
    assert "in progress" in text[order[0] : order[1]]
    assert "cancelled" in text[order[1] : order[2]]
    posted = text[order[2] - 10 :]
    assert "*P-1*" in posted and "posted" in posted
    assert "Proceed with conditions" in posted and f"<#{PARTNERS}>" in posted
    review = date.fromisoformat(GOOD["first_review_date"])
    assert f"{review.day} {review:%B %Y}" in posted  # the next review, as the person chose

    # Bob sees only his own (none).
    assert "You have no checks yet." in _text(ack_blocks(slack.command(BOB, "list")))
    assert fake_slack.errors == []


def test_the_app_home_starts_a_check_and_lists_checks(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    assert slack.home_opened(ALICE).status == 200
    home = fake_slack.wait_for(lambda: fake_slack.home_view(ALICE))
    assert view_errors({k: home[k] for k in ("type", "blocks")}) == []
    assert "Partnership check" in plain_texts(home["blocks"])
    assert "You have no checks yet." in "\n".join(mrkdwn_texts(home["blocks"]))

    alice = Journey(slack, fake_slack, ALICE)
    assert slack.press_home(ALICE, "home_new").status == 200
    first = alice.wait_for_prompt()
    assert question_id(first) == "name"
    alice.answer(first, "Integrated discharge team")

    published = len(fake_slack.calls_to("views.publish"))
    slack.home_opened(ALICE)
    fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.publish")) > published)
    home = fake_slack.home_view(ALICE)
    text = "\n".join(mrkdwn_texts(home["blocks"]))
    assert "Integrated discharge team" in text and "in progress" in text

    # Pressing the Home button again shows the check in progress instead of a second one.
    seen = alice.count()
    slack.press_home(ALICE, "home_new")
    alice.wait_notice(seen, "already have a check in progress")
    assert question_id(alice.wait_for_prompt(seen)) == "lead_org"

    # Opening the Messages tab is not the Home tab: nothing is published for it.
    published = len(fake_slack.calls_to("views.publish"))
    event = {
        "type": "app_home_opened",
        "user": ALICE,
        "channel": fake_slack.dm_channel(ALICE),
        "tab": "messages",
        "event_ts": "1700000000.000100",
    }
    assert slack.event(event).status == 200
    fake_slack.wait_idle()
    assert len(fake_slack.calls_to("views.publish")) == published
    assert fake_slack.errors == []


def test_words_typed_in_the_dm_new_help_resume(slack: SlackDriver, fake_slack: FakeSlack) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    slack.dm(ALICE, "help")
    helped = alice.wait_notice(0, "How the partnership check works")
    assert all(f"*{v}*" in _text(helped) for v in VERDICTS)
    seen = alice.count()
    slack.dm(ALICE, "resume")
    alice.wait_notice(seen, "no check in progress")
    seen = alice.count()
    slack.dm(ALICE, "Some answer")  # nothing to answer yet
    alice.wait_notice(seen, "no check in progress")

    seen = alice.count()
    slack.dm(ALICE, "New")
    first = alice.wait_for_prompt(seen)
    assert question_id(first) == "name"
    assert "question 1 of" in _text(first)
    alice.wait_notice(seen, "Let's check this partnership")

    seen = alice.count()
    slack.dm(ALICE, "new")  # a second "new" shows the check in progress, not another
    alice.wait_notice(seen, "already have a check in progress")
    again = alice.wait_for_prompt(seen)
    assert question_id(again) == "name"
    assert question_id(alice.answer(again, "Integrated discharge team")) == "lead_org"
    listing = _text(ack_blocks(slack.command(ALICE, "list")))
    assert listing.count("in progress") == 1
    assert fake_slack.errors == []


def test_two_starts_at_once_make_one_check(slack: SlackDriver, fake_slack: FakeSlack) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    responses = at_once(lambda: slack.command(ALICE, ""), lambda: slack.command(ALICE, "new"))
    assert [r.status for r in responses] == [200, 200]
    fake_slack.wait_for(
        lambda: len([m for m in alice.new_messages(0) if question_id(m)]) == 2,
        message="both starts answered in the DM",
    )
    fake_slack.wait_idle()
    texts = [m["text"] for m in alice.new_messages(0)]
    assert sum("Let's check this partnership" in t for t in texts) == 1
    assert sum("already have a check in progress" in t for t in texts) == 1
    questions = [m for m in alice.new_messages(0) if question_id(m)]
    assert question_id(alice.answer(questions[-1], "Integrated discharge team")) == "lead_org"
    listing = _text(ack_blocks(slack.command(ALICE, "list")))
    assert listing.count("in progress") == 1
    assert fake_slack.errors == []


def test_partnership_from_a_channel_still_talks_in_the_dm(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    response = slack.command(ALICE, "", channel=PARTNERS)
    assert "direct message" in ack_blocks(response)["text"]
    alice = Journey(slack, fake_slack, ALICE)
    assert question_id(alice.wait_for_prompt()) == "name"
    fake_slack.wait_idle()
    assert fake_slack.messages(PARTNERS) == []
    assert fake_slack.errors == []
