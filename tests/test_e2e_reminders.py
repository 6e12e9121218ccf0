"""Review reminders end to end, in process: checks posted through the bot, the clock moved,
scheduler passes run at chosen UTC moments, and what arrives in the channel, its threads and
people's DMs counted through the strict fake Slack.

The bot's services read the time from a `Clock` the test moves (posting, snoozing, reviews
and passes), so "today" is a chosen date in 2029 rather than the day the suite runs.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import ALICE, BOB
from tests.e2e_support import Journey, ack_blocks, mrkdwn_texts, shown
from tests.fakeslack import FakeSlack
from tests.review_support import (
    NEW_YORK,
    Clock,
    Passes,
    arrivals,
    buttons,
    install_clock,
    local,
    post_check,
    posted_message,
    proposal,
    refs_of,
    reminder_posts,
    utc,
)
from tests.slack_driver import BotServer, SlackDriver

POSTED_AT = utc(2029, 1, 8, 10)  # a Monday morning in winter
DUE = date(2029, 4, 4)  # a Wednesday, after the clocks went forward (BST, UTC+1)
EVE = "U0EVE"  # someone from another organisation, in a shared channel


@pytest.fixture
def clock(bot_server: BotServer) -> Clock:
    return install_clock(bot_server.services, Clock(POSTED_AT))


@pytest.fixture
def passes(bot_server: BotServer, clock: Clock, fake_slack: FakeSlack) -> Passes:
    return Passes(bot_server.services.scheduler, clock, fake_slack)


def press_reminder(
    slack: SlackDriver, user: str, message: dict[str, Any], action_id: str, ref: str | None = None
) -> None:
    """`user` presses `action_id` on a reminder (in a digest: on `ref`'s row)."""
    value = None
    if ref is not None:
        value = reminder_value(message, ref)
    assert slack.press(user, message, action_id=action_id, value=value).status == 200


def reminder_value(message: dict[str, Any], ref: str) -> str:
    """The reminder id a digest's buttons carry for partnership `ref`."""
    blocks = message["blocks"]
    for index, block in enumerate(blocks):
        if block.get("type") == "section" and f"*{ref} · " in block["text"]["text"]:
            controls = blocks[index + 1]
            assert controls["type"] == "actions"
            return controls["elements"][0]["value"]
    raise AssertionError(f"no row for {ref} in {message['text']}")


def current(fake: FakeSlack, message: dict[str, Any]) -> dict[str, Any]:
    found = fake.message(message["channel"], message["ts"])
    assert found is not None
    return found


def latest_reminder(fake: FakeSlack) -> dict[str, Any]:
    return posted_message(fake, reminder_posts(fake)[-1])


def list_text(slack: SlackDriver, user: str) -> str:
    return shown(ack_blocks(slack.command(user, "list")))


def home_text(slack: SlackDriver, fake: FakeSlack, user: str) -> str:
    before = len(fake.calls_to("views.publish"))
    assert slack.home_opened(user).status == 200
    fake.wait_for(
        lambda: len(fake.calls_to("views.publish")) > before, message="the Home tab published"
    )
    view = fake.home_view(user)
    assert view is not None
    return "\n".join(mrkdwn_texts(view["blocks"]))


def dm_mark(slack: SlackDriver, fake: FakeSlack, user: str) -> int:
    return Journey(slack, fake, user).count()


# --- cadence and working hours ----------------------------------------------------------------


def test_unanswered_reminder_is_repeated_then_escalated_never_twice_a_day(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes
) -> None:
    post_check(slack, fake_slack, ALICE, proposal(DUE))

    arrived = passes.sweep(local(DUE - timedelta(days=1), 0), utc(2029, 4, 24, 23))

    # Wednesday 09:00, three working days later (Monday), then every five working days.
    moments = [moment for moment, _ in arrived]
    assert moments == [
        local(DUE),
        local(date(2029, 4, 9)),
        local(date(2029, 4, 16)),
        local(date(2029, 4, 23)),
    ]
    assert all(len(calls) == 1 and refs_of(calls[0]) == ["P-1"] for _, calls in arrived)
    messages = [posted_message(fake_slack, calls[0]) for _, calls in arrived]
    texts = [str(calls[0].args["text"]) for _, calls in arrived]
    assert all(text.startswith("Review due: P-1 Integrated discharge team") for text in texts)
    first, repeat, escalation, again = (str(calls[0].args["blocks"]) for _, calls in arrived)
    assert "Review due: P-1" in first and "reminder 2" in repeat
    # Only the escalations mention the owner.
    assert "<@U0ALICE>" not in first and "<@U0ALICE>" not in repeat
    assert "<@U0ALICE>" in escalation and "<@U0ALICE>" in again
    # Only the newest reminder keeps buttons; the earlier ones say it was reminded again.
    assert [bool(buttons(m)) for m in messages] == [False, False, False, True]
    assert all("Reminded again below" in shown(m) for m in messages[:3])
    assert "Due 4 April 2029 · last reviewed never" in shown(messages[-1])
    assert fake_slack.errors == []


def test_a_review_due_on_a_saturday_is_reminded_on_monday_at_nine(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes
) -> None:
    saturday = date(2029, 4, 7)
    post_check(slack, fake_slack, ALICE, proposal(saturday))

    arrived = passes.sweep(local(saturday, 0), local(date(2029, 4, 9), 23))

    assert [moment for moment, _ in arrived] == [local(date(2029, 4, 9), 9)]
    assert "Due 7 April 2029" in shown(latest_reminder(fake_slack))
    assert fake_slack.errors == []


def test_an_owner_in_new_york_is_reminded_at_nine_new_york_time_never_at_night(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes
) -> None:
    due = date(2029, 2, 7)  # a Wednesday in winter: London UTC+0, New York UTC-5
    post_check(slack, fake_slack, ALICE, proposal(due))  # P-1, owner in London
    post_check(slack, fake_slack, BOB, proposal(due))  # P-2, owner in New York

    assert passes.at(utc(2029, 2, 7, 8, 59)).posted == 0
    assert passes.at(utc(2029, 2, 7, 9)).posted == 1  # 09:00 London
    assert arrivals(fake_slack) == {"P-1": 1}
    assert passes.at(utc(2029, 2, 7, 13, 59)).posted == 0  # 08:59 New York
    # The bot was down at 09:00 New York time; it catches up at 23:00 and 03:00 there.
    late = passes.at(utc(2029, 2, 8, 4))
    assert (late.posted, late.deferred) == (0, 1)
    assert passes.at(local(date(2029, 2, 8), 3, tz=NEW_YORK)).posted == 0
    assert passes.at(utc(2029, 2, 8, 13, 59)).posted == 0
    assert passes.at(utc(2029, 2, 8, 14)).posted == 1  # 09:00 New York (EST)
    assert arrivals(fake_slack) == {"P-1": 1, "P-2": 1}
    assert fake_slack.errors == []


@pytest.mark.parametrize(
    ("form", "due", "reminded"),
    [
        # DOMAIN.md defaults when the proposer plans no reviews, from a post on 31 August.
        ("formal", date(2029, 11, 30), local(date(2029, 11, 30))),  # quarterly
        ("mou", date(2030, 2, 28), local(date(2030, 2, 28))),  # six-monthly, month end
        # informal: one review at the end, when full benefit is due (12 months): a Saturday
        ("informal", date(2030, 8, 31), local(date(2030, 9, 2))),
    ],
)
def test_default_cadence_for_the_form_sets_the_first_review(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    passes: Passes,
    clock: Clock,
    form: str,
    due: date,
    reminded: datetime,
) -> None:
    clock.set(utc(2029, 8, 31, 12))
    answers = proposal(None, review_cadence="none", form=form)
    answers |= {"governance_review": "yes", "accountable_lead": "yes"}  # asked when formal
    post_check(slack, fake_slack, ALICE, answers)

    assert f"next review {due.day} {due:%B %Y}" in list_text(slack, ALICE)
    assert passes.at(reminded - timedelta(minutes=1)).posted == 0
    assert passes.at(reminded).posted == 1
    assert f"Due {due.day} {due:%B %Y}" in shown(latest_reminder(fake_slack))
    assert fake_slack.errors == []
