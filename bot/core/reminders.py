"""The review schedule in the database: reminder rows made, snoozed, reopened, closed.

The calendar arithmetic itself (cadences, 09:00 on working days, repeats) is pure and
lives in `flows.schedule`; this module only applies it to rows, inside the caller's unit
of work.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.storage.models import Partnership, Reminder
from flows import schedule

OPEN = ("pending", "reviewing")
# A partner who has not sent their view is reminded this many working days after being
# asked, at most CHASES times; as long again after the last, the proposer is told once.
CHASE_AFTER_WORKING_DAYS = 2
CHASES = 2


def local_today(now: datetime, tz: str | None) -> date:
    return now.astimezone(schedule.zone(tz)).date()


def schedule_first(
    session: Session,
    partnership: Partnership,
    now: datetime,
    facts: Mapping[str, Any] | None = None,
) -> Reminder:
    """A newly posted partnership: its cadence, first review date and first reminder.

    `facts` are the check's answers by role (Flow.by_role); the partnership's own answers
    when left out (partnerships posted by the first release stored them under the same
    names)."""
    answers = partnership.answers if facts is None else facts
    partnership.cadence = schedule.effective_cadence(
        answers.get("review_cadence"), answers.get("form")
    )
    today = local_today(now, partnership.owner_tz)
    due = schedule.first_review_on(answers, today)
    if due < today:  # a date chosen long before a re-check started the reviews
        chosen = {k: v for k, v in answers.items() if k != "first_review_date"}
        due = schedule.first_review_on(chosen, today)
    return _add(session, partnership, due)


def schedule_next(session: Session, partnership: Partnership, reviewed_on: date) -> None:
    """After a review that continues or adapts: the next one, if the cadence has one."""
    due = schedule.next_review_on(partnership.cadence or "annual", reviewed_on)
    partnership.next_review_on = due
    if due is not None:
        _add(session, partnership, due)


def _add(session: Session, partnership: Partnership, due: date) -> Reminder:
    partnership.next_review_on = due
    existing = session.scalar(
        select(Reminder).where(Reminder.partnership_id == partnership.id, Reminder.due_on == due)
    )
    if existing is not None:  # reviewed twice in a day: one reminder per due date
        existing.state = "pending"
        return existing
    reminder = Reminder(
        team_id=partnership.team_id,
        partnership_id=partnership.id,
        due_on=due,
        state="pending",
        send_at=schedule.reminder_at(due, partnership.owner_tz),
        sends=0,
        channel_id=partnership.channel_id,
    )
    session.add(reminder)
    return reminder


def end(session: Session, partnership: Partnership) -> None:
    """The partnership has ended: no next review, and its open reminders stop."""
    partnership.status = "ended"
    stop(session, partnership)


def stop(session: Session, partnership: Partnership) -> list[tuple[str, str, int]]:
    """No more reviews for now (a re-check no longer goes ahead); a later re-check that
    goes ahead schedules them again. Returns the (channel, ts, reminder id) of reminder
    messages that were showing, to be redrawn once this unit of work commits."""
    showing = session.execute(
        select(Reminder.channel_id, Reminder.message_ts, Reminder.id).where(
            Reminder.partnership_id == partnership.id,
            Reminder.state.in_(OPEN),
            Reminder.message_ts.is_not(None),
        )
    ).all()
    partnership.next_review_on = None
    close_open(session, partnership.id, "cancelled")
    return [(channel, ts, reminder_id) for channel, ts, reminder_id in showing if channel and ts]


def close_open(session: Session, partnership_id: int, state: str) -> None:
    """Mark the partnership's open reminders `done` (reviewed) or `cancelled` (ended)."""
    session.execute(
        update(Reminder)
        .where(Reminder.partnership_id == partnership_id, Reminder.state.in_(OPEN))
        .values(state=state)
        .execution_options(synchronize_session=False)
    )


def reopen(session: Session, reminder_id: int, now: datetime) -> None:
    """A review started from a reminder was dropped: remind again next working morning."""
    reminder = session.get(Reminder, reminder_id)
    if reminder is None or reminder.state != "reviewing":
        return
    partnership = session.get_one(Partnership, reminder.partnership_id)
    reminder.state = "pending"
    reminder.reviewer_id = None
    # Not before it was due: a review started early by command and dropped waits its turn.
    reminder.send_at = max(
        schedule.reminder_at(reminder.due_on, partnership.owner_tz),
        schedule.working_days_after(now, partnership.owner_tz, 1),
    )


def chase_at(
    now: datetime, tz: str | None = None, holidays: Container[date] = schedule.NO_HOLIDAYS
) -> datetime:
    """When to remind a partner who has not answered (or, after the last reminder, to tell
    the proposer): 09:00 on a working day, CHASE_AFTER_WORKING_DAYS from `now`."""
    return schedule.working_days_after(now, tz, CHASE_AFTER_WORKING_DAYS, holidays)


def snooze(reminder: Reminder, partnership: Partnership, now: datetime, period: str) -> None:
    reminder.send_at = schedule.snooze_until(now, partnership.owner_tz, period)
    reminder.sends = 0
