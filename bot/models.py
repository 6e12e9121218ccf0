"""Database tables (SQLAlchemy 2 declarative). The schema itself is made by Alembic.

Every row carries the Slack `team_id` it belongs to and every query filters on it, so one
workspace's data never reaches another.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}


class Workspace(Base):
    """One Slack workspace; hands out its partnership references P-1, P-2, ..."""

    __tablename__ = "workspaces"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_ref: Mapped[int] = mapped_column(Integer, default=0)


class Conversation(Base):
    """A check (or later a review) in progress in a user's DM: the flow's snapshot.

    `version` is an optimistic lock: every step bumps it and a write based on an older
    version fails, so two presses racing on two threads advance the conversation once.
    """

    __tablename__ = "conversations"
    __table_args__ = (
        # At most one active conversation of a kind per person: a double "new" cannot fork.
        Index(
            "uq_conversations_active",
            "team_id",
            "user_id",
            "kind",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_conversations_user", "team_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16), default="check")
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")
    state: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Slack ts of the DM message showing the current question or summary (to update it).
    message_ts: Mapped[str | None] = mapped_column(String(32))
    # Half-made choices (ticked checkboxes, a picked channel) that are not answers yet.
    draft: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    __mapper_args__ = {"version_id_col": version}


class Partnership(Base):
    """An assessed proposal with its reference and where it was posted."""

    __tablename__ = "partnerships"
    __table_args__ = (
        UniqueConstraint("team_id", "ref", name="uq_partnerships_team_ref"),
        Index("ix_partnerships_owner", "team_id", "owner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    ref: Mapped[int] = mapped_column(Integer)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), unique=True)
    owner_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(64))
    assessment: Mapped[dict[str, Any]] = mapped_column(JSON)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    # unposted -> posting (claimed by one process) -> posted; a stale claim can be retaken.
    post_state: Mapped[str] = mapped_column(String(16), default="unposted")
    post_claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def reference(self) -> str:
        return f"P-{self.ref}"


class ProcessedEvent(Base):
    """Event IDs already handled, so a retried Events API delivery changes nothing twice."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
