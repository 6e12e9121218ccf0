"""The reminder scheduler: one pass posts every review reminder that is due, exactly once.

A pass finds the channels with due reminders (read off an index on state and send time,
whatever the number of partnerships not due). Per channel, in one unit of work, it locks
the due rows (SELECT ... FOR UPDATE SKIP LOCKED), leaves out those another pass is
posting, takes the channel's next slot and writes down the post it is about to make (an
attempt, with its tag and the pass's name), and commits. Then it posts, with no unit of
work open, and records the post in another. A pass's name is an advisory lock it holds
while it runs (Postgres), so an attempt whose pass was killed is told from one in flight:
the next pass looks for its post by the tag and records it, or posts it if it is not
there. Several schedulers on one database therefore never post a reminder twice. (On
SQLite an attempt is in flight for as long as any post can take.) Posting keeps to about
one message a second per channel across every process (`ChannelPace`), and a 429 is
waited out for its Retry-After between units of work.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Select, delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core import conditions, reminder_board
from bot.core.errors import PostRefused, PostUnknown
from bot.core.notifier import Note, Notifier, ReminderLine
from bot.storage.db import Database, DatabaseUnavailable
from bot.storage.models import ChannelPace, Partnership, Reminder, ReminderAttempt, reference_of
from bot.storage.store import POST_CLAIM_TIMEOUT, forget_events
from flows import schedule

log = logging.getLogger(__name__)

DIGEST_FROM = 3  # this many due at once in one channel get one digest message
MAX_PER_DIGEST = 20  # two blocks each, within Slack's 50 blocks per message
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
    chased: int = 0  # reminders to partners whose views are due (and proposers told)


class Scheduler:
    def __init__(
        self,
        db: Database,
        notify: Notifier,
        clock: Callable[[], datetime],
        pause: Callable[[float], None] = time.sleep,
        holidays: Container[date] = schedule.NO_HOLIDAYS,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        chasers: Sequence[Callable[[datetime], int]] = (),
    ) -> None:
        self.db = db
        self.notify = notify
        self.clock = clock  # what time the pass acts as of (`run-due --as-of`)
        self.wall = wall  # the real time, for pacing posts
        self.pause = pause
        self.holidays = holidays  # public holidays: no reminder goes out on one
        self.chasers = chasers  # other reminders due in a pass (partners' views)

    def run_due(self, now: datetime | None = None) -> PassReport:
        """One pass, as if the clock said `now` (default: the real time)."""
        now = now or self.clock()
        report = PassReport()
        # One unit of plain statements: most passes find nothing due and end here.
        with self.db.statements() as connection:
            forget_events(connection, now)
            channels = _posted_in(connection.scalars(_due_channels(now)))
        if channels:
            with self._running() as owner:
                for channel in channels:
                    self._channel_pass(channel, now, report, owner)
        for chase in self.chasers:
            report.chased += chase(now)
        return report

    @contextmanager
    def _running(self) -> Iterator[str]:
        """This pass's name on its attempts. On Postgres the pass holds an advisory lock
        of that name while it runs (on a connection with no transaction open), so another
        pass can tell a live owner from one that was killed: the lock ends with it."""
        owner = str(secrets.randbits(62))
        if self.db.engine.dialect.name != "postgresql":
            yield owner
            return
        holder = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": int(owner)})
            yield owner
        finally:
            with suppress(Exception):  # a dead connection has let go of its lock already
                holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": int(owner)})
            holder.close()

    def next_due(self) -> datetime | None:
        """When the next reminder falls due (of a partnership still active), or None
        when none is pending: what the sandbox's clock jumps to."""
        with self.db.reading() as session:
            return session.scalar(
                select(func.min(Reminder.send_at))
                .join(Partnership, Partnership.id == Reminder.partnership_id)
                .where(Reminder.state == "pending", Partnership.status == "active")
            )

    def due_channels(self, now: datetime) -> list[str]:
        """The channels with reminders due by `now` (of partnerships still active)."""
        with self.db.reading() as session:
            return _posted_in(session.scalars(_due_channels(now)))

    def _channel_pass(self, channel: str, now: datetime, report: PassReport, owner: str) -> None:
        """Post what is due in one channel, a message per unit of work.

        Nothing waits inside a transaction: the pause between posts and any Retry-After
        from Slack happen between units of work, so the rows (on SQLite, the database)
        are never held while the bot sleeps.
        """
        rate_limits, posted = 0, False
        while True:
            if posted and not self._still_due(channel, now):
                return
            outcome, retry_after, redraws = self._post_next(channel, now, report, owner)
            for old_ts, lines in redraws:  # earlier messages whose reminders moved on
                self.notify.redraw_reminders(channel, old_ts, lines)
            if outcome == "idle":
                return
            if outcome == "again":  # attempts a stopped pass left were settled
                continue
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
            return [reference_of(ref) for ref in refs]

    def _post_next(
        self, channel: str, now: datetime, report: PassReport, owner: str
    ) -> tuple[str, float, list[tuple[str, list[ReminderLine]]]]:
        """Claim some of the channel's due reminders, post one message for them with no
        unit of work open, and record it.

        Returns ("idle", 0) when nothing is left to post, ("posted", 0) after a post,
        ("paced", seconds) when the channel's last post (by any process) was too recent,
        or ("rate_limited", seconds) when Slack answered 429 with that Retry-After; and the
        earlier reminder messages to redraw.
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
            tried = self._attempts(session, ready)
            left = [a for a in tried if not self._in_flight(session, a)]
            busy = {a.reminder_id for a in tried}
            ready = [(r, p) for r, p in ready if r.id not in busy]
            if not left:
                if not ready:
                    return "idle", 0, []
                rows = ready[:MAX_PER_DIGEST] if len(ready) >= DIGEST_FROM else ready[:1]
                # Read before the slot is taken: nothing slow between the slot and the post.
                named = conditions.open_texts(session, [p.id for _, p in rows], since_a_review=True)
                wait = self._claim_slot(session, channel)
                if wait > 0:
                    return "paced", wait, []
                tag = f"reminders:{'-'.join(str(r.id) for r, _ in rows)}:{uuid.uuid4().hex[:8]}"
                session.add_all(
                    ReminderAttempt(
                        reminder_id=r.id, send=r.sends + 1, tag=tag, at=self.wall(), owner=owner
                    )
                    for r, _ in rows
                )
        if left:  # posts a stopped pass may have made: look before anything is posted
            return self._settle(channel, left, now, report)
        lines = [
            ReminderLine(
                p,
                r.id,
                r.due_on,
                r.sends + 1,
                schedule.is_escalation(r.sends + 1),
                open_conditions=tuple(named.get(p.id, ())),
            )
            for r, p in rows
        ]
        try:
            ts = self.notify.post_reminders(channel, lines, tag=tag)
        except PostRefused as refused:
            self._forget(rows)  # refused: nothing was posted
            if refused.retry_after is not None:
                return "rate_limited", refused.retry_after, []
            log.warning("Could not post a reminder in %s: %s", channel, refused.reason)
            report.failed.extend(p.reference for _, p in rows)
            return "idle", 0, []  # stays due: the next pass tries again
        except PostUnknown:
            # Posted or not, nobody can tell now: the attempt stays for the next pass.
            report.failed.extend(p.reference for _, p in rows)
            return "idle", 0, []
        return "posted", 0, self._posted(channel, rows, ts, now, report)

    def _settle(
        self, channel: str, left: list[ReminderAttempt], now: datetime, report: PassReport
    ) -> tuple[str, float, list[tuple[str, list[ReminderLine]]]]:
        """Attempts a stopped pass left: found in the channel by their tag, recorded as
        posted; not there, forgotten, so the reminders are posted afresh."""
        settled = False
        for tag in dict.fromkeys(a.tag for a in left):
            try:
                found = self.notify.find(channel, tag)
            except PostUnknown:
                continue  # cannot tell now: posting again would risk a second copy
            settled = True
            with self.db.session() as session:
                rows = [
                    (r, p)
                    for r, p in session.execute(
                        select(Reminder, Partnership)
                        .join(Partnership, Partnership.id == Reminder.partnership_id)
                        .where(Reminder.id.in_([a.reminder_id for a in left if a.tag == tag]))
                    ).all()
                ]
            if found is not None:
                return "posted", 0, self._posted(channel, rows, found["ts"], now, report)
            self._forget(rows)
        # Carry on with what is left to post, unless Slack could not say (then next pass).
        return ("again" if settled else "idle"), 0, []

    def _posted(
        self,
        channel: str,
        rows: list[tuple[Reminder, Partnership]],
        ts: str,
        now: datetime,
        report: PassReport,
    ) -> list[tuple[str, list[ReminderLine]]]:
        """Record the post `ts` of `rows`; the reminder messages to redraw: the earlier
        ones that carried them, and this one if a reminder changed while it was posted
        (ended or snoozed meanwhile: its buttons must not look open)."""
        with self.db.session() as session:
            rows = [
                (session.get_one(Reminder, r.id), session.get_one(Partnership, p.id))
                for r, p in rows
            ]
            _forget_attempts(session, rows)
            redraws = self._record(session, channel, rows, ts, now)
            session.flush()
            lines = reminder_board.lines(session, channel, ts)
            if any(line.note is not None for line in lines):
                redraws.append((ts, lines))
        report.posted += len(rows)
        report.digests += len(rows) > 1
        return redraws

    def _forget(self, rows: list[tuple[Reminder, Partnership]]) -> None:
        with self.db.session() as session:
            _forget_attempts(session, rows)

    @staticmethod
    def _attempts(
        session: Session, ready: list[tuple[Reminder, Partnership]]
    ) -> list[ReminderAttempt]:
        """The attempts written for these reminders' next post, by any pass."""
        wanted = {(r.id, r.sends + 1) for r, _ in ready}
        attempts = session.scalars(
            select(ReminderAttempt).where(ReminderAttempt.reminder_id.in_([r.id for r, _ in ready]))
        ).all()
        return [a for a in attempts if (a.reminder_id, a.send) in wanted]

    def _in_flight(self, session: Session, attempt: ReminderAttempt) -> bool:
        """Whether the pass that wrote `attempt` still runs (so its post is in flight).
        On Postgres: its advisory lock is still held. On SQLite: it is younger than any
        post can take."""
        if session.get_bind().dialect.name != "postgresql" or not attempt.owner:
            return self.wall() - attempt.at < POST_CLAIM_TIMEOUT
        key = int(attempt.owner)
        if not session.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}):
            return True
        session.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        return False

    def _claim_slot(self, session: Session, channel: str) -> float:
        """Take the channel's next posting slot: 0 when it is free now, else how many
        seconds until it is (whichever process posted last)."""
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
    ) -> list[tuple[str, list[ReminderLine]]]:
        """The reminders in `rows` were posted as `ts`: when to nudge next. Returns the
        earlier messages that carried them, to redraw (their buttons now live on `ts`)."""
        earlier: dict[str, dict[int, Note]] = {}
        for reminder, _ in rows:
            if reminder.message_ts:
                earlier.setdefault(reminder.message_ts, {})[reminder.id] = Note("reminded_again")
        redraws = [
            (old_ts, reminder_board.lines(session, channel, old_ts, notes))
            for old_ts, notes in earlier.items()
        ]
        for reminder, partnership in rows:
            reminder.sends += 1
            reminder.last_sent_at = now
            reminder.message_ts = ts
            reminder.send_at = schedule.next_nudge(
                reminder.sends, now, partnership.owner_tz, self.holidays
            )
        return redraws


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


def _posted_in(channels: Iterable[str | None]) -> list[str]:
    # A partnership not posted yet has no channel.
    return [channel for channel in channels if channel is not None]


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
