"""Small storage operations that must be atomic whatever runs beside them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.db import rowcount
from bot.storage.models import Conversation, Partnership, ProcessedEvent, Review, Workspace
from bot.storage.rows import ConversationRow

# Slack retries an event for a few minutes at most; an id older than this cannot return.
EVENT_MEMORY = timedelta(days=1)
# A post claimed this long ago and never finished was interrupted (a process stopped, or
# Slack never answered): longer than any post can take (two attempts and two looks at
# the channel, 15 s each), so a claim this old is not in flight any more.
POST_CLAIM_TIMEOUT = timedelta(seconds=75)


# A delivery remembered: one INSERT that does nothing on a duplicate, per dialect. Built
# once: the hot path binds the event's values instead of building and keying a statement.
RECORD_EVENT = {
    name: insert(ProcessedEvent)
    .on_conflict_do_nothing(index_elements=[ProcessedEvent.event_id])
    .returning(ProcessedEvent.event_id)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def record_event(connection: Connection, event_id: str, team_id: str) -> bool:
    """Remember an Events API delivery; False if it was handled before (a Slack retry).
    One INSERT that does nothing on a duplicate: no savepoint, no exception to catch."""
    statement = RECORD_EVENT[connection.dialect.name]
    return (
        connection.execute(statement, {"event_id": event_id, "team_id": team_id}).first()
        is not None
    )


# A step's save: the columns set come from the parameters (only those the step changed),
# and the WHERE holds the optimistic lock. Built once: the hot path only binds values.
SAVE_STEP = update(Conversation).where(
    Conversation.id == bindparam("saved_id"),
    Conversation.version == bindparam("loaded_version"),
)


def save_step(
    connection: Connection, conversation: ConversationRow, values: dict[str, Any]
) -> ConversationRow | None:
    """Save a step: the `values` that differ from `conversation` as loaded, and the next
    version, with one `UPDATE ... WHERE id = :id AND version = :loaded`. Returns the row
    as saved; None, and nothing written, when another step saved first (the optimistic
    lock).

    Only changed columns are written: a column this step did not change (the message a
    concurrent `show` is recording, a draft) is left as it is now."""
    changed = {key: value for key, value in values.items() if getattr(conversation, key) != value}
    changed["version"] = conversation.version + 1
    result = connection.execute(
        SAVE_STEP,
        {**changed, "saved_id": conversation.id, "loaded_version": conversation.version},
    )
    if rowcount(result) != 1:
        return None
    return replace(conversation, **changed)


def forget_events(unit: Session | Connection, now: datetime) -> int:
    """Drop the event ids Slack can no longer retry, so the table does not grow forever."""
    result = unit.execute(
        delete(ProcessedEvent)
        .where(ProcessedEvent.received_at < now - EVENT_MEMORY)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def next_reference(session: Session, team_id: str) -> int:
    """The workspace's next partnership number, atomically: no two share one."""
    bump = (
        update(Workspace)
        .where(Workspace.team_id == team_id)
        .values(last_ref=Workspace.last_ref + 1)
        .returning(Workspace.last_ref)
    )
    ref = session.scalar(bump)
    if ref is None:  # the workspace's first partnership; another thread may race us here
        try:
            with session.begin_nested():
                session.add(Workspace(team_id=team_id, last_ref=0))
        except IntegrityError:
            pass
        ref = session.scalar(bump)
    if ref is None:
        raise RuntimeError(f"no workspace row for {team_id} after creating it")
    return ref


class AlreadyClaimed(Exception):
    """Another press or process is posting this recommendation or review, or has posted it."""


def claim_post(
    session: Session, model: type[Partnership | Review], row_id: int, now: datetime
) -> bool:
    """Claim the right to post a recommendation or review; True for exactly one claimant.

    One conditional UPDATE, so of two racing presses (or two processes) one wins.
    """
    claimed = session.execute(
        update(model)
        .where(
            model.id == row_id,
            (model.post_state == "unposted")
            | (
                (model.post_state == "posting") & (model.post_claimed_at < now - POST_CLAIM_TIMEOUT)
            ),
        )
        .values(post_state="posting", post_claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(rowcount(claimed))


def being_posted(
    unit: Session | Connection,
    model: type[Partnership | Review],
    conversation_id: int,
    now: datetime,
) -> bool:
    """Whether the conversation's recommendation or review is being posted right now (a
    live claim; one left by a crashed process no longer counts, see `claim_post`)."""
    live = unit.scalar(
        select(model.id).where(
            model.conversation_id == conversation_id,
            model.post_state == "posting",
            model.post_claimed_at >= now - POST_CLAIM_TIMEOUT,
        )
    )
    return live is not None
