"""Posts that failed after the state they show was saved, posted again until Slack takes
them: the thread of a recommendation, the next question of a conversation.

A failed post goes into the outbox table in the unit of work that noticed it; the
scheduler thread drains it (with backoff, each post tagged so a retry never makes a
second copy), and the person is told when something they expect is delayed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy import delete, select, update

from bot.slack.blocks import Message
from bot.slack.messenger import Messenger, SlackUnreachable
from bot.storage.db import Database
from bot.storage.models import Conversation, OutboxMessage

log = logging.getLogger(__name__)

# After the first failure, tries again after these; the last repeats. Gives up after a day.
BACKOFF = (timedelta(seconds=15), timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15))
GIVE_UP_AFTER = timedelta(days=1)
# A row being posted is claimed this long: longer than any post and its look can take.
LEASE = timedelta(minutes=2)
BATCH = 50


class Outbox:
    def __init__(self, db: Database, messenger: Messenger, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.slack = messenger
        self.clock = clock

    def add(
        self,
        team_id: str,
        channel: str,
        message: Message,
        tag: str,
        thread_ts: str | None = None,
        shows: tuple[int, int] | None = None,
    ) -> None:
        """Post `message` later. `shows`: the (conversation, version) a question shows, to
        record once it is posted."""
        now = self.clock()
        with self.db.session() as session:
            session.add(
                OutboxMessage(
                    team_id=team_id,
                    channel_id=channel,
                    thread_ts=thread_ts,
                    message={"text": message.text, "blocks": message.blocks},
                    tag=tag,
                    conversation_id=shows[0] if shows else None,
                    conversation_version=shows[1] if shows else None,
                    attempts=0,
                    next_at=now + BACKOFF[0],
                    created_at=now,
                )
            )

    def drain(self) -> int:
        """Post what is due; how many were posted.

        The due rows are claimed first (their next try moved a lease ahead, in a unit of
        work of its own), then posted with no unit of work open, then each is recorded or
        given its next try. Two processes draining at once post a row once; one that
        stops half-way leaves its claims to lapse, and the next try looks for the post by
        its tag before posting it again."""
        now = self.clock()
        with self.db.session() as session:
            due = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.next_at <= now)
                .order_by(OutboxMessage.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            for row in due:
                row.next_at = now + LEASE
        posted = 0
        for row in due:
            message = Message(row.message["text"], row.message["blocks"])
            try:
                # The failure that put it here may have been a lost answer: look first.
                found = self.slack.post(
                    row.channel_id, message, thread_ts=row.thread_ts, tag=row.tag, look_first=True
                )
            except (SlackApiError, SlackUnreachable) as error:
                with self.db.session() as session:
                    self._later(session.get_one(OutboxMessage, row.id), now, error)
                continue
            with self.db.session() as session:
                if row.conversation_id is not None:
                    session.execute(
                        update(Conversation)
                        .where(
                            Conversation.id == row.conversation_id,
                            Conversation.version == row.conversation_version,
                        )
                        .values(message_ts=found["ts"], message_version=row.conversation_version)
                        .execution_options(synchronize_session=False)
                    )
                session.execute(delete(OutboxMessage).where(OutboxMessage.id == row.id))
            posted += 1
        return posted

    @staticmethod
    def _later(row: OutboxMessage, now: datetime, error: Exception) -> None:
        row.attempts += 1
        if now - row.created_at > GIVE_UP_AFTER:
            log.error("Gave up posting %s in %s after a day: %s", row.tag, row.channel_id, error)
            row.next_at = now + timedelta(days=3650)  # kept for an operator to look at
            return
        row.next_at = now + BACKOFF[min(row.attempts, len(BACKOFF) - 1)]
