"""Ways in and ways to look around: `/partnership` and its sub-commands, words typed in
the DM, and the App Home tab."""

from __future__ import annotations

from datetime import date

from bot.sandbox.blockkit import block_kit_errors, view_errors
from bot.sandbox.fakeslack import FakeSlack
from bot.slack.subcommands import SUBCOMMANDS
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
from tests.proposer import FLOW, GOOD
from tests.slack_driver import SlackDriver

VERDICTS = ("Proceed", "Proceed with conditions", "Reconsider", "Use a less formal route")
TIPS = ("Be selective", "Be clear on outcomes", "Be realistic", "Be flexible", "Be engaged")
# Every subcommand, as help and the App Home list it: "• `/partnership list`: what it does".
COMMAND_LINES = [f"• `{sub.usage}`: {sub.does}" for sub in SUBCOMMANDS]


def _text(message: dict) -> str:
    return "\n".join([message["text"], *mrkdwn_texts(message["blocks"])])


def _heading(message: dict) -> str:
    """The progress heading above a question (its first context line)."""
    return mrkdwn_texts(message["blocks"])[0]


def test_partnership_help_explains_the_bot(slack: SlackDriver, fake_slack: FakeSlack) -> None:
    helped = ack_blocks(slack.command(ALICE, "help"))
    text = _text(helped)
    for label in (*VERDICTS, *TIPS):
        assert f"*{label}*" in text, label
    # Every subcommand, each on its own line, in the table's order.
    lines = text.splitlines()
    assert [line for line in lines if line.startswith("• `/partnership")] == COMMAND_LINES
    assert {sub.name for sub in SUBCOMMANDS} >= {"new", "list", "review", "recheck", "cancel"}
    assert block_kit_errors(helped["blocks"]) == []
    fake_slack.wait_idle()
    assert fake_slack.calls_to("chat.postMessage") == []  # answered in place, no DM


def test_an_unknown_sub_command_gets_the_usage(slack: SlackDriver, fake_slack: FakeSlack) -> None:
    answer = ack_blocks(slack.command(ALICE, "frobnicate now"))
    assert "I don't know `frobnicate`" in answer["text"]
    for sub in SUBCOMMANDS:
        assert f"`{sub.usage}`" in answer["text"], sub.name
    fake_slack.wait_idle()
    assert fake_slack.calls_to("chat.postMessage") == []


def test_partnership_list_shows_each_check_with_its_status(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    empty = ack_blocks(slack.command(ALICE, "list"))
    assert "You have no checks yet." in _text(empty)

    alice = Journey(slack, fake_slack, ALICE)
    # Reconsider: posted, but reviews start only for a partnership that goes ahead.
    involvement = {"frontline": "no", "users_involved": "no"}
    measuring = {"measures": "all", "baseline": "no"}
    for answers in (
        proposal(name="Community hubs", involvement=involvement),
        proposal(name="Falls prevention", measuring=measuring),
    ):
        summary = alice.complete(answers)
        alice.post(summary)
        # Posted and closed (the helper's "Posted to" note may be the previous check's).
        fake_slack.wait_for(
            lambda s=summary: "Posted to" in "\n".join(mrkdwn_texts(alice.current(s)["blocks"])),
            message=f"{answers['name']} closed as posted",
        )
    first = alice.start()
    alice.answer(first, "Hospital at home")
    seen = alice.count()
    slack.dm(ALICE, "cancel")
    alice.wait_notice(seen, "Check cancelled")
    alice.answer(alice.start(), "Street triage")

    listing = ack_blocks(slack.command(ALICE, "list"))
    assert block_kit_errors(listing["blocks"]) == []
    lines = [t for t in mrkdwn_texts(listing["blocks"]) if t.startswith("• ")]
    # Newest first: in progress, cancelled, then the posted ones (reference, verdict,
    # channel, and the next review for the one that goes ahead).
    names = ("Street triage", "Hospital at home", "Falls prevention", "Community hubs")
    assert len(lines) == len(names)
    for line, name in zip(lines, names, strict=True):
        assert name in line, (name, line)
    assert lines[0].endswith(" — in progress")
    assert lines[1].endswith(" — cancelled")
    review = date.fromisoformat(GOOD["first_review_date"])
    # Each with its open conditions: every flag of a posted recommendation is one.
    assert lines[2] == (
        f"• *P-2* · Falls prevention — posted · Proceed with conditions · in <#{PARTNERS}>"
        f" · next review {review.day} {review:%B %Y}"  # the next review, as the person chose
        "\n    Open conditions (1): Take a baseline of each measure before the partnership "
        "starts."
    )
    assert lines[3].startswith(
        f"• *P-1* · Community hubs — posted · Reconsider · in <#{PARTNERS}>"
        "\n    Open conditions (2): Involve frontline staff in the design now"
    )

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
    # The Home lists every subcommand, as help does.
    commands = next(t for t in mrkdwn_texts(home["blocks"]) if t.startswith("*Commands*"))
    assert commands.splitlines()[1:] == COMMAND_LINES

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
    assert question_id(alice.wait_for_prompt(seen)) == "organisations"

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
    # "About the proposal" is not one of the five tips: its heading has no tip count.
    assert _heading(first) == "*About the proposal*"
    assert FLOW.question("name").tip == "about"
    alice.wait_notice(seen, "Let's check this partnership")

    seen = alice.count()
    slack.dm(ALICE, "new")  # a second "new" shows the check in progress, not another
    alice.wait_notice(seen, "already have a check in progress")
    again = alice.wait_for_prompt(seen)
    assert question_id(again) == "name"
    organisations = alice.answer(again, "Integrated discharge team")
    assert question_id(organisations) == "organisations"
    assert _heading(organisations) == "*About the proposal*"
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
    nxt = alice.answer(questions[-1], "Integrated discharge team")
    assert question_id(nxt) == "organisations"
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


def test_every_subcommand_in_the_table_is_answered(slack: SlackDriver) -> None:
    """bot/slack/subcommands.py lists them (help and the usage hint are written from it): each
    has its handling, under its name and every alias."""
    from bot.slack.subcommands import SUBCOMMANDS

    for sub in SUBCOMMANDS:
        for word in (sub.name, *sub.aliases):
            typed = f"{word} P-1" if word else ""  # a bare /partnership starts a check
            text = ack_blocks(slack.command(ALICE, typed))["text"]
            assert "I don't know" not in text, (word, text)
    assert "I don't know `frobnicate`" in ack_blocks(slack.command(ALICE, "frobnicate"))["text"]
