"""Small storage operations that must be atomic whatever runs beside them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.db import rowcount
from bot.storage.models import Partnership, ProcessedEvent, Review, Workspace

# Slack retries an event for a few minutes at most; an id older than this cannot return.
EVENT_MEMORY = timedelta(days=1)
# A post claimed this long ago and never finished was interrupted (a process stopped, or
# Slack never answered): longer than any post can take (two attempts and two looks at
# the channel, 15 s each), so a claim this old is not in flight any more.
POST_CLAIM_TIMEOUT = timedelta(seconds=75)


def record_event(session: Session, event_id: str, team_id: str) -> bool:
    """Remember an Events API delivery; False if it was handled before (a Slack retry).
    One INSERT that does nothing on a duplicate: no savepoint, no exception to catch."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(ProcessedEvent)
        .values(event_id=event_id, team_id=team_id)
        .on_conflict_do_nothing(index_elements=[ProcessedEvent.event_id])
        .returning(ProcessedEvent.event_id)
    )
    return session.execute(statement).first() is not None


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
    session: Session, model: type[Partnership | Review], conversation_id: int, now: datetime
) -> bool:
    """Whether the conversation's recommendation or review is being posted right now (a
    live claim; one left by a crashed process no longer counts, see `claim_post`)."""
    live = session.scalar(
        select(model.id).where(
            model.conversation_id == conversation_id,
            model.post_state == "posting",
            model.post_claimed_at >= now - POST_CLAIM_TIMEOUT,
        )
    )
    return live is not None
