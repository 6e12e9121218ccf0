"""Every partner's view of a check.

The proposer invites one person per partner organisation (from the summary, or from the
posted recommendation's thread). Each answers the partner questionnaire for their own
organisation in their own DM, as a conversation of kind "partner" run by the same steps
as a check. Their answers join the check's assessment (`flows.views.combine`); a posted
recommendation is updated in place as each view arrives, with a note in its thread.

Only the proposer may invite, and only the invited person may answer for an
organisation; anyone else is told so and changes nothing.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.core import lookups, reminders
from bot.core.actors import Actor, Press
from bot.core.errors import Refused, Stale
from bot.core.follow_up import Redraw
from bot.core.notifier import Invitation, Invitee, Invitees, Standing
from bot.core.partner_views import (
    PARTNER,
    assessment_of,
    check_answers,
    invitation_for,
    invitation_of,
    standing_of,
    views_of,
)
from bot.core.plans import name_of
from bot.core.recommendations import reassess
from bot.core.starting import Starting
from bot.core.steps import Steps
from bot.storage.db import Unit, rowcount
from bot.storage.models import Conversation, Partnership, PartnerView
from bot.storage.rows import ConversationRow
from flows import FlowRun, schedule


class _NotNow(Exception):
    """A press that does nothing, and why (see `Notifier.not_yours`): raised inside the
    unit of work, told to the presser after it."""

    def __init__(self, why: str, **facts: str) -> None:
        super().__init__(why)
        self.why, self.facts = why, facts


@dataclass(frozen=True)
class _Sent:
    """A view just sent: what to tell whom, after the unit of work."""

    check_id: int
    organisation: str
    proposer_id: str
    answers: dict[str, Any]


class Partners:
    def __init__(
        self,
        steps: Steps,
        starting: Starting,
        holidays: Container[date] = schedule.NO_HOLIDAYS,
    ) -> None:
        self.steps, self.starting = steps, starting
        self.holidays = holidays  # no reminder to a partner is due on one
        self.db, self.notify, self.runs = steps.db, steps.notify, steps.runs
        self.redraw = Redraw(self.db, self.notify, self.runs)

    # --- the proposer ---------------------------------------------------------------------

    def invitees(self, actor: Actor, check_id: int, ts: str | None = None) -> None:
        """Show the proposer their partner organisations with a person picker for each (a
        new message in their DM, or the message `ts` redrawn)."""
        try:
            with self.db.reading() as session:
                listed = self._invitees(session, self._own_check(session, actor, check_id))
        except _NotNow as no:
            self._not_now(actor, no)
            return
        self.notify.invitees(self.notify.dm_of(actor.user_id), listed, ts)

    def invite(self, actor: Actor, check_id: int, index: int, user_id: str, ts: str | None) -> None:
        """The proposer picked `user_id` to give the view of the check's `index`-th
        organisation: ask them (and tell whoever was asked before that it moved)."""
        now = self.runs.clock()
        try:
            with self.db.session() as session:
                check = self._own_check(session, actor, check_id)
                answers = check_answers(session, self.runs, check)
                organisations = self._organisations(answers)
                if not 0 <= index < len(organisations):
                    raise _NotNow("stale")  # the organisations changed since it was drawn
                organisation = organisations[index]
                if user_id == actor.user_id:
                    raise Refused(
                        f"You give the proposer's view in the check itself. Pick someone at "
                        f"{organisation} to give theirs."
                    )
                row = session.scalar(
                    select(PartnerView).where(
                        PartnerView.check_id == check_id,
                        PartnerView.organisation == organisation,
                    )
                )
                before = None
                if row is None:
                    row = PartnerView(
                        team_id=actor.team_id,
                        check_id=check_id,
                        organisation=organisation,
                        invited_by=actor.user_id,
                    )
                    session.add(row)
                elif row.status == "answered":
                    raise Refused(f"{organisation} has sent its view already.")
                elif row.user_id == user_id and row.status == "invited":
                    return  # picked again: they are asked already
                else:
                    before = (row.channel_id, row.message_ts)
                    self._cancel_questionnaire(session, row)
                self._ask(row, user_id, now)
                session.flush()
                invitation = invitation_of(self.runs, session, row, check, answers)
                listed = self._invitees(session, check)
        except _NotNow as no:
            self._not_now(actor, no)
            return
        except Refused as refused:
            self.notify.refused(self.notify.dm_of(actor.user_id), str(refused))
            return
        if before is not None and before[0] and before[1]:
            self.notify.invitation_closed(before[0], before[1], "moved", proposer=actor.user_id)
        self._send_invitation(invitation, user_id)
        self.notify.invitees(self.notify.dm_of(actor.user_id), listed, ts)

    # --- the invited person ---------------------------------------------------------------

    def start(self, actor: Actor, view_id: int) -> None:
        """Start (or show again) the person's questionnaire for the organisation."""
        try:
            invitation = self._open_invitation(actor, view_id)
        except _NotNow as no:
            self._not_now(actor, no)
            return
        self.starting.partner(actor, invitation)

    def not_me(self, actor: Actor, view_id: int, ts: str | None) -> None:
        """ "Not me": ask who should answer instead."""
        try:
            invitation = self._open_invitation(actor, view_id)
        except _NotNow as no:
            self._not_now(actor, no)
            return
        if ts:
            self.notify.ask_who_instead(self.notify.dm_of(actor.user_id), ts, invitation)

    def hand_on(self, actor: Actor, view_id: int, user_id: str | None, ts: str | None) -> None:
        """The invited person names who should answer instead (or says they don't know):
        the invitation moves to that person, and the proposer is told."""
        if user_id == actor.user_id:
            return  # picked themselves: nothing changes, the invitation stands
        now = self.runs.clock()
        invitation = None
        try:
            with self.db.session() as session:
                row = self._own_view(session, actor, view_id)
                self._cancel_questionnaire(session, row)
                proposer, organisation = row.invited_by, row.organisation
                if user_id is None:
                    row.status, row.chase_at = "declined", None
                else:
                    self._ask(row, user_id, now)
                    invitation = invitation_for(self.runs, session, row)
        except _NotNow as no:
            self._not_now(actor, no)
            return
        if ts:
            closed = "handed_on" if user_id else "declined"
            self.notify.invitation_closed(
                self.notify.dm_of(actor.user_id), ts, closed, to=user_id, proposer=proposer
            )
        if invitation is not None and user_id is not None:
            self._send_invitation(invitation, user_id)
        what = "view_handed_on" if user_id else "view_declined"
        self.notify.tell(proposer, what, by=actor.user_id, to=user_id, organisation=organisation)

    def _open_invitation(self, actor: Actor, view_id: int) -> Invitation:
        with self.db.reading() as session:
            return invitation_for(self.runs, session, self._own_view(session, actor, view_id))

    def send(self, actor: Actor, press: Press) -> None:
        """ "Send my view" on the partner's summary: keep the answers as their
        organisation's view, then update the check (its summary, or its post in place)."""
        sent: list[_Sent] = []

        def record(run: FlowRun, conversation: ConversationRow, unit: Unit) -> None:
            session = unit.session
            row = session.get_one(PartnerView, conversation.view_id)
            if row.user_id != actor.user_id or row.status != "invited":
                raise Refused(
                    f"You are no longer the one giving {row.organisation}'s view, so this "
                    "was not sent."
                )
            row.answers, row.status = dict(run.answers), "answered"
            row.answered_at, row.chase_at = self.runs.clock(), None
            sent.append(_Sent(row.check_id, row.organisation, row.invited_by, row.answers))
            run.finish()

        with self.db.reading() as session:
            conversation = lookups.owned(session, actor, press.conversation_id)
            view = session.get(PartnerView, conversation.view_id) if conversation else None
            proposer = view.invited_by if view else ""
        try:  # the summary is left saying where the view went
            self.steps.complete(
                actor, press, self.notify.posted_note("view", proposer=proposer), record
            )
        except Stale:
            self.steps.stale(actor, press.conversation_id, "view_sent")
            return
        if sent:
            self.arrived(sent[0])

    # --- chasing views not sent ------------------------------------------------------------

    def chase(self, now: datetime) -> int:
        """Remind each partner whose view is due a reminder (at most CHASES each, on
        working days), then tell the proposer once. Each is claimed with one conditional
        UPDATE committed before the message goes, so however many passes run, a reminder
        is sent at most once. Returns how many messages went."""
        with self.db.reading() as session:
            due = session.execute(
                select(PartnerView.id, PartnerView.chased).where(
                    PartnerView.status == "invited", PartnerView.chase_at <= now
                )
            ).all()
        sent = 0
        for view_id, chased in due:
            with self.db.session() as session:
                last = chased >= reminders.CHASES
                claimed = session.execute(
                    update(PartnerView)
                    .where(
                        PartnerView.id == view_id,
                        PartnerView.status == "invited",
                        PartnerView.chased == chased,
                        PartnerView.chase_at <= now,
                    )
                    .values(
                        chased=chased + (0 if last else 1),
                        chase_at=None if last else reminders.chase_at(now, None, self.holidays),
                    )
                    .execution_options(synchronize_session=False)
                )
                if not rowcount(claimed):
                    continue  # another pass took it, or it was answered meanwhile
                row = session.get_one(PartnerView, view_id)
                invitation = invitation_for(self.runs, session, row)
                invitee = row.user_id
            if last:
                self.notify.tell(
                    invitation.proposer_id,
                    "view_missing",
                    to=invitee,
                    organisation=invitation.organisation,
                    name=invitation.name,
                )
            else:
                self.notify.invite(invitee, invitation, again=True)
            sent += 1
        return sent

    # --- the check, as views arrive -------------------------------------------------------

    def arrived(self, sent: _Sent) -> None:
        """A view is in: the proposer is told, and the posted recommendation (if any) is
        updated in place, with a note in its thread."""
        posted = self._refresh(sent.check_id)
        standing = posted[1] if posted else self._standing(sent.check_id)
        facts = {"organisation": sent.organisation, "standing": standing}
        self.notify.view_answers(
            sent.proposer_id, sent.organisation, self.runs.flows[PARTNER], sent.answers
        )
        if posted is None:
            self.notify.tell(sent.proposer_id, "view_in", **facts)
            self._show_summary(sent)
            return
        partnership = posted[0]
        self.notify.in_thread(partnership, "view_in", verdict=partnership.verdict, **facts)
        self.notify.tell(
            sent.proposer_id, "view_in_posted", reference=partnership.reference, **facts
        )

    def _refresh(self, check_id: int) -> tuple[Partnership, Standing] | None:
        """Record a posted partnership's assessment with every view (reviews start if it
        now goes ahead, and stop if it no longer does; its conditions follow its flags),
        then redraw its post in place. None if it is not posted."""
        with self.db.session() as session:
            partnership = session.scalar(
                select(Partnership).where(
                    Partnership.conversation_id == check_id,
                    Partnership.post_state == "posted",
                )
            )
            if partnership is None:
                return None
            answers = dict(partnership.answers)
            assessment, standing = assessment_of(self.runs, session, check_id, answers)
            closed = reassess(self.runs, session, partnership, answers, assessment)
            session.flush()
            session.expunge(partnership)  # read after the unit of work, to tell people
        for channel, ts, lines in closed:
            self.notify.redraw_reminders(channel, ts, lines)
        drawn = self.redraw.post(partnership.id)
        return partnership, drawn.standing if drawn else standing

    def _standing(self, check_id: int) -> Standing:
        with self.db.reading() as session:
            return standing_of(session, check_id)

    def _show_summary(self, sent: _Sent) -> None:
        """The proposer's check, still at its summary: show it again with the new view."""
        with self.db.reading() as session:
            check = session.get_one(Conversation, sent.check_id)
            at_summary = check.status == "active" and check.state == "summary"
        if at_summary:
            self.steps.show(sent.check_id)

    # --- lookups --------------------------------------------------------------------------

    @staticmethod
    def _own_check(session: Session, actor: Actor, check_id: int) -> Conversation:
        """The proposer's own check; _NotNow for anyone else (only the proposer invites)."""
        check = session.get(Conversation, check_id)
        if check is None or check.team_id != actor.team_id or check.kind != "check":
            raise _NotNow("stale")  # another workspace's is as if there were none
        if check.user_id != actor.user_id:
            raise _NotNow("invite_owner", owner=check.user_id)
        if check.state == "cancelled":
            raise _NotNow("check_gone")
        return check

    @staticmethod
    def _own_view(session: Session, actor: Actor, view_id: int) -> PartnerView:
        """The invitation, if it is this person's and still open; else _NotNow."""
        row = session.get(PartnerView, view_id)
        if row is None or row.team_id != actor.team_id:
            raise _NotNow("stale")
        if row.user_id != actor.user_id:
            raise _NotNow("view_for", invitee=row.user_id)
        if row.status == "answered":
            raise _NotNow("view_sent")
        if row.status != "invited":
            raise _NotNow("stale")
        if session.get_one(Conversation, row.check_id).state == "cancelled":
            raise _NotNow("check_gone")
        return row

    def _not_now(self, actor: Actor, no: _NotNow) -> None:
        self.notify.not_yours(self.notify.dm_of(actor.user_id), actor.user_id, no.why, **no.facts)

    def _invitees(self, session: Session, check: Conversation) -> Invitees:
        answers = check_answers(session, self.runs, check)
        rows = {row.organisation: row for row in views_of(session, check.id)}
        lines = []
        for organisation in self._organisations(answers):
            row = rows.get(organisation)
            lines.append(
                Invitee(organisation, row.user_id, row.status) if row else Invitee(organisation)
            )
        return Invitees(check.id, name_of(self.runs.check_flow, answers), tuple(lines))

    def _organisations(self, answers: dict[str, Any]) -> list[str]:
        named = self.runs.check_flow.answer_for("organisations", answers)
        return [str(name) for name in named] if isinstance(named, list) else []

    def _ask(self, row: PartnerView, user_id: str, now: datetime) -> None:
        """`row`'s view is asked of `user_id` from `now`: their reminders start afresh, and
        the invitation message is theirs to be sent."""
        row.user_id, row.status, row.invited_at = user_id, "invited", now
        row.channel_id = row.message_ts = None
        row.chased = 0
        row.chase_at = reminders.chase_at(now, None, self.holidays)

    def _cancel_questionnaire(self, session: Session, row: PartnerView) -> None:
        """The invitation moves on: a questionnaire its old invitee had started stops."""
        session.execute(
            update(Conversation)
            .where(Conversation.view_id == row.id, Conversation.status == "active")
            .values(status="finished", state="cancelled", message_ts=None)
            .execution_options(synchronize_session=False)
        )

    def _send_invitation(self, invitation: Invitation, user_id: str) -> None:
        where = self.notify.invite(user_id, invitation)
        if where is None:
            self.notify.tell(
                invitation.proposer_id,
                "invite_failed",
                to=user_id,
                organisation=invitation.organisation,
            )
            return
        with self.db.statements() as connection:
            connection.execute(
                update(PartnerView)
                .where(PartnerView.id == invitation.view_id, PartnerView.user_id == user_id)
                .values(channel_id=where[0], message_ts=where[1])
            )
