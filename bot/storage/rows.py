"""A conversation as a step reads it: one plain SELECT into a frozen dataclass.

A step reads one row and writes it back (`store.save_step`); loading it through the ORM
(a session, its identity map, an instrumented object) cost more than the statements.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Row, Select, select

from bot.storage.models import Conversation


@dataclass(frozen=True, slots=True)
class ConversationRow:
    """The columns of a conversation a step reads. Frozen: a step's changes are written
    with `store.save_step`, which returns the row as saved."""

    id: int
    team_id: str
    user_id: str
    channel_id: str
    kind: str
    flow_version: str
    status: str
    state: str
    snapshot: dict[str, Any]
    draft: dict[str, Any]
    version: int
    message_ts: str | None
    message_version: int | None
    closed_ts: str | None
    partnership_id: int | None
    reminder_id: int | None
    view_id: int | None


_COLUMNS = [Conversation.__table__.c[field.name] for field in fields(ConversationRow)]


def select_conversations() -> Select[Any]:
    """SELECT the columns of `ConversationRow` (add the WHERE)."""
    return select(*_COLUMNS)


def conversation_row(row: Row[Any]) -> ConversationRow:
    return ConversationRow(**row._mapping)
