"""The reminder scheduler: one pass posts every review reminder that is due, exactly once.

A pass finds the channels with due reminders (an indexed query on state and send time,
whatever the number of partnerships not due), then per channel locks the due rows with
SELECT ... FOR UPDATE SKIP LOCKED, posts, records and commits. Several schedulers on one
Postgres database therefore never post the same reminder twice, and one killed mid-pass
leaves its rows unlocked and unchanged for the next pass. (SQLite has one writer at a
time, so there the lock is the whole database.) Posting keeps to about one message a
second per channel, and Slack's 429s are waited out by the client's retry handler.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import object_session

from flows import schedule

from . import review_blocks
from .blocks import Message
from .db import Database
from .messenger import Messenger
from .models import Partnership, Reminder
from .reminder_messages import redraw
from .review_blocks import DigestItem

log = logging.getLogger(__name__)

DIGEST_FROM = 3  # this many due at once in one channel get one digest message
BATCH = 50
PER_CHANNEL_INTERVAL = 1.0  # seconds between posts in one channel (Slack: ~1 per second)


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
    ) -> None:
        self.db = db
        self.slack = messenger
        self.clock = clock
        self.pause = pause

    def run_due(self, now: datetime | None = None) -> PassReport:
        """One pass, as if the clock said `now` (default: the real time)."""
        now = now or self.clock()
        report = PassReport()
        with self.db.session() as session:
            channels = session.scalars(
                select(Reminder.channel_id)
                .where(Reminder.state == "pending", Reminder.send_at <= now)
                .distinct()
            ).all()
        for channel in channels:
            self._channel_pass(channel, now, report)
        return report

    def _channel_pass(self, channel: str, now: datetime, report: PassReport) -> None:
        with self.db.session() as session:
            due = session.execute(
                select(Reminder, Partnership)
                .join(Partnership, Partnership.id == Reminder.partnership_id)
                .where(
                    Reminder.channel_id == channel,
                    Reminder.state == "pending",
                    Reminder.send_at <= now,
                )
                .order_by(Reminder.send_at, Reminder.id)
                .limit(BATCH)
                .with_for_update(of=Reminder, skip_locked=True)
            ).all()
            ready = []
            for reminder, partnership in due:
                later = schedule.deliverable_at(reminder.send_at, now, partnership.owner_tz)
                if later is not None:  # night or weekend where the owner is: wait for 09:00
                    reminder.send_at = later
                    report.deferred += 1
                else:
                    ready.append((reminder, partnership))
            sent = 0
            if len(ready) >= DIGEST_FROM:
                for start in range(0, len(ready), review_blocks.MAX_PER_DIGEST):
                    chunk = ready[start : start + review_blocks.MAX_PER_DIGEST]
                    items = [
                        DigestItem(p, r.id, r.due_on, schedule.is_escalation(r.sends + 1))
                        for r, p in chunk
                    ]
                    message = review_blocks.digest_message(items)
                    sent += self._send(channel, message, chunk, now, report, pace=sent > 0)
                    report.digests += 1
            else:
                for reminder, partnership in ready:
                    number = reminder.sends + 1
                    message = review_blocks.reminder_message(
                        partnership,
                        reminder.id,
                        reminder.due_on,
                        number,
                        schedule.is_escalation(number),
                    )
                    rows = [(reminder, partnership)]
                    sent += self._send(channel, message, rows, now, report, pace=sent > 0)

    def _send(
        self,
        channel: str,
        message: Message,
        rows: list[tuple[Reminder, Partnership]],
        now: datetime,
        report: PassReport,
        pace: bool,
    ) -> int:
        """Post one message for `rows` (locked by the caller) and record it on each row."""
        if pace:
            self.pause(PER_CHANNEL_INTERVAL)
        ts = self.slack.say(channel, message)
        if ts is None:
            report.failed.extend(p.reference for _, p in rows)
            return 0  # stays due: the next pass tries again
        session = object_session(rows[0][0])
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
            reminder.send_at = schedule.next_nudge(reminder.sends, now, partnership.owner_tz)
            report.posted += 1
        return 1


class SchedulerThread(threading.Thread):
    """Runs a pass every `interval` seconds inside the long-running bot."""

    def __init__(self, scheduler: Scheduler, interval: float = 60.0) -> None:
        super().__init__(name="reminder-scheduler", daemon=True)
        self.scheduler = scheduler
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                report = self.scheduler.run_due()
                if report.posted or report.failed:
                    log.info("Reminders: %s", report)
            except Exception:
                log.exception("Reminder pass failed; trying again in %s s", self.interval)
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()
