"""Conditions of a posted recommendation, as rows: kept in step with its flags, met at
reviews, named in reminders once they have stayed open through one.

Every flag of a posted recommendation is a condition: open, then met, or dropped with a
reason (what people do to one is `bot.core.condition_actions`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.core.notifier import ConditionLine
from bot.storage.models import Condition, Partnership
from flows import Assessment

OPEN, MET, DROPPED = "open", "met", "dropped"
# The note on a condition met because a change of answers no longer raises its flag.
NO_LONGER_RAISED = "no longer raised after the answers changed"


def sync(session: Session, partnership: Partnership, assessment: Assessment, now: datetime) -> None:
    """Make the partnership's conditions its flags: new flags open new conditions, a flag
    no longer raised has its open condition met (by the change of answers), and one
    raised again after that opens again. Owners, and what people decided, are kept."""
    rows = {
        row.key: row
        for row in session.scalars(
            select(Condition).where(Condition.partnership_id == partnership.id)
        )
    }
    raised = set()
    for flag in assessment.flags:
        if flag.severity == "verdict":
            continue  # the less formal route is the verdict itself, not a condition
        raised.add(flag.key)
        row = rows.get(flag.key)
        if row is None:
            row = Condition(
                team_id=partnership.team_id,
                partnership_id=partnership.id,
                key=flag.key,
                owner_id=partnership.owner_id,
                status=OPEN,
                reviews_open=0,
            )
            session.add(row)
        elif row.status == MET and row.note == NO_LONGER_RAISED:
            row.status, row.note, row.changed_by, row.changed_at = OPEN, None, None, now
        row.tip, row.severity, row.view = flag.tip, flag.severity, flag.view
        row.text, row.reason = flag.condition, flag.reason
    for key, row in rows.items():
        if key not in raised and row.status == OPEN:
            row.status, row.note, row.changed_by, row.changed_at = MET, NO_LONGER_RAISED, None, now


def reviewed(
    session: Session, partnership_id: int, ticked: list[int], by: str, now: datetime
) -> tuple[int, ...]:
    """A review of the partnership is recorded: the conditions its reviewer ticked are
    met (their ids are returned), and every other open one has stayed open through one
    more review."""
    met: tuple[int, ...] = ()
    if ticked:
        met = tuple(
            session.scalars(
                update(Condition)
                .where(
                    Condition.partnership_id == partnership_id,
                    Condition.id.in_(ticked),
                    Condition.status == OPEN,
                )
                .values(status=MET, note="at a review", changed_by=by, changed_at=now)
                .returning(Condition.id)
                .execution_options(synchronize_session=False)
            )
        )
    session.execute(
        update(Condition)
        .where(Condition.partnership_id == partnership_id, Condition.status == OPEN)
        .values(reviews_open=Condition.reviews_open + 1)
        .execution_options(synchronize_session=False)
    )
    return met


def open_texts(
    session: Session, partnership_ids: list[int], since_a_review: bool = False
) -> dict[int, list[str]]:
    """What the open conditions of some partnerships say, by partnership, in one query;
    with `since_a_review`, only those open through a review already (a reminder names
    them: a condition still open at its second review)."""
    if not partnership_ids:
        return {}
    query = select(Condition.partnership_id, Condition.text).where(
        Condition.partnership_id.in_(partnership_ids), Condition.status == OPEN
    )
    if since_a_review:
        query = query.where(Condition.reviews_open >= 1)
    found: dict[int, list[str]] = {}
    for partnership_id, text in session.execute(query.order_by(Condition.id)):
        found.setdefault(partnership_id, []).append(text)
    return found


def lines(session: Session, partnership_id: int) -> tuple[ConditionLine, ...]:
    """A partnership's conditions as they stand, in the order they were raised."""
    rows = session.scalars(
        select(Condition).where(Condition.partnership_id == partnership_id).order_by(Condition.id)
    )
    return tuple(line_of(row) for row in rows)


def line_of(row: Condition) -> ConditionLine:
    return ConditionLine(
        id=row.id,
        key=row.key,
        tip=row.tip,
        severity=row.severity,
        text=row.text,
        view=row.view,
        owner_id=row.owner_id,
        status=row.status,
        note=row.note,
        changed_by=row.changed_by,
    )
