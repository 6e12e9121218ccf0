"""Keeping a reminder message in the channel true to its reminders' states.

One message can carry several reminders (a digest). Acting on one of them redraws the
message from every reminder it carries, so the others keep their buttons.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.slack import review_blocks
from bot.slack.messenger import Messenger
from bot.slack.review_blocks import DigestItem
from bot.storage.models import Partnership, Reminder
from flows import schedule


def note_for(reminder: Reminder, partnership: Partnership) -> str | None:
    """What happened to a reminder, or None if it still wants an answer."""
    if reminder.state == "reviewing":
        return f"<@{reminder.reviewer_id}> is reviewing it now."
    if reminder.state == "done":
        return "Reviewed."
    if reminder.state == "cancelled":
        return "Ended. Reminders have stopped."
    if reminder.sends == 0 and reminder.message_ts:  # snoozed since it was posted
        until = reminder.send_at.astimezone(schedule.zone(partnership.owner_tz))
        return f"Snoozed until {until.strftime('%A %-d %B')}."
    return None


def redraw(
    session: Session, slack: Messenger, channel: str, ts: str, notes: Mapping[int, str]
) -> None:
    """Redraw message `ts`; `notes` (by reminder id) say what just happened to some."""
    rows = session.execute(
        select(Reminder, Partnership)
        .join(Partnership, Partnership.id == Reminder.partnership_id)
        .where(Reminder.channel_id == channel, Reminder.message_ts == ts)
        .order_by(Reminder.id)
    ).all()
    if not rows:
        return
    if len(rows) == 1:
        reminder, partnership = rows[0]
        note = notes.get(reminder.id) or note_for(reminder, partnership) or ""
        slack.update(channel, ts, review_blocks.reminder_closed(partnership, note))
        return
    items = [
        DigestItem(
            partnership,
            reminder.id,
            reminder.due_on,
            reminder.sends > 0 and schedule.is_escalation(reminder.sends),
            notes.get(reminder.id) or note_for(reminder, partnership),
        )
        for reminder, partnership in rows
    ]
    slack.update(channel, ts, review_blocks.digest_message(items))
