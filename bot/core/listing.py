"""A person's checks, newest first, with each partnership's next review and last decision,
for `/partnership list` and the App Home."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from bot.core import conditions
from bot.core.actors import Actor
from bot.core.plans import name_of
from bot.storage.db import Database
from bot.storage.models import Conversation, Partnership
from flows import Flow

STATUS = {"active": "in progress", "finished": "finished"}


@dataclass(frozen=True)
class CheckLine:
    """One of a person's checks, as listed in the App Home and `/partnership list`."""

    name: str
    status: str
    reference: str | None = None
    verdict: str | None = None
    channel_id: str | None = None
    next_review: date | None = None
    last_decision: str | None = None
    open_conditions: tuple[str, ...] = ()  # a posted partnership's, still to meet


def recent_checks(db: Database, actor: Actor, flow: Flow, limit: int = 15) -> list[CheckLine]:
    with db.reading() as session:
        rows = session.execute(
            select(Conversation, Partnership)
            .outerjoin(Partnership, Partnership.conversation_id == Conversation.id)
            .where(
                Conversation.team_id == actor.team_id,
                Conversation.user_id == actor.user_id,
                Conversation.kind == "check",
                # A finished re-check is an update of a partnership listed on its own line.
                Conversation.partnership_id.is_(None) | (Conversation.status == "active"),
            )
            .order_by(Conversation.id.desc())
            .limit(limit)
        ).all()
        posted = [p.id for _c, p in rows if p is not None and p.post_state == "posted"]
        still_open = conditions.open_texts(session, posted)
    lines = []
    for conversation, partnership in rows:
        if conversation.partnership_id is not None:  # a re-check in progress
            name = _name(flow, conversation)
            lines.append(CheckLine(name=f"Re-check: {name}", status="in progress"))
            continue
        name = _name(flow, conversation)
        if partnership is not None and partnership.post_state == "posted":
            lines.append(
                CheckLine(
                    name=partnership.name,
                    status="ended" if partnership.status == "ended" else "posted",
                    reference=partnership.reference,
                    verdict=partnership.verdict,
                    channel_id=partnership.channel_id,
                    next_review=partnership.next_review_on,
                    last_decision=partnership.last_decision,
                    open_conditions=tuple(still_open.get(partnership.id, ())),
                )
            )
        elif conversation.state == "cancelled":
            lines.append(CheckLine(name=name, status="cancelled"))
        elif conversation.state == "summary":
            lines.append(CheckLine(name=name, status="ready to post"))
        else:
            lines.append(CheckLine(name=name, status=STATUS.get(conversation.status, "")))
    return lines


def _name(flow: Flow, conversation: Conversation) -> str:
    return name_of(flow, conversation.snapshot.get("answers", {}))
