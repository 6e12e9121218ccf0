"""Reading partners' views of a check: who gives each, and the check's assessment with
every view sent so far (`flows.views.combine`). Used by the steps (a check's summary, a
partner's questionnaire) and by `bot.core.partners` (invitations, views arriving)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.lookups import Runs
from bot.core.notifier import Invitation, Standing
from bot.core.plans import name_of
from bot.storage.models import Conversation, Partnership, PartnerView, reference_of
from bot.storage.rows import ConversationRow
from flows import Assessment
from flows.views import View, combine

PARTNER = "partner"


def check_of(session: Session, conversation: Conversation | ConversationRow) -> int:
    """The check a conversation's partners belong to: a re-check of a posted partnership
    belongs to the check that first posted it."""
    if conversation.partnership_id is not None and conversation.kind == "check":
        first = session.scalar(
            select(Partnership.conversation_id).where(Partnership.id == conversation.partnership_id)
        )
        if first is not None:
            return first
    return conversation.id


def views_of(session: Session, check_id: int) -> list[PartnerView]:
    return list(
        session.scalars(
            select(PartnerView).where(PartnerView.check_id == check_id).order_by(PartnerView.id)
        )
    )


def assessment_of(
    runs: Runs, session: Session, check_id: int, answers: dict[str, Any]
) -> tuple[Assessment, Standing]:
    """The check's assessment with every view sent so far, and who has and has not sent."""
    views, standing = _sent_views(session, check_id)
    return combine(runs.check_flow, runs.flows[PARTNER], answers, views), standing


def standing_of(session: Session, check_id: int) -> Standing:
    """Who has sent their organisation's view of the check, and who has not yet."""
    return _sent_views(session, check_id)[1]


def _sent_views(session: Session, check_id: int) -> tuple[list[View], Standing]:
    rows = views_of(session, check_id)
    sent = [row for row in rows if row.status == "answered" and row.answers is not None]
    standing = Standing(
        answered=tuple(row.organisation for row in sent),
        waiting=tuple(row.organisation for row in rows if row.status == "invited"),
    )
    return [View(row.organisation, row.answers or {}) for row in sent], standing


def check_answers(session: Session, runs: Runs, check: Conversation) -> dict[str, Any]:
    """The check's answers as they stand: its partnership's once posted (a re-check
    changes them there), else its own run's."""
    posted = session.scalar(select(Partnership).where(Partnership.conversation_id == check.id))
    if posted is not None and posted.post_state == "posted":
        return dict(posted.answers)
    return runs.of(check).answers


def invitation_of(
    runs: Runs, session: Session, row: PartnerView, check: Conversation, answers: dict[str, Any]
) -> Invitation:
    """What the person asked for `row`'s view is told about the check."""
    flow = runs.check_flow
    reference = session.scalar(
        select(Partnership.ref).where(
            Partnership.conversation_id == check.id, Partnership.post_state == "posted"
        )
    )
    problem = flow.answer_for("problem", answers)
    return Invitation(
        view_id=row.id,
        organisation=row.organisation,
        proposer_id=row.invited_by,
        name=name_of(flow, answers),
        problem=str(problem) if problem else None,
        questions=len(runs.flows[PARTNER].questions),
        reference=reference_of(reference) if reference is not None else None,
    )


def invitation_for(runs: Runs, session: Session, row: PartnerView) -> Invitation:
    """`invitation_of` for `row`, its check and answers looked up."""
    check = session.get_one(Conversation, row.check_id)
    return invitation_of(runs, session, row, check, check_answers(session, runs, check))
