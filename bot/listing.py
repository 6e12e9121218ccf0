"""A person's checks, newest first, with each partnership's next review and last decision,
for `/partnership list` and the App Home."""

from __future__ import annotations

from sqlalchemy import select

from .blocks import CheckLine
from .conversations import Actor
from .db import Database
from .models import Conversation, Partnership
from .review_blocks import DECIDED

STATUS = {"active": "in progress", "finished": "finished"}


def recent_checks(db: Database, actor: Actor, limit: int = 15) -> list[CheckLine]:
    with db.reading() as session:
        rows = session.execute(
            select(Conversation, Partnership)
            .outerjoin(Partnership, Partnership.conversation_id == Conversation.id)
            .where(
                Conversation.team_id == actor.team_id,
                Conversation.user_id == actor.user_id,
                Conversation.kind == "check",
            )
            .order_by(Conversation.id.desc())
            .limit(limit)
        ).all()
    lines = []
    for conversation, partnership in rows:
        name = str(conversation.snapshot.get("answers", {}).get("name") or "Untitled proposal")
        if partnership is not None and partnership.post_state == "posted":
            lines.append(
                CheckLine(
                    name=partnership.name,
                    status="ended" if partnership.status == "ended" else "posted",
                    reference=partnership.reference,
                    verdict=partnership.verdict,
                    channel_id=partnership.channel_id,
                    next_review=partnership.next_review_on,
                    last_decision=DECIDED.get(partnership.last_decision or ""),
                )
            )
        elif conversation.state == "cancelled":
            lines.append(CheckLine(name=name, status="cancelled"))
        elif conversation.state == "summary":
            lines.append(CheckLine(name=name, status="ready to post"))
        else:
            lines.append(CheckLine(name=name, status=STATUS.get(conversation.status, "")))
    return lines
