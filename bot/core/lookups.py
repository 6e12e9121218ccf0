"""Finding a person's conversations (only ever their own, in their own workspace) and
restoring a conversation's flow run from its saved snapshot."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from bot.core.actors import Actor
from bot.core.errors import Stale
from bot.storage.db import Database
from bot.storage.models import Conversation, Partnership, Review
from bot.storage.rows import ConversationRow, conversation_row, select_conversations
from bot.storage.store import AlreadyClaimed, record_event
from flows import Flow, FlowError, FlowRun

# What each kind of conversation posts once, from its summary.
POSTS: dict[str, type[Partnership] | type[Review]] = {"check": Partnership, "review": Review}
Posted = TypeVar("Posted", Partnership, Review)
Reader = Session | Connection  # a conversation is read the same way in either


@dataclass
class Runs:
    """The flows the bot runs, and restoring a conversation's run of one as of today."""

    flows: Mapping[str, Flow]
    clock: Callable[[], datetime]

    @property
    def check_flow(self) -> Flow:
        return self.flows["check"]

    def flow_of(self, conversation: Conversation | ConversationRow) -> Flow:
        return self.flows[conversation.kind]

    def new(self, flow: Flow, snapshot: dict[str, Any] | None = None) -> FlowRun:
        """A run of `flow` from `snapshot` (a new one without); raises FlowError if the
        snapshot cannot be restored."""
        return FlowRun(flow, snapshot, today=self.clock().date())

    def of(self, conversation: Conversation | ConversationRow) -> FlowRun:
        return self.new(self.flow_of(conversation), conversation.snapshot)


# A person's active conversation, newest touched first (of any kind, or of one). Built
# once: each reply binds the person instead of building and keying a new statement.
_ACTIVE = (
    select_conversations()
    .where(
        Conversation.team_id == bindparam("team_id"),
        Conversation.user_id == bindparam("user_id"),
        Conversation.status == "active",
    )
    .order_by(Conversation.updated_at.desc())
    .limit(1)
)
_ACTIVE_OF_KIND = _ACTIVE.where(Conversation.kind == bindparam("kind"))
_BY_ID = select_conversations().where(Conversation.id == bindparam("conversation_id"))


def active(unit: Reader, actor: Actor, kind: str | None = None) -> ConversationRow | None:
    """The person's active conversation (of `kind`, or the one they touched last)."""
    person = {"team_id": actor.team_id, "user_id": actor.user_id}
    if kind is None:
        row = unit.execute(_ACTIVE, person).first()
    else:
        row = unit.execute(_ACTIVE_OF_KIND, {**person, "kind": kind}).first()
    return conversation_row(row) if row is not None else None


def by_id(unit: Reader, conversation_id: int) -> ConversationRow | None:
    row = unit.execute(_BY_ID, {"conversation_id": conversation_id}).first()
    return conversation_row(row) if row is not None else None


def owned(unit: Reader, actor: Actor, conversation_id: int) -> ConversationRow | None:
    """The conversation, only if it is this person's in this workspace."""
    found = by_id(unit, conversation_id)
    if found is None or (found.team_id, found.user_id) != (actor.team_id, actor.user_id):
        return None
    return found


def pressed_summary(
    session: Session,
    runs: Runs,
    actor: Actor,
    conversation_id: int,
    version: int,
    model: type[Posted],
) -> tuple[ConversationRow, Posted | None]:
    """The person's conversation whose summary was pressed at `version` to post it as a
    `model`, and that row if there is one yet. Raises Stale when the press is out of
    date, AlreadyClaimed when that is because it was posted or is being posted."""
    conversation = owned(session, actor, conversation_id)
    if conversation is None or POSTS.get(conversation.kind) is not model:
        raise Stale
    posted = session.scalar(select(model).where(model.conversation_id == conversation_id))
    if conversation.state != "summary" or conversation.version != version:
        claimed = posted is not None and posted.post_state != "unposted"
        raise AlreadyClaimed if claimed else Stale
    try:
        at_summary = runs.of(conversation).state == "summary"
    except FlowError:
        at_summary = False
    if not at_summary:  # its definition changed and now it has questions to answer
        raise Stale
    return conversation, posted


def first_delivery(db: Database, event_id: str | None, team_id: str) -> bool:
    """False for an event Slack delivered before (a retry): it was handled then."""
    if not event_id:
        return True
    with db.statements() as connection:
        return record_event(connection, event_id, team_id)
