"""Small storage operations that must be atomic whatever runs beside them."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import ProcessedEvent, Workspace


def record_event(session: Session, event_id: str, team_id: str) -> bool:
    """Remember an Events API delivery; False if it was handled before (a Slack retry)."""
    try:
        with session.begin_nested():
            session.add(ProcessedEvent(event_id=event_id, team_id=team_id))
    except IntegrityError:
        return False
    return True


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
    return ref
