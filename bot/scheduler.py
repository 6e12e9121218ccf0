"""The reminder scheduler: one pass posts every review reminder that is due, exactly once.

A pass finds the channels with due reminders (read off an index on state and send time,
whatever the number of partnerships not due), then per channel locks the due rows with
SELECT ... FOR UPDATE SKIP LOCKED, posts one message, records it and commits. Several
schedulers on one Postgres database therefore never post the same reminder twice, and
one killed mid-pass leaves its rows unlocked and unchanged for the next pass. (SQLite has
one writer at a time, so there the lock is the whole database, held only while posting.)
Posting keeps to about one message a second per channel across every process (the
channel's last post is a locked row, `ChannelPace`), and a 429 is waited out for its
Retry-After between units of work, never while holding the lock.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Container, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy import Select, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flows import schedule

from . import review_blocks
from .db import Database, DatabaseUnavailable
from .messenger import Messenger, SlackUnreachable
from .models import ChannelPace, Partnership, Reminder, ReminderAttempt
from .reminder_messages import redraw
from .review_blocks import DigestItem
from .store import forget_events

log = logging.getLogger(__name__)

DIGEST_FROM = 3  # this many due at once in one channel get one digest message
BATCH = 50
# Between posts in one channel (Slack: about one a second), whichever process posts them.
PER_CHANNEL_INTERVAL = timedelta(seconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_RATE_LIMITS = 3  # 429s waited out per channel in one pass before leaving it to the next


@dataclass
class PassReport:
    posted: int = 0
    digests: int = 0
    deferred: int = 0
    failed: list[str] = field(default_factory=list)


class Scheduler:
    def __init__(
        self,
        db: Database,
        messenger: Messenger,
        clock: Callable[[], datetime],
        pause: Callable[[float], None] = time.sleep,
        holidays: Container[date] = schedule.NO_HOLIDAYS,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.slack = messenger
        self.clock = clock  # what time the pass acts as of (`run-due --as-of`)
        self.wall = wall  # the real time, for pacing posts
        self.pause = pause
        self.holidays = holidays  # public holidays: no reminder goes out on one

    def run_due(self, now: datetime | None = None) -> PassReport:
        """One pass, as if the clock said `now` (default: the real time)."""
        now = now or self.clock()
        report = PassReport()
        with self.db.session() as session:
            forget_events(session, now)
        for channel in self.due_channels(now):
            self._channel_pass(channel, now, report)
        return report

    def due_channels(self, now: datetime) -> list[str]:
        """The channels with reminders due by `now` (of partnerships still active)."""
        with self.db.reading() as session:
            channels = session.scalars(_due_channels(now)).all()
        # A partnership not posted yet has no channel.
        return [channel for channel in channels if channel is not None]

    def _channel_pass(self, channel: str, now: datetime, report: PassReport) -> None:
        """Post what is due in one channel, a message per unit of work.

        Nothing waits inside a transaction: the pause between posts and any Retry-After
        from Slack happen between units of work, so the rows (on SQLite, the database)
        are never held while the bot sleeps.
        """
        rate_limits, posted = 0, False
        while True:
            if posted and not self._still_due(channel, now):
                return
            outcome, retry_after = self._post_next(channel, now, report)
            if outcome == "idle":
                return
            if outcome == "paced":  # the channel had a post under a second ago
                self.pause(retry_after)
                continue
            if outcome == "rate_limited":  # Slack said 429: wait as asked, then carry on
                rate_limits += 1
                if rate_limits > MAX_RATE_LIMITS:  # still due: the next pass carries on
                    report.failed.extend(self._due_references(channel, now))
                    return
                self.pause(retry_after)
            else:
                posted = True

    def _still_due(self, channel: str, now: datetime) -> bool:
        with self.db.reading() as session:
            first = session.scalar(_due_in(channel, now).with_only_columns(Reminder.id).limit(1))
            return first is not None

    def _due_references(self, channel: str, now: datetime) -> list[str]:
        with self.db.reading() as session:
            refs = session.scalars(_due_in(channel, now).with_only_columns(Partnership.ref))
            return [f"P-{ref}" for ref in refs]

    def _post_next(self, channel: str, now: datetime, report: PassReport) -> tuple[str, float]:
        """Lock the channel's due reminders, post one message for some of them, record it.

        Returns ("idle", 0) when nothing is left to post, ("posted", 0) after a post,
        ("paced", seconds) when the channel's last post (by any process) was too recent,
        or ("rate_limited", seconds) when Slack answered 429 with that Retry-After.
        """
        with self.db.session() as session:
            due = session.execute(
                _due_in(channel, now)
                .order_by(Reminder.send_at, Reminder.id)
                .limit(BATCH)
                .with_for_update(of=Reminder, skip_locked=True)
            ).all()
            ready = []
            for reminder, partnership in due:
                later = schedule.deliverable_at(
                    reminder.send_at, now, partnership.owner_tz, self.holidays
                )
                if later is not None:  # night, weekend or holiday for the owner: wait for 09:00
                    reminder.send_at = later
                    report.deferred += 1
                else:
                    ready.append((reminder, partnership))
            if not ready:
                return "idle", 0
            if len(ready) >= DIGEST_FROM:
                rows = ready[: review_blocks.MAX_PER_DIGEST]
                message = review_blocks.digest_message(
                    [
                        DigestItem(p, r.id, r.due_on, schedule.is_escalation(r.sends + 1))
                        for r, p in rows
                    ]
                )
            else:
                rows = ready[:1]
                reminder, partnership = rows[0]
                number = reminder.sends + 1
                message = review_blocks.reminder_message(
                    partnership,
                    reminder.id,
                    reminder.due_on,
                    number,
                    schedule.is_escalation(number),
                )
            if (found := self._posted_before(session, channel, ready)) is not None:
                rows, ts = found  # an earlier pass posted these and stopped before recording
            else:
                wait = self._claim_slot(session, channel)
                if wait > 0:
                    return "paced", wait
                tag = f"reminders:{'-'.join(str(r.id) for r, _ in rows)}:{uuid.uuid4().hex[:8]}"
                self._attempting(session, rows, tag)
                try:
                    ts = self.slack.post(channel, message, tag=tag)["ts"]
                except SlackApiError as error:
                    _forget_attempts(session, rows)  # refused: nothing was posted
                    if error.response.status_code == 429:
                        return "rate_limited", float(error.response.headers.get("Retry-After", 1))
                    log.warning("Could not post a reminder in %s: %s", channel, error)
                    report.failed.extend(p.reference for _, p in rows)
                    return "idle", 0  # stays due: the next pass tries again
                except SlackUnreachable:
                    # Posted or not, nobody can tell now: the attempt stays for the next pass.
                    report.failed.extend(p.reference for _, p in rows)
                    return "idle", 0
            _forget_attempts(session, rows)
            self._record(session, channel, rows, ts, now)
            report.posted += len(rows)
            report.digests += len(rows) > 1
            return "posted", 0

    def _posted_before(
        self, session: Session, channel: str, ready: list[tuple[Reminder, Partnership]]
    ) -> tuple[list[tuple[Reminder, Partnership]], str] | None:
        """Reminders an earlier pass posted and never recorded (it was killed, or Slack's
        answer was lost): the ones it tried, and the post found in the channel by its tag.
        None when there is none; an attempt that never reached the channel is forgotten."""
        wanted = {(r.id, r.sends + 1): (r, p) for r, p in ready}
        attempts = session.scalars(
            select(ReminderAttempt).where(ReminderAttempt.reminder_id.in_([r.id for r, _ in ready]))
        ).all()
        tried = [a for a in attempts if (a.reminder_id, a.send) in wanted]
        for tag in dict.fromkeys(a.tag for a in tried):
            try:
                found = self.slack.find(channel, tag)
            except SlackUnreachable:
                continue  # cannot tell now: posting again would risk a second copy
            rows = [wanted[(a.reminder_id, a.send)] for a in tried if a.tag == tag]
            if found is not None:
                return rows, found["ts"]
            _forget_attempts(session, rows)
        return None

    def _attempting(
        self, session: Session, rows: list[tuple[Reminder, Partnership]], tag: str
    ) -> None:
        """Write down the post about to be made, where a killed process cannot undo it: on
        Postgres in a transaction of its own (this one holds the rows and may be rolled
        back by a kill). SQLite has one writer, so there it stays in this transaction and
        a process killed after Slack took a post may post that reminder again."""
        attempts = [
            ReminderAttempt(reminder_id=r.id, send=r.sends + 1, tag=tag, at=self.wall())
            for r, _ in rows
        ]
        if session.get_bind().dialect.name != "postgresql":
            session.add_all(attempts)
            return
        with self.db.session() as own:
            own.add_all(attempts)

    def _claim_slot(self, session: Session, channel: str) -> float:
        """Take the channel's next posting slot: 0 when it is free now (the row stays
        locked, so another process waits until this post is recorded), else how many
        seconds until it is."""
        pace = session.get(ChannelPace, channel, with_for_update=True)
        if pace is None:
            with suppress(IntegrityError), session.begin_nested():
                session.add(ChannelPace(channel_id=channel, last_post_at=EPOCH))
            pace = session.get_one(ChannelPace, channel, with_for_update=True)
        wall = self.wall()
        wait = (pace.last_post_at + PER_CHANNEL_INTERVAL - wall).total_seconds()
        if wait > 0:
            return wait
        pace.last_post_at = wall
        return 0

    def _record(
        self,
        session: Session,
        channel: str,
        rows: list[tuple[Reminder, Partnership]],
        ts: str,
        now: datetime,
    ) -> None:
        """The reminders in `rows` were posted as `ts`: when to nudge next."""
        earlier: dict[str, dict[int, str]] = {}
        for reminder, _ in rows:
            if reminder.message_ts:  # the earlier reminder's buttons now live on this one
                earlier.setdefault(reminder.message_ts, {})[reminder.id] = "Reminded again below."
        for old_ts, notes in earlier.items():
            redraw(session, self.slack, channel, old_ts, notes)
        for reminder, partnership in rows:
            reminder.sends += 1
            reminder.last_sent_at = now
            reminder.message_ts = ts
            reminder.send_at = schedule.next_nudge(
                reminder.sends, now, partnership.owner_tz, self.holidays
            )


def _forget_attempts(session: Session, rows: list[tuple[Reminder, Partnership]]) -> None:
    session.execute(
        delete(ReminderAttempt)
        .where(ReminderAttempt.reminder_id.in_([r.id for r, _ in rows]))
        .execution_options(synchronize_session=False)
    )


def _due_channels(now: datetime) -> Select[str | None]:
    """The channels of the reminders pending and due by `now`, read off one index.

    The channels to visit, not what to post: each channel's own query (`_due_in`) leaves
    out ended partnerships (whose reminders are cancelled when they end anyway). Joining
    partnerships here made Postgres hash-join all of them, however few were due: it guesses
    the rows pending and due by multiplying two guesses, and done reminders are all due.
    """
    return (
        select(Reminder.channel_id)
        .where(Reminder.state == "pending", Reminder.send_at <= now)
        .distinct()
    )


def _due_in(channel: str, now: datetime) -> Select[Reminder, Partnership]:
    """The reminders due by `now` in `channel`, with their partnerships."""
    return (
        select(Reminder, Partnership)
        .join(Partnership, Partnership.id == Reminder.partnership_id)
        .where(
            Reminder.channel_id == channel,
            Reminder.state == "pending",
            Partnership.status == "active",  # never for an ended partnership
            Reminder.send_at <= now,
        )
    )


class SchedulerThread(threading.Thread):
    """Runs a pass every `interval` seconds inside the long-running bot, and the `chores`
    that settle what a stopped process left half done (at start, then each pass)."""

    def __init__(
        self,
        scheduler: Scheduler,
        interval: float = 60.0,
        chores: Sequence[Callable[[], object]] = (),
    ) -> None:
        super().__init__(name="reminder-scheduler", daemon=True)
        self.scheduler = scheduler
        self.interval = interval
        self.chores = chores
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            for chore in self.chores:
                try:
                    chore()
                except DatabaseUnavailable:
                    log.warning("Skipped settling interrupted posts: the database is not answering")
                except Exception:
                    log.exception("Settling interrupted posts failed; trying again later")
            try:
                report = self.scheduler.run_due()
                if report.posted or report.failed:
                    log.info("Reminders: %s", report)
            except DatabaseUnavailable:
                log.warning("Reminder pass skipped: the database is not answering")
            except Exception:
                log.exception("Reminder pass failed; trying again in %s s", self.interval)
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()
