"""`python app.py reminders run-due [--as-of ISO-TIME]` as an operator runs it: from cron, for
catch-up after downtime, several at once against one Postgres database, one killed mid-pass.

Each run is a real process against the fake Slack; what it posted is counted per channel
and per partnership reference in the fake's log of accepted posts.
"""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import date
from pathlib import Path

import pytest

from bot.sandbox.fakeslack import FakeSlack
from tests.conftest import ALICE, BOB, PARTNERS
from tests.e2e_support import BOTH_DATABASES
from tests.review_support import (
    Clock,
    arrivals,
    cli_env,
    install_clock,
    local,
    post_check,
    posted_count,
    proposal,
    reminder_posts,
    run_due,
    run_due_args,
    seed_due_reminders,
    unlocked_due,
    utc,
)
from tests.slack_driver import BotServer, SlackDriver

DUE = date(2029, 4, 4)  # a Wednesday; 09:00 in London is 08:00 UTC (BST)
MORE = {"C0REVIEWS2": "reviews-two", "C0REVIEWS3": "reviews-three"}


def add_channels(fake: FakeSlack) -> None:
    for channel, name in MORE.items():
        fake.add_channel(channel, name, members=[ALICE, BOB], bot_member=True)


def start_pass(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        run_due_args(local(DUE)),
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill(process: subprocess.Popen[str]) -> None:
    """kill -9 the pass we started, and reap it."""
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL


# --- SQLite: the cron job --------------------------------------------------------------------


def test_run_due_posts_what_is_due_once_prints_a_summary_and_catches_up_in_working_hours(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    bot_server: BotServer,
    database_url: str,
    tmp_path: Path,
) -> None:
    install_clock(bot_server.services, Clock(utc(2029, 1, 8, 10)))
    post_check(slack, fake_slack, ALICE, proposal(DUE))
    env = cli_env(fake_slack, database_url)

    early = run_due(env, "2029-04-04T07:59", tmp_path)  # naive: UTC, so 08:59 in London
    assert early.returncode == 0, early.stderr
    assert posted_count(early.stdout) == 0 and reminder_posts(fake_slack) == []

    fake_slack.fail("chat.postMessage", "internal_error")
    failed = run_due(env, "2029-04-04T09:00+01:00", tmp_path)
    assert failed.returncode == 1
    assert "Could not post the reminder for P-1; the next pass will retry." in failed.stdout
    assert "Traceback" not in failed.stderr
    assert arrivals(fake_slack) == {}

    # Cron was down the rest of the day and comes back at night: wait for the morning.
    night = run_due(env, "2029-04-05T23:30+01:00", tmp_path)
    assert night.returncode == 0, night.stderr
    assert posted_count(night.stdout) == 0 and "1 wait for working hours" in night.stdout
    assert arrivals(fake_slack) == {}

    morning = run_due(env, "2029-04-06T09:00+01:00", tmp_path)
    assert morning.returncode == 0, morning.stderr
    assert morning.stdout.startswith("Posted 1 reminder(s)") and "0 failed" in morning.stdout
    assert arrivals(fake_slack, PARTNERS) == {"P-1": 1}

    again = run_due(env, "2029-04-06T12:00+01:00", tmp_path)
    assert again.returncode == 0 and posted_count(again.stdout) == 0
    assert arrivals(fake_slack) == {"P-1": 1}
    assert fake_slack.errors == []


def test_with_review_holidays_set_no_reminder_goes_out_on_a_bank_holiday(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    bot_server: BotServer,
    database_url: str,
    tmp_path: Path,
) -> None:
    install_clock(bot_server.services, Clock(utc(2029, 1, 8, 10)))
    post_check(slack, fake_slack, ALICE, proposal(date(2029, 3, 30)))  # Good Friday
    env = {**cli_env(fake_slack, database_url), "REVIEW_HOLIDAYS": "GB-ENG"}

    held = run_due(env, "2029-03-30T09:00+01:00", tmp_path)
    assert held.returncode == 0, held.stderr
    assert posted_count(held.stdout) == 0 and "1 wait for working hours" in held.stdout
    easter_monday = run_due(env, "2029-04-02T10:00+01:00", tmp_path)
    assert posted_count(easter_monday.stdout) == 0
    assert arrivals(fake_slack) == {}

    tuesday = run_due(env, "2029-04-03T09:00+01:00", tmp_path)
    assert posted_count(tuesday.stdout) == 1
    assert arrivals(fake_slack, PARTNERS) == {"P-1": 1}

    unknown = run_due({**env, "REVIEW_HOLIDAYS": "Narnia"}, None, tmp_path)
    assert unknown.returncode == 2
    assert "REVIEW_HOLIDAYS must be a country code" in unknown.stderr
    assert "Traceback" not in unknown.stderr


@pytest.mark.parametrize("value", ["next tuesday", "2029-02-30T09:00", "09:00", ""])
def test_a_bad_as_of_is_refused_clearly(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path, value: str
) -> None:
    result = run_due(cli_env(fake_slack, database_url), value, tmp_path)

    assert result.returncode == 2
    assert f"{value!r} is not an ISO time; use e.g. 2027-03-01T09:00" in result.stderr
    assert "Traceback" not in result.stderr
    assert fake_slack.calls_to("chat.postMessage") == []


# --- several schedulers at once, and a crash (Postgres) -------------------------------------------


@BOTH_DATABASES
def test_four_passes_started_at_once_post_each_due_reminder_exactly_once(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path, database: str
) -> None:
    add_channels(fake_slack)
    # Six and four due in a channel make digests; two make single messages, a second apart.
    plan = seed_due_reminders(database_url, {PARTNERS: 6, "C0REVIEWS2": 4, "C0REVIEWS3": 2}, DUE)
    if database == "postgres":
        # The first posts wait out a 429 while their pass holds its rows: passes overlap.
        # (On SQLite a pass holds the one write lock throughout: passes take turns.)
        fake_slack.rate_limit("chat.postMessage", times=3, retry_after=1)
    env = cli_env(fake_slack, database_url)

    processes = [start_pass(env, tmp_path) for _ in range(4)]
    outputs = [process.communicate(timeout=60) for process in processes]

    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, (out, err)
    assert sum(posted_count(out) for out, _ in outputs) == 12
    for channel, refs in plan.items():
        assert arrivals(fake_slack, channel) == {ref: 1 for ref in refs}, channel
    assert fake_slack.errors == []


def wait_until_unlocked(fake: FakeSlack, database_url: str, count: int) -> None:
    """Postgres ends a dead process's transaction, which releases its row locks."""
    fake.wait_for(
        lambda: unlocked_due(database_url) == count, timeout=30, message="the claim released"
    )


# Kills at each step of a pass: before its post reaches Slack, while it waits out a 429,
# after its first post, and after Slack took a post but before it was recorded (the
# reminder's attempt, written down beforehand, lets the next pass find that post by its
# tag instead of posting it again).


@pytest.mark.postgres
def test_a_pass_killed_with_its_post_in_flight_loses_nothing(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    add_channels(fake_slack)
    plan = seed_due_reminders(database_url, {PARTNERS: 1, "C0REVIEWS2": 1, "C0REVIEWS3": 1}, DUE)
    env = cli_env(fake_slack, database_url)

    # The pass has claimed its first due reminder and its post has not reached Slack.
    with fake_slack.held("chat.postMessage", lost=True) as arrived:
        process = start_pass(env, tmp_path)
        try:
            fake_slack.wait_for(arrived.is_set, timeout=30, message="the first post in flight")
        finally:
            kill(process)
    assert arrivals(fake_slack) == {}
    wait_until_unlocked(fake_slack, database_url, 3)

    later = run_due(env, local(DUE, 9, 30), tmp_path)

    assert later.returncode == 0, later.stderr
    assert posted_count(later.stdout) == 3
    for channel, refs in plan.items():
        assert arrivals(fake_slack, channel) == {ref: 1 for ref in refs}, channel
    assert fake_slack.errors == []


@pytest.mark.postgres
def test_a_pass_killed_while_waiting_out_a_429_loses_nothing(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    add_channels(fake_slack)
    plan = seed_due_reminders(database_url, {PARTNERS: 1, "C0REVIEWS2": 1, "C0REVIEWS3": 1}, DUE)
    env = cli_env(fake_slack, database_url)
    # Its first post is answered 429 with a long Retry-After: killed while it waits.
    fake_slack.rate_limit("chat.postMessage", times=1, retry_after=120)

    process = start_pass(env, tmp_path)
    try:
        fake_slack.wait_for(
            lambda: fake_slack.calls_to("chat.postMessage"),
            timeout=30,
            message="the pass trying its first post",
        )
    finally:
        kill(process)
    assert arrivals(fake_slack) == {}
    wait_until_unlocked(fake_slack, database_url, 3)

    later = run_due(env, local(DUE, 9, 30), tmp_path)

    assert later.returncode == 0, later.stderr
    assert posted_count(later.stdout) == 3
    for channel, refs in plan.items():
        assert arrivals(fake_slack, channel) == {ref: 1 for ref in refs}, channel
    assert fake_slack.errors == []


@pytest.mark.postgres
def test_a_pass_killed_after_its_first_post_does_not_post_it_again(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    # Two due in one channel: two single messages about a second apart.
    plan = seed_due_reminders(database_url, {PARTNERS: 2}, DUE)
    first, second = plan[PARTNERS]
    env = cli_env(fake_slack, database_url)

    process = start_pass(env, tmp_path)
    try:
        fake_slack.wait_for(
            lambda: arrivals(fake_slack) == {first: 1}, timeout=30, message="the first post"
        )
        # In the pause before the next post in this channel: hold that post
        # in flight and kill the pass there. The first reminder is in Slack; the second
        # is claimed and not posted.
        with fake_slack.held("chat.postMessage", lost=True) as arrived:
            fake_slack.wait_for(arrived.is_set, message="the second post in flight")
            kill(process)
    finally:
        if process.poll() is None:
            kill(process)
    wait_until_unlocked(fake_slack, database_url, 2)

    later = run_due(env, local(DUE, 9, 30), tmp_path)

    assert later.returncode == 0, later.stderr
    assert arrivals(fake_slack, PARTNERS) == {first: 1, second: 1}


@pytest.mark.postgres
def test_a_pass_killed_after_slack_took_its_post_does_not_post_it_again(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    plan = seed_due_reminders(database_url, {PARTNERS: 1}, DUE)
    (reference,) = plan[PARTNERS]
    env = cli_env(fake_slack, database_url)

    # Slack stores the reminder; the pass is killed before it hears back and records it.
    with fake_slack.held("chat.postMessage") as arrived:
        process = start_pass(env, tmp_path)
        try:
            fake_slack.wait_for(arrived.is_set, timeout=30, message="the post taken by Slack")
        finally:
            kill(process)

    def in_channel() -> list[str]:
        return [m["text"] for m in fake_slack.messages(PARTNERS) if reference in m["text"]]

    assert len(in_channel()) == 1
    wait_until_unlocked(fake_slack, database_url, 1)

    later = run_due(env, local(DUE, 9, 30), tmp_path)

    assert later.returncode == 0, later.stderr
    assert len(in_channel()) == 1, "found by its tag, not posted again"
    tries = [c for c in fake_slack.calls_to("chat.postMessage") if reference in str(c.args)]
    assert len(tries) == 1, "no second post was even tried"
    again = run_due(env, local(DUE, 9, 45), tmp_path)
    assert posted_count(again.stdout) == 0, "and recorded: nothing more is due"
    assert len(in_channel()) == 1
