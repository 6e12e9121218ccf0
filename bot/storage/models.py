"""Database tables (SQLAlchemy 2 declarative). The schema itself is made by Alembic.

Every row carries the Slack `team_id` it belongs to and every query filters on it, so one
workspace's data never reaches another.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
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
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment, always stored in UTC and always read back time-zone aware.

    SQLite keeps no time zone and hands back naive datetimes; Postgres keeps it. This
    makes both behave the same, so schedule arithmetic never mixes naive and aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime}


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
        # `/partnership list` and the App Home: a person's latest checks, newest first,
        # read straight off the index however many they have.
        Index("ix_conversations_user_checks", "team_id", "user_id", "kind", "id"),
        # A person's active conversation, whatever the query plan (a prepared statement's
        # generic plan cannot use the partial index above).
        Index("ix_conversations_user_status", "team_id", "user_id", "status"),
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
    # The version that message shows: a step taken before the bot recorded the newest
    # message must not close an older one again.
    message_version: Mapped[int | None] = mapped_column(Integer)
    # The last few messages steps closed (ts separated by spaces, newest first): a message
    # pressed before its ts was recorded is closed by the press, and the thread still
    # recording it must then leave it alone, even after later steps.
    closed_ts: Mapped[str | None] = mapped_column(String(255))
    # A review's subject, and the reminder it answers (None when started by command).
    # use_alter: these point "forward" (partnerships point back at their conversation).
    partnership_id: Mapped[int | None] = mapped_column(
        ForeignKey("partnerships.id", name="fk_conversations_partnership", use_alter=True)
    )
    reminder_id: Mapped[int | None] = mapped_column(
        ForeignKey("reminders.id", name="fk_conversations_reminder", use_alter=True)
    )
    # A partner's questionnaire: the invitation it answers.
    view_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_views.id", name="fk_conversations_view", use_alter=True)
    )
    # Half-made choices (ticked checkboxes, a picked channel) that are not answers yet.
    draft: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class PostedOnce:
    """Something posted to Slack once: unposted -> posting (claimed by one process) ->
    posted; a claim left by a crashed process can be retaken (see store.claim_post)."""

    post_state: Mapped[str] = mapped_column(String(16), default="unposted")
    post_claimed_at: Mapped[datetime | None] = mapped_column()


def reference_of(ref: int) -> str:
    """A partnership's reference as people see and type it: "P-12"."""
    return f"P-{ref}"


class Partnership(PostedOnce, Base):
    """An assessed proposal with its reference and where it was posted."""

    __tablename__ = "partnerships"
    __table_args__ = (
        UniqueConstraint("team_id", "ref", name="uq_partnerships_team_ref"),
        Index("ix_partnerships_owner", "team_id", "owner_id"),
        # Posts left in flight, looked for at every scheduler pass (Recommendations.recover).
        Index(
            "ix_partnerships_posting",
            "post_claimed_at",
            sqlite_where=text("post_state = 'posting'"),
            postgresql_where=text("post_state = 'posting'"),
        ),
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
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    # Where a claimed post is going (an ID or #name): where to look for it if the process
    # posting it stops before it hears back.
    post_target: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None] = mapped_column()
    # Reviews (set when posted): active until a review decides to end it.
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    cadence: Mapped[str | None] = mapped_column(String(16))
    owner_tz: Mapped[str | None] = mapped_column(String(64))
    next_review_on: Mapped[date | None] = mapped_column(Date)
    last_reviewed_on: Mapped[date | None] = mapped_column(Date)
    last_decision: Mapped[str | None] = mapped_column(String(16))
    # The thread message that lists its conditions (with their controls) and partners.
    follow_up_ts: Mapped[str | None] = mapped_column(String(32))

    @property
    def reference(self) -> str:
        return reference_of(self.ref)


