"""The scheduler's queries at scale read indexes, not partnerships: which channels to visit
comes from the reminders alone, and what is posted in each stays the channel's own query,
which leaves out ended partnerships."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from bot.sandbox.fakeslack import FakeSlack
from bot.storage.db import Database
from bot.storage.models import Partnership, Reminder
from tests.conftest import ALICE, PARTNERS
from tests.e2e_support import BOTH_DATABASES
from tests.review_support import arrivals, local, seed_due_reminders
from tests.slack_driver import BotServer

MONDAY = date(2029, 3, 5)
OTHER = "C0OTHER"


@BOTH_DATABASES
def test_a_reminder_left_pending_for_an_ended_partnership_is_never_posted(
    fake_slack: FakeSlack, bot_server: BotServer, database_url: str, database: str
) -> None:
    fake_slack.add_channel(OTHER, "other", members=[ALICE], bot_member=True)
    made = seed_due_reminders(database_url, {PARTNERS: 1, OTHER: 1}, MONDAY)
    ended = made[PARTNERS][0]
    db = Database(database_url)
    try:
        with db.session() as session:
            # Ending a partnership cancels its reminders; this one was left pending (data
            # from elsewhere, say), so only the partnership's status can keep it quiet.
            session.execute(
                update(Partnership)
                .where(Partnership.ref == int(ended.removeprefix("P-")))
                .values(status="ended")
            )
        report = bot_server.services.scheduler.run_due(local(MONDAY, 9, 30))
        with db.reading() as session:
            left = session.execute(
                select(Reminder.channel_id, Reminder.state, Reminder.sends).order_by(
                    Reminder.channel_id
                )
            ).all()
    finally:
        db.close()
    assert report.posted == 1 and not report.failed
    assert arrivals(fake_slack) == {made[OTHER][0]: 1}
    assert [tuple(row) for row in left] == [(OTHER, "pending", 1), (PARTNERS, "pending", 0)]
