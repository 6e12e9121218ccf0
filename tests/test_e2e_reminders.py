"""Review reminders end to end, in process: checks posted through the bot, the clock moved,
scheduler passes run at chosen UTC moments, and what arrives in the channel, its threads and
people's DMs counted through the strict fake Slack.

The bot's services read the time from a `Clock` the test moves (posting, snoozing, reviews
and passes), so "today" is a chosen date in 2029 rather than the day the suite runs.
"""

from __future__ import annotations

import re
import threading
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from bot.core.scheduler import SchedulerThread
from bot.sandbox.fakeslack import FakeSlack
from tests.conftest import ALICE, BOB, PARTNERS, SIGNING_SECRET
from tests.e2e_support import Journey, ack_blocks, mrkdwn_texts, replay_press, shown
from tests.proposer import GOOD, question_in
from tests.review_support import (
    NEW_YORK,
    Clock,
    Passes,
    answer_review,
    arrivals,
    buttons,
    check_summary,
    install_clock,
    is_reminder_text,
    local,
    mentions,
    post_check,
    post_summary,
    posted_message,
    proposal,
    recheck,
    refs_of,
    reminder_posts,
    review_answers,
    seed_v1_partnership,
    submit_review,
    thread_texts,
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
    due = date(2029, 3, 21)  # a Wednesday; the clocks go forward on Sunday 25 March
    post_check(slack, fake_slack, ALICE, proposal(due))

    arrived = passes.sweep(local(due - timedelta(days=1), 0), utc(2029, 4, 10, 23))

    # Wednesday 09:00, three working days later (Monday), then every five working days;
    # 09:00 stays 09:00 in London across the change (09:00 then 08:00 UTC).
    moments = [moment for moment, _ in arrived]
    assert moments == [
        utc(2029, 3, 21, 9),
        utc(2029, 3, 26, 8),
        utc(2029, 4, 2, 8),
        utc(2029, 4, 9, 8),
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
    assert "Due 21 March 2029 · not reviewed yet" in shown(messages[-1])
    assert "never" not in shown(messages[-1])
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


def test_an_owner_whose_time_zone_slack_does_not_give_is_reminded_at_nine_london_time(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes
) -> None:
    fake_slack.fail("users.info", "user_not_found")
    post_check(slack, fake_slack, BOB, proposal(DUE))  # Bob is in New York

    assert passes.at(local(DUE, 8, 59)).posted == 0
    assert passes.at(local(DUE)).posted == 1  # 09:00 in London, the default
    assert arrivals(fake_slack) == {"P-1": 1}
    assert fake_slack.errors == []


@pytest.mark.parametrize(
    ("form", "full_benefit", "due", "reminded", "often"),
    [
        # The policy's defaults when how often is not decided, from a post on 31 August.
        ("formal", "months_12_to_24", date(2029, 11, 30), local(date(2029, 11, 30)), "quarterly"),
        # six-monthly, clamped to the end of February
        ("mou", "months_12_to_24", date(2030, 2, 28), local(date(2030, 2, 28)), "six-monthly"),
        # informal: one review at the end of the full benefit's range (6 to 12 months:
        # 12), a Saturday, so reminded on the Monday
        ("informal", "months_6_to_12", date(2030, 8, 31), local(date(2030, 9, 2)), "once"),
        # ... or 12 to 24 months: 24, a Sunday
        ("informal", "months_12_to_24", date(2031, 8, 31), local(date(2031, 9, 1)), "once"),
    ],
)
def test_default_cadence_for_the_form_sets_the_first_review(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    passes: Passes,
    clock: Clock,
    form: str,
    full_benefit: str,
    due: date,
    reminded: datetime,
    often: str,
) -> None:
    clock.set(utc(2029, 8, 31, 12))
    answers = proposal(
        None,  # the first review date the bot suggests is kept
        review_cadence="not_decided",
        form=form,
        full_benefit=full_benefit,
        system_level="no",  # asked when the full benefit is due within a year
        governance={"governance_review": "yes", "accountable_lead": "yes"},  # when formal
    )
    summary, suggested = check_summary(slack, fake_slack, ALICE, answers)
    assert suggested == f"{due.day} {due:%B %Y}"
    post = post_summary(slack, fake_slack, ALICE, summary)

    then = {
        "quarterly": ", then quarterly.",
        "six-monthly": ", then every six months.",
        "once": " (once, at the end of the project).",
    }[often]
    assert f"Next review: {due.day} {due:%B %Y}{then}" in shown(post)
    assert f"next review {due.day} {due:%B %Y}" in list_text(slack, ALICE)
    assert passes.at(reminded - timedelta(minutes=1)).posted == 0
    assert passes.at(reminded).posted == 1
    assert f"Due {due.day} {due:%B %Y} · not reviewed yet" in shown(latest_reminder(fake_slack))
    assert fake_slack.errors == []


# --- acting on a reminder: snooze, end, start ---------------------------------------------------


def wait_closed(fake: FakeSlack, message: dict[str, Any], note: str) -> dict[str, Any]:
    """The reminder once it has lost its buttons and says `note`."""

    def closed() -> dict[str, Any] | None:
        now = current(fake, message)
        return now if not buttons(now) and note in shown(now) else None

    return fake.wait_for(closed, message=f"the reminder closed with {note!r}")


def test_snoozed_a_week_then_a_month_nothing_until_then_then_reminded_again(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    post_check(slack, fake_slack, ALICE, proposal(DUE))
    assert passes.at(local(DUE)).posted == 1
    reminder = latest_reminder(fake_slack)

    clock.set(local(DUE, 10))
    press_reminder(slack, BOB, reminder, "review_snooze_week")
    wait_closed(fake_slack, reminder, "Snoozed by <@U0BOB> until Wednesday 11 April")
    week = date(2029, 4, 11)
    assert passes.sweep(local(DUE, 10), local(week, 8, 59)) == []
    assert passes.at(local(week)).posted == 1
    again = latest_reminder(fake_slack)
    assert again["ts"] != reminder["ts"]
    assert again["text"].startswith("Review due: P-1") and "reminder 2" not in shown(again)
    assert "review_start" in [action for action, _ in buttons(again)]

    clock.set(local(week, 11))
    press_reminder(slack, ALICE, again, "review_snooze_month")
    wait_closed(fake_slack, again, "Snoozed by <@U0ALICE> until Friday 11 May")
    month = date(2029, 5, 11)
    assert passes.sweep(local(week, 11), local(month, 8, 59), timedelta(hours=2)) == []
    assert passes.at(local(month)).posted == 1
    assert arrivals(fake_slack) == {"P-1": 3}
    assert buttons(latest_reminder(fake_slack))
    assert fake_slack.errors == []


def test_ending_the_partnership_from_its_reminder_stops_reminders_and_notes_the_thread(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    post = post_check(slack, fake_slack, ALICE, proposal(DUE))
    assert passes.at(local(DUE)).posted == 1
    reminder = latest_reminder(fake_slack)

    clock.set(local(DUE, 10))
    press_reminder(slack, BOB, reminder, "review_end")
    wait_closed(fake_slack, reminder, "Ended by <@U0BOB>. Reminders have stopped.")
    note = fake_slack.wait_for(
        lambda: [t for t in thread_texts(fake_slack, post) if "was ended by <@U0BOB>" in t],
        message="the end noted in the recommendation's thread",
    )
    assert len(note) == 1 and "P-1 was ended" in note[0] and "exit arrangements" in note[0]

    assert passes.daily(DUE, DUE + timedelta(days=400), hour=10) == []
    assert arrivals(fake_slack) == {"P-1": 1}
    listed = list_text(slack, ALICE)
    assert "*P-1* · Integrated discharge team — ended" in listed
    assert "next review" not in listed
    assert "*P-1* · Integrated discharge team — ended" in home_text(slack, fake_slack, ALICE)
    answer = ack_blocks(slack.command(ALICE, "review P-1"))["text"]
    assert answer == "P-1 has ended; there is nothing to review."
    assert fake_slack.errors == []


def test_someone_from_another_workspace_cannot_act_on_a_reminder(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, bot_server: BotServer
) -> None:
    # A shared (Slack Connect) channel: Eve, of another organisation, sees the reminder.
    fake_slack.add_user(EVE, tz="Europe/Paris", real_name="Eve Elsewhere", name="eve")
    fake_slack.add_channel(PARTNERS, "partnerships", members=[ALICE, BOB, EVE], bot_member=True)
    post_check(slack, fake_slack, ALICE, proposal(DUE))
    assert passes.at(local(DUE)).posted == 1
    reminder = latest_reminder(fake_slack)
    elsewhere = SlackDriver(bot_server.base_url, SIGNING_SECRET, fake_slack, team_id="T0OTHER")

    actions = ("review_start", "review_snooze_week", "review_snooze_month", "review_end")
    for action in actions:
        assert elsewhere.press(EVE, reminder, action_id=action).status == 200
    fake_slack.wait_for(
        lambda: len(fake_slack.ephemerals(EVE)) == len(actions), message="Eve told, each time"
    )
    fake_slack.wait_idle()

    assert current(fake_slack, reminder)["blocks"] == reminder["blocks"]  # untouched
    assert [c for c in fake_slack.calls_to("conversations.open") if c.args["users"] == EVE] == []
    assert not any(question_in(m) for m in fake_slack.messages(fake_slack.dm_channel(EVE)))
    # Not snoozed, not ended: repeated as usual three working days later.
    assert passes.at(local(date(2029, 4, 9))).posted == 1
    assert "*P-1* · Integrated discharge team — posted" in list_text(slack, ALICE)
    assert fake_slack.errors == []


# --- digests and pacing -----------------------------------------------------------------------


def test_three_due_in_one_channel_on_one_day_get_one_digest_and_each_can_be_started(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    for name in ("Falls prevention", "Carers hub", "Hospital at home"):
        post_check(slack, fake_slack, ALICE, proposal(DUE, name=name))

    report = passes.at(local(DUE))

    assert (report.posted, report.digests) == (3, 1)
    (call,) = reminder_posts(fake_slack)
    assert refs_of(call) == ["P-1", "P-2", "P-3"]
    digest = posted_message(fake_slack, call)
    starts = [value for action, value in buttons(digest) if action == "review_start"]
    assert len(set(starts)) == 3
    assert [a for a, _ in buttons(digest)].count("review_end") == 3
    assert not mentions(digest, ALICE)

    # Unanswered, the digest is repeated, then escalated with the owner mentioned.
    arrived = passes.daily(DUE + timedelta(days=1), date(2029, 4, 16))
    assert [(moment, [refs_of(c) for c in calls]) for moment, calls in arrived] == [
        (local(date(2029, 4, 9)), [["P-1", "P-2", "P-3"]]),
        (local(date(2029, 4, 16)), [["P-1", "P-2", "P-3"]]),
    ]
    repeat, escalation = (posted_message(fake_slack, calls[0]) for _, calls in arrived)
    assert not mentions(repeat, ALICE)
    assert str(escalation).count("overdue, <@U0ALICE>") == 3
    assert not buttons(current(fake_slack, digest)) and not buttons(current(fake_slack, repeat))

    clock.set(local(date(2029, 4, 16), 10))
    mark = dm_mark(slack, fake_slack, BOB)
    press_reminder(slack, BOB, escalation, "review_start", ref="P-2")
    Journey(slack, fake_slack, BOB).wait_notice(mark, "Let's review *P-2 · Carers hub*")
    first = Journey(slack, fake_slack, BOB).wait_for_prompt(mark)
    assert question_in(first) is not None and question_in(first).id == "value_for_cost"
    assert passes.at(local(date(2029, 4, 16), 12)).posted == 0  # never twice a day
    assert fake_slack.errors == []


def post_digest_of_three(slack: SlackDriver, fake: FakeSlack, passes: Passes) -> dict[str, Any]:
    for name in ("Falls prevention", "Carers hub", "Hospital at home"):
        post_check(slack, fake, ALICE, proposal(DUE, name=name))
    assert passes.at(local(DUE)).digests == 1
    return latest_reminder(fake)


def wait_row(
    fake: FakeSlack, digest: dict[str, Any], ref: str, note: str, timeout: float = 30.0
) -> dict[str, Any]:
    """The digest once `ref`'s row has lost its buttons for a note saying `note`."""

    def noted() -> dict[str, Any] | None:
        now = current(fake, digest)
        return now if note in (row_note(now, ref) or "") else None

    return fake.wait_for(noted, timeout, message=f"the digest saying {note!r} for {ref}")


def test_acting_on_one_row_of_a_digest_leaves_the_others_actionable(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    digest = post_digest_of_three(slack, fake_slack, passes)

    clock.set(local(DUE, 10))
    press_reminder(slack, BOB, digest, "review_start", ref="P-2")
    now = wait_row(fake_slack, digest, "P-2", "<@U0BOB> is reviewing")
    # P-1 and P-3 are still due and have not been acted on: their buttons stay.
    assert row_note(now, "P-1") is None and row_note(now, "P-3") is None

    press_reminder(slack, ALICE, now, "review_end", ref="P-3")
    now = wait_row(fake_slack, digest, "P-3", "Ended")
    assert row_note(now, "P-1") is None
    mark = dm_mark(slack, fake_slack, ALICE)
    press_reminder(slack, ALICE, now, "review_start", ref="P-1")
    Journey(slack, fake_slack, ALICE).wait_notice(mark, "Let's review *P-1 · Falls prevention*")
    now = wait_row(fake_slack, digest, "P-1", "<@U0ALICE> is reviewing")
    assert buttons(now) == []

    # Two are being reviewed and one has ended: nothing more is reminded.
    assert passes.daily(DUE + timedelta(days=1), date(2029, 4, 20)) == []
    assert "*P-3* · Hospital at home — ended" in list_text(slack, ALICE)
    assert fake_slack.errors == []


def test_snoozing_one_row_of_a_digest_snoozes_only_that_one(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    digest = post_digest_of_three(slack, fake_slack, passes)

    clock.set(local(DUE, 10))
    press_reminder(slack, ALICE, digest, "review_snooze_week", ref="P-3")
    now = wait_row(fake_slack, digest, "P-3", "Snoozed")
    assert row_note(now, "P-1") is None and row_note(now, "P-2") is None

    # P-1 and P-2 are repeated on Monday; P-3 comes back when its week is up.
    arrived = passes.daily(DUE + timedelta(days=1), date(2029, 4, 12))
    assert [(moment, [refs_of(c) for c in calls]) for moment, calls in arrived] == [
        (local(date(2029, 4, 9)), [["P-1"], ["P-2"]]),
        (local(date(2029, 4, 11)), [["P-3"]]),
    ]
    assert fake_slack.errors == []


def row_note(message: dict[str, Any], ref: str) -> str | None:
    """What a digest says happened to `ref` (None while its buttons are still there)."""
    blocks = message["blocks"]
    for index, block in enumerate(blocks):
        if block.get("type") == "section" and f"*{ref} · " in block["text"]["text"]:
            after = blocks[index + 1]
            return None if after["type"] == "actions" else " ".join(mrkdwn_texts(after))
    raise AssertionError(f"no row for {ref} in {message['text']}")


def test_two_due_in_one_channel_are_posted_one_by_one_about_a_second_apart(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes
) -> None:
    post_check(slack, fake_slack, ALICE, proposal(DUE, name="Falls prevention"))
    post_check(slack, fake_slack, ALICE, proposal(DUE, name="Carers hub"))

    report = passes.at(local(DUE))

    assert (report.posted, report.digests) == (2, 0)
    first, second = reminder_posts(fake_slack)
    assert (refs_of(first), refs_of(second)) == (["P-1"], ["P-2"])
    assert second.time - first.time >= 0.9  # Slack's ~1 message per second per channel
    assert fake_slack.errors == []


def test_a_429_during_a_pass_is_waited_out_and_the_reminder_posted_once(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes
) -> None:
    post_check(slack, fake_slack, ALICE, proposal(DUE))
    fake_slack.rate_limit("chat.postMessage", times=1, retry_after=1)

    report = passes.at(local(DUE))

    assert (report.posted, report.failed) == (1, [])
    attempts = [
        c
        for c in fake_slack.calls_to("chat.postMessage")
        if is_reminder_text(str(c.args.get("text", "")))
    ]
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].time - attempts[0].time >= 1.0  # Retry-After honoured
    assert arrivals(fake_slack) == {"P-1": 1}
    assert fake_slack.errors == []


def test_more_429s_than_the_client_retries_leave_the_reminder_for_the_next_pass(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes
) -> None:
    post_check(slack, fake_slack, ALICE, proposal(DUE))
    fake_slack.rate_limit("chat.postMessage", times=4, retry_after=0)

    report = passes.at(local(DUE))

    assert (report.posted, report.failed) == (0, ["P-1"])
    assert arrivals(fake_slack) == {}
    assert passes.at(local(DUE, 9, 5)).posted == 1
    assert passes.at(local(DUE, 9, 10)).posted == 0
    assert arrivals(fake_slack) == {"P-1": 1}
    assert fake_slack.errors == []


# --- the review conversation --------------------------------------------------------------------


def test_review_started_by_command_at_any_time_replaces_the_one_due_and_is_listed(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    post = post_check(slack, fake_slack, ALICE, proposal(DUE))
    early = date(2029, 1, 31)  # a quarter later is 30 April: no 31st in April
    clock.set(local(early, 11))

    mark = dm_mark(slack, fake_slack, ALICE)
    answer = ack_blocks(slack.command(ALICE, "review P-1"))["text"]
    assert answer == "Starting the review in our direct messages."
    summary = answer_review(slack, fake_slack, ALICE, review_answers(), mark)
    result = submit_review(slack, fake_slack, ALICE, summary, post)

    assert "*Review of P-1 · Integrated discharge team* by <@U0ALICE>" in result
    assert "*Decision: Continue as it is*" in result and "Next review: 30 April 2029." in result
    # Reviewed early: nothing on 4 April, the next review a quarter after this one.
    arrived = passes.daily(early, date(2029, 5, 2))
    assert [moment for moment, _ in arrived] == [local(date(2029, 4, 30))]
    reminder = latest_reminder(fake_slack)
    assert "Due 30 April 2029 · last reviewed 31 January 2029 (decided to continue)" in shown(
        reminder
    )
    clock.set(local(date(2029, 4, 30), 10))
    expected = "next review 30 April 2029 · last review: decided to continue"
    assert expected in list_text(slack, ALICE)
    assert expected in home_text(slack, fake_slack, ALICE)
    assert fake_slack.errors == []


WHICH = "Which partnership? Give its reference, e.g. `/partnership review P-12`."


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        (
            "review P-99",
            "There is no posted partnership P-99 that you can see. `/partnership list` shows "
            "yours; for others, use the reference shown in the channel where it was posted.",
        ),
        (
            "review nonsense",
            "Which partnership? Give its reference, e.g. `/partnership review P-12`.",
        ),
        ("review", "Which partnership? Give its reference, e.g. `/partnership review P-12`."),
    ],
)
def test_review_of_an_unknown_partnership_is_answered_clearly(
    slack: SlackDriver, fake_slack: FakeSlack, text: str, answer: str
) -> None:
    assert ack_blocks(slack.command(ALICE, text))["text"] == answer
    fake_slack.wait_idle()
    assert not any(question_in(m) for m in fake_slack.messages(fake_slack.dm_channel(ALICE)))
    assert fake_slack.errors == []


def test_a_review_deciding_to_end_stops_the_reminders(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    post = post_check(slack, fake_slack, ALICE, proposal(DUE))
    assert passes.at(local(DUE)).posted == 1
    reminder = latest_reminder(fake_slack)

    clock.set(local(DUE, 10))
    mark = dm_mark(slack, fake_slack, ALICE)
    press_reminder(slack, ALICE, reminder, "review_start")
    answers = review_answers(decision="end", separate_better="yes")
    summary = answer_review(slack, fake_slack, ALICE, answers, mark)
    result = submit_review(slack, fake_slack, ALICE, summary, post)

    assert "*Decision: End it, following the exit arrangements*" in result
    assert "The partnership has ended; reminders have stopped." in result
    assert "The organisations would do better working separately." in result  # new red flag
    assert passes.daily(DUE, DUE + timedelta(days=400), hour=10) == []
    assert arrivals(fake_slack) == {"P-1": 1}
    listed = list_text(slack, ALICE)
    assert "— ended · Proceed · in <#C0PARTNERS> · last review: decided to end it" in listed
    assert fake_slack.errors == []


def test_a_review_deciding_to_adapt_schedules_the_next_one(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    post = post_check(slack, fake_slack, ALICE, proposal(DUE))
    assert passes.at(local(DUE)).posted == 1
    reminder = latest_reminder(fake_slack)

    clock.set(local(DUE, 10))
    mark = dm_mark(slack, fake_slack, BOB)
    press_reminder(slack, BOB, reminder, "review_start")
    wait_closed(fake_slack, reminder, "<@U0BOB> is reviewing it now.")
    answers = review_answers(decision="adapt", adapt_what=["scope"], milestones_met="no")
    summary = answer_review(slack, fake_slack, BOB, answers, mark)
    result = submit_review(slack, fake_slack, BOB, summary, post)

    assert "*Decision: Adapt it (scope, form or partners)*" in result
    assert "Adapting: Its scope or objectives." in result
    assert "Next review: 4 July 2029." in result
    assert "The interim milestones due by now were not met." in result  # new red flag
    arrived = passes.daily(DUE + timedelta(days=1), date(2029, 7, 6))
    assert [moment for moment, _ in arrived] == [local(date(2029, 7, 4))]
    assert "last reviewed 4 April 2029 (decided to adapt it)" in shown(latest_reminder(fake_slack))
    listed = list_text(slack, ALICE)
    assert "next review 4 July 2029 · last review: decided to adapt it" in listed
    assert fake_slack.errors == []


def cancel_review_after_one_answer(
    slack: SlackDriver, fake_slack: FakeSlack, user: str, mark: int
) -> None:
    person = Journey(slack, fake_slack, user)
    person.answer(person.wait_for_prompt(mark), "benefit_outweighs")
    seen = person.count()
    assert slack.dm(user, "cancel").status == 200
    person.wait_notice(seen, "Review cancelled.")


def test_a_review_cancelled_midway_brings_the_reminder_back_next_working_day(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    friday = date(2029, 4, 6)
    post_check(slack, fake_slack, ALICE, proposal(friday))
    assert passes.at(local(friday)).posted == 1
    reminder = latest_reminder(fake_slack)

    clock.set(local(friday, 11))
    mark = dm_mark(slack, fake_slack, ALICE)
    press_reminder(slack, ALICE, reminder, "review_start")
    cancel_review_after_one_answer(slack, fake_slack, ALICE, mark)

    arrived = passes.sweep(local(friday, 11), local(date(2029, 4, 9), 23))
    assert [moment for moment, _ in arrived] == [local(date(2029, 4, 9))]  # Monday 09:00
    assert buttons(latest_reminder(fake_slack))
    assert fake_slack.errors == []


def test_a_review_started_early_by_command_and_cancelled_is_not_reminded_early(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    post_check(slack, fake_slack, ALICE, proposal(DUE))
    clock.set(local(date(2029, 1, 10), 11))
    mark = dm_mark(slack, fake_slack, ALICE)
    assert slack.command(ALICE, "review P-1").status == 200
    cancel_review_after_one_answer(slack, fake_slack, ALICE, mark)

    arrived = passes.daily(date(2029, 1, 10), DUE)
    assert [moment for moment, _ in arrived] == [local(DUE)]


def test_starting_a_second_review_while_one_is_in_progress_leaves_its_reminder_due(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    post = post_check(slack, fake_slack, ALICE, proposal(DUE, name="Falls prevention"))
    post_check(slack, fake_slack, ALICE, proposal(DUE, name="Carers hub"))
    assert passes.at(local(DUE)).posted == 2
    first, second = (posted_message(fake_slack, c) for c in reminder_posts(fake_slack))

    clock.set(local(DUE, 10))
    bob = Journey(slack, fake_slack, BOB)
    mark = bob.count()
    press_reminder(slack, BOB, first, "review_start")
    bob.wait_notice(mark, "Let's review *P-1 · Falls prevention*")
    seen = len(fake_slack.ephemerals(BOB))
    press_reminder(slack, BOB, second, "review_start")
    told = bob.wait_ephemeral(seen)
    assert "P-1" in told["text"]
    fake_slack.wait_idle()
    assert buttons(current(fake_slack, second))  # P-2 is still waiting for someone
    summary = answer_review(slack, fake_slack, BOB, review_answers(), mark)
    submit_review(slack, fake_slack, BOB, summary, post)

    # Nobody reviewed P-2: it is repeated three working days later, P-1 is not.
    arrived = passes.daily(DUE + timedelta(days=1), DUE + timedelta(days=7))
    assert [(moment, refs_of(calls[0])) for moment, calls in arrived] == [
        (local(date(2029, 4, 9)), ["P-2"])
    ]
    assert fake_slack.errors == []


def test_an_end_of_project_review_says_no_more_are_scheduled_and_none_come(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    post = post_check(slack, fake_slack, ALICE, proposal(DUE, review_cadence="end_of_project"))
    assert "Next review: 4 April 2029 (once, at the end of the project)." in shown(post)
    assert passes.at(local(DUE)).posted == 1
    reminder = latest_reminder(fake_slack)

    clock.set(local(DUE, 10))
    mark = dm_mark(slack, fake_slack, ALICE)
    press_reminder(slack, ALICE, reminder, "review_start")
    summary = answer_review(slack, fake_slack, ALICE, review_answers(), mark)
    result = submit_review(slack, fake_slack, ALICE, summary, post)

    assert "*Decision: Continue as it is*" in result
    assert "No more reviews are scheduled: this was its review at the end of the project." in result
    assert "Next review" not in result and "never" not in result
    assert passes.daily(DUE + timedelta(days=1), DUE + timedelta(days=400), hour=10) == []
    assert arrivals(fake_slack) == {"P-1": 1}
    listed = list_text(slack, ALICE)
    assert "— posted · Proceed · in <#C0PARTNERS> · last review: decided to continue" in listed
    assert "next review" not in listed
    assert fake_slack.errors == []


# --- which partnerships are reviewed: only those that go ahead ----------------------------------

RECONSIDER = {"involvement": {"frontline": "no", "users_involved": "no"}}  # 2 critical flags


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        (RECONSIDER, "Reconsider"),
        ({"lighter_route": "yes", "lighter_route_which": "network"}, "Use a less formal route"),
    ],
)
def test_a_partnership_that_does_not_go_ahead_is_never_reminded_and_says_so(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    passes: Passes,
    changes: dict[str, Any],
    verdict: str,
) -> None:
    post = post_check(slack, fake_slack, ALICE, proposal(DUE, **changes))
    assert post["text"].startswith(f"P-1 Integrated discharge team: {verdict}")
    assert "No reviews: they start only for a partnership that goes ahead." in shown(post)
    assert "`/partnership recheck P-1`" in shown(post)
    note = Journey(slack, fake_slack, ALICE).posted_note()
    assert note is not None and "No reviews are scheduled for it." in shown(note)
    listed = list_text(slack, ALICE)
    assert f"*P-1* · Integrated discharge team — posted · {verdict}" in listed
    assert "next review" not in listed

    assert passes.daily(POSTED_AT.date(), DUE + timedelta(days=400)) == []
    assert arrivals(fake_slack) == {}
    assert fake_slack.errors == []


def test_a_review_by_command_of_a_partnership_that_does_not_go_ahead_schedules_no_reminders(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    post = post_check(slack, fake_slack, ALICE, proposal(DUE, **RECONSIDER))
    assert post["text"].startswith("P-1 Integrated discharge team: Reconsider")
    clock.set(local(date(2029, 2, 1), 10))
    mark = dm_mark(slack, fake_slack, ALICE)
    answer = ack_blocks(slack.command(ALICE, "review P-1"))["text"]
    # Either refusing the review or holding it without scheduling another would do.
    if answer == "Starting the review in our direct messages.":
        summary = answer_review(slack, fake_slack, ALICE, review_answers(), mark)
        result = submit_review(slack, fake_slack, ALICE, summary, post)
        assert "Next review" not in result
    assert passes.daily(date(2029, 2, 1), date(2030, 2, 1)) == []
    assert "next review" not in list_text(slack, ALICE)
    assert fake_slack.errors == []


def test_a_recheck_that_no_longer_goes_ahead_stops_its_reminders(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    post = post_check(slack, fake_slack, ALICE, proposal(DUE))
    assert passes.at(local(DUE)).posted == 1
    reminder = latest_reminder(fake_slack)

    clock.set(local(DUE, 10))
    updated = recheck(slack, fake_slack, ALICE, "P-1", RECONSIDER)
    assert updated["text"].startswith("P-1 Integrated discharge team: Reconsider")
    assert "No reviews: they start only for a partnership that goes ahead." in shown(updated)
    notes = [t for t in thread_texts(fake_slack, post) if "re-checked P-1" in t]
    assert len(notes) == 1 and "the verdict is now *Reconsider*" in notes[0]
    listed = list_text(slack, ALICE)
    assert "*P-1* · Integrated discharge team — posted · Reconsider" in listed
    assert "next review" not in listed

    # Its reminder is neither repeated nor escalated, and no later review is reminded.
    assert passes.daily(DUE + timedelta(days=1), DUE + timedelta(days=400)) == []
    assert arrivals(fake_slack) == {"P-1": 1}
    # A press on the reminder as a stale client still shows it (its buttons are gone now)
    # starts no review, and says why.
    mark = dm_mark(slack, fake_slack, BOB)
    assert replay_press(slack, BOB, reminder, action_id="review_start").status == 200
    told = Journey(slack, fake_slack, BOB).wait_ephemeral()
    assert "already been dealt with" in told["text"]
    fake_slack.wait_idle()
    assert dm_mark(slack, fake_slack, BOB) == mark
    assert fake_slack.errors == []


def test_a_recheck_that_stops_reviews_closes_the_reminder_showing_in_the_channel(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    post_check(slack, fake_slack, ALICE, proposal(DUE))
    assert passes.at(local(DUE)).posted == 1
    reminder = latest_reminder(fake_slack)
    clock.set(local(DUE, 10))
    recheck(slack, fake_slack, ALICE, "P-1", RECONSIDER)
    fake_slack.wait_idle()
    assert buttons(current(fake_slack, reminder)) == []


def test_a_recheck_that_starts_reviews_late_schedules_the_first_one_ahead(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    post_check(slack, fake_slack, ALICE, proposal(DUE, **RECONSIDER))
    recheck_day = date(2030, 9, 2)  # long after the first review date given, 4 April 2029
    clock.set(local(recheck_day, 10))
    updated = recheck(slack, fake_slack, ALICE, "P-1", {"involvement": GOOD["involvement"]})
    assert updated["text"].startswith("P-1 Integrated discharge team: Proceed")
    found = re.search(r"Next review: (\d{1,2} \w+ \d{4})", shown(updated))
    assert found, shown(updated)
    assert datetime.strptime(found.group(1), "%d %B %Y").date() >= recheck_day
    assert passes.at(local(recheck_day + timedelta(days=1))).posted == 0


# --- a partnership posted by the previous release -------------------------------------------------


def test_a_partnership_posted_by_the_previous_release_keeps_its_reference_and_reminders(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    passes: Passes,
    clock: Clock,
    database_url: str,
) -> None:
    # Posted on 8 January 2029 under check definition 1: informal, no reviews planned, the
    # full benefit in 12 months, so one review then (a Tuesday).
    ref = seed_v1_partnership(database_url, fake_slack, POSTED_AT)
    assert ref == "P-1"
    due = date(2030, 1, 8)
    listed = list_text(slack, ALICE)
    assert "*P-1* · Falls prevention network — posted · Proceed · in <#C0PARTNERS>" in listed
    assert "next review 8 January 2030" in listed

    assert passes.daily(POSTED_AT.date(), due - timedelta(days=1)) == []
    assert passes.at(local(due)).posted == 1
    reminder = latest_reminder(fake_slack)
    assert reminder["text"] == "Review due: P-1 Falls prevention network"
    assert "Due 8 January 2030 · not reviewed yet" in shown(reminder)

    clock.set(local(due, 10))
    mark = dm_mark(slack, fake_slack, BOB)
    press_reminder(slack, BOB, reminder, "review_start")
    summary = answer_review(slack, fake_slack, BOB, review_answers(), mark)
    post = fake_slack.messages(PARTNERS)[0]
    result = submit_review(slack, fake_slack, BOB, summary, post)
    assert "*Review of P-1 · Falls prevention network* by <@U0BOB>" in result
    assert "No more reviews are scheduled: this was its review at the end of the project." in result
    assert passes.daily(due + timedelta(days=1), due + timedelta(days=400), hour=10) == []
    assert arrivals(fake_slack) == {"P-1": 1}

    # A check posted now takes the next reference.
    assert post_check(slack, fake_slack, ALICE, proposal(date(2031, 6, 2)))["text"].startswith(
        "P-2 "
    )
    assert fake_slack.errors == []


# --- the scheduler inside the running bot ---------------------------------------------------------


class CountedPasses:
    """The bot's scheduler, counting the passes its thread runs."""

    def __init__(self, scheduler: Any) -> None:
        self.scheduler, self.runs = scheduler, 0

    def run_due(self, now: datetime | None = None) -> Any:
        self.runs += 1
        return self.scheduler.run_due(now)


def test_the_bots_own_scheduler_thread_posts_a_due_reminder_once(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer, clock: Clock
) -> None:
    post_check(slack, fake_slack, ALICE, proposal(DUE))
    clock.set(local(DUE, 9, 30))
    counted = CountedPasses(bot_server.services.scheduler)
    thread = SchedulerThread(counted, interval=0.01)  # type: ignore[arg-type]
    thread.start()
    try:
        fake_slack.wait_for(lambda: reminder_posts(fake_slack), message="the thread's reminder")
        runs = counted.runs
        # Many more passes the same morning: still one reminder.
        fake_slack.wait_for(lambda: counted.runs >= runs + 20, message="twenty more passes")
    finally:
        thread.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert arrivals(fake_slack) == {"P-1": 1}
    assert fake_slack.errors == []


def test_a_pass_waiting_out_a_429_does_not_stall_conversations_on_sqlite(
    slack: SlackDriver, fake_slack: FakeSlack, passes: Passes, clock: Clock
) -> None:
    post_check(slack, fake_slack, ALICE, proposal(DUE))
    bob = Journey(slack, fake_slack, BOB)
    question = bob.start()
    fake_slack.rate_limit("chat.postMessage", times=1, retry_after=3)
    clock.set(local(DUE))
    reminding = threading.Thread(target=passes.scheduler.run_due, args=(local(DUE),))
    reminding.start()
    try:
        fake_slack.wait_for(
            lambda: [c for c in fake_slack.calls_to("chat.postMessage") if c.injected],
            message="the pass waiting out its 429",
        )
        # Bob answers while the scheduler waits for Slack: he gets his next question then,
        # not after the reminder has gone out.
        bob.answer(question, "Community falls service")
    finally:
        reminding.join(timeout=30)
    posted = [c for c in fake_slack.calls_to("chat.postMessage") if c.ok]
    kinds = ["reminder" if is_reminder_text(str(c.args["text"])) else "dm" for c in posted]
    assert kinds[-2:] == ["dm", "reminder"]