class PartnerView(Base):
    """One partner organisation's view of a check: who is asked to give it, and their
    answers once sent. One person per organisation: (check, organisation) is unique, and
    only that person may answer. Invited -> answered; chased at most twice on working
    days (`chased`), then the proposer is told once (and `chase_at` is cleared)."""

    __tablename__ = "partner_views"
    __table_args__ = (
        UniqueConstraint("check_id", "organisation", name="uq_partner_views_check_org"),
        # The views still to chase, due by now, from the index alone.
        Index("ix_partner_views_chase", "status", "chase_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    # The check (its first conversation: a re-check keeps the partnership's views).
    check_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    organisation: Mapped[str] = mapped_column(Text)
    user_id: Mapped[str] = mapped_column(String(32))
    invited_by: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="invited")
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The invitation in the person's DM (closed when it is answered or passed on).
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    chased: Mapped[int] = mapped_column(Integer, default=0)
    chase_at: Mapped[datetime | None] = mapped_column()
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column()


class Condition(Base):
    """A flag of a posted recommendation, followed to the end: open -> met, or dropped with
    a reason. Its owner is the proposer unless it was given to someone else. One per
    flag (its key says whose view raised it), kept across re-checks: a flag no longer
    raised is met by the change of answers, and one raised again opens again."""

    __tablename__ = "conditions"
    __table_args__ = (UniqueConstraint("partnership_id", "key", name="uq_conditions_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    tip: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)  # what to do
    reason: Mapped[str] = mapped_column(Text)  # the flag's reason
    view: Mapped[str | None] = mapped_column(Text)  # whose view raised it (None: proposer)
    owner_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open")
    note: Mapped[str | None] = mapped_column(Text)  # why it was dropped, or how it was met
    changed_by: Mapped[str | None] = mapped_column(String(32))
    changed_at: Mapped[datetime | None] = mapped_column()
    # Reviews it has stayed open through: open at its second review, a reminder names it.
    reviews_open: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessedEvent(Base):
    """Event IDs already handled, so a retried Events API delivery changes nothing twice."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    # Indexed: the scheduler forgets ids Slack can no longer retry (store.forget_events).
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ChannelPace(Base):
    """When the bot last posted a reminder in a channel, shared by every scheduler process,
    so that together they keep to Slack's pace of about one message a second a channel."""

    __tablename__ = "channel_pace"

    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_post_at: Mapped[datetime] = mapped_column()


class Reminder(Base):
    """One review falling due for a partnership, and the reminders sent about it.

    (partnership, due date) is unique, so however many schedulers run, a due review has
    one row; a scheduler posts only for rows it holds locked (SELECT ... FOR UPDATE SKIP
    LOCKED), so each reminder is posted once, and a scheduler killed mid-post leaves its
    row unlocked and unchanged for the next pass.
    """

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("partnership_id", "due_on", name="uq_reminders_partnership_due"),
        # The channels with something pending and due by now, from the index alone.
        Index("ix_reminders_due", "state", "send_at", "channel_id"),
        # What is due in one channel: the rows a pass locks, and whether any are left.
        Index("ix_reminders_channel_due", "channel_id", "state", "send_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"))
    due_on: Mapped[date] = mapped_column(Date)
    # pending (to send at send_at) -> reviewing -> done; or cancelled when it ends.
    state: Mapped[str] = mapped_column(String(16), default="pending")
    send_at: Mapped[datetime] = mapped_column()
    sends: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None] = mapped_column()
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    reviewer_id: Mapped[str | None] = mapped_column(String(32))


class ReminderAttempt(Base):
    """A reminder post about to be made (its send number and the tag it is posted with),
    committed before posting and removed once the post is recorded. While its `owner`
    (the pass posting it) runs, other passes leave the reminder alone; if the owner
    stopped after Slack took the post but before recording it, the next pass looks for
    the tag in the channel and records the post it finds instead of posting again."""

    __tablename__ = "reminder_attempts"

    # No foreign key: an attempt is the pass's bookkeeping, removed with its post.
    # The tag is part of the key: a new attempt never waits on the removal of an old one.
    reminder_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    send: Mapped[int] = mapped_column(Integer, primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    at: Mapped[datetime] = mapped_column()
    owner: Mapped[str | None] = mapped_column(String(32))


class OutboxMessage(Base):
    """A post that failed after the state it shows was saved (a thread reply, the next
    question): posted again by bot.outbox with backoff until Slack takes it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"text": ..., "blocks": [...]}
    tag: Mapped[str] = mapped_column(String(255))
    # A question or summary: once posted, recorded as the message showing this version.
    conversation_id: Mapped[int | None] = mapped_column(Integer)
    conversation_version: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Review(PostedOnce, Base):
    """A finished review: its answers, flags and decision, and where its result was posted."""

    __tablename__ = "reviews"
    __table_args__ = (
        # Results left in flight, looked for at every scheduler pass (Reviews.recover).
        Index(
            "ix_reviews_posting",
            "post_claimed_at",
            sqlite_where=text("post_state = 'posting'"),
            postgresql_where=text("post_state = 'posting'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"), index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), unique=True)
    reviewer_id: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(16))
    assessment: Mapped[dict[str, Any]] = mapped_column(JSON)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    message_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
