"""What a reminder message in the channel should show, from its reminders' states.

One message can carry several reminders (a digest). Acting on one of them redraws the
message from every reminder it carries, so the others keep their buttons. The lines are
read inside the unit of work; the notifier redraws the message after it commits.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core import conditions
from bot.core.notifier import Note, ReminderLine
from bot.storage.models import Partnership, Reminder
from flows import schedule


def note_for(reminder: Reminder, partnership: Partnership) -> Note | None:
    """What happened to a reminder, or None if it still wants an answer."""
    if reminder.state == "reviewing":
        return Note("reviewing", by=reminder.reviewer_id)
    if reminder.state == "done":
        return Note("reviewed")
    if reminder.state == "cancelled":
        return Note("ended")
    if reminder.sends == 0 and reminder.message_ts:  # snoozed since it was posted
        return Note(
            "snoozed", until=reminder.send_at.astimezone(schedule.zone(partnership.owner_tz))
        )
    return None


def line(
    reminder: Reminder,
    partnership: Partnership,
    note: Note | None = None,
    open_conditions: tuple[str, ...] = (),
) -> ReminderLine:
    """A reminder as its message shows it now (`note`: what just happened to it;
    `open_conditions`: those still open since a review already)."""
    return ReminderLine(
        partnership,
        reminder.id,
        reminder.due_on,
        reminder.sends,
        reminder.sends > 0 and schedule.is_escalation(reminder.sends),
        note or note_for(reminder, partnership),
        open_conditions,
    )


def lines(
    session: Session, channel: str, ts: str, notes: Mapping[int, Note] | None = None
) -> list[ReminderLine]:
    """Every reminder message `ts` carries, as it should now show; `notes` (by reminder
    id) say what just happened to some."""
    rows = session.execute(
        select(Reminder, Partnership)
        .join(Partnership, Partnership.id == Reminder.partnership_id)
        .where(Reminder.channel_id == channel, Reminder.message_ts == ts)
        .order_by(Reminder.id)
    ).all()
    notes = notes or {}
    named = conditions.open_texts(session, [p.id for _, p in rows], since_a_review=True)
    return [line(r, p, notes.get(r.id), tuple(named.get(p.id, ()))) for r, p in rows]
