"""Steps of a conversation in a person's DM (checks and reviews): a press or a reply in,
the saved step out, then the person told.

Every step follows one pattern: in a single unit of work, load the person's conversation,
check the step is still valid (their own conversation, the version on the button is the
current one), apply it to the flow and save; only the thread whose save wins then tells
the person, after the unit of work has committed. So a retried event, a double click or
two racing presses change things once and post once, and an answer is saved before
anything is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from bot.core import conditions, lookups, reminders
from bot.core.actors import Actor, Press
from bot.core.conditions import OPEN
from bot.core.errors import Refused, Stale
from bot.core.lookups import POSTS, Runs
from bot.core.notifier import (
    CheckSummary,
    Closing,
    Notifier,
    PartnerSummary,
    ReviewSummary,
    Screen,
)
from bot.core.partner_views import (
    PARTNER,
    assessment_of,
    check_answers,
    check_of,
    invitation_for,
)
from bot.core.plans import review_plan
from bot.storage.db import Database, DatabaseUnavailable, Unit
from bot.storage.models import Conversation, Partnership, PartnerView
from bot.storage.rows import ConversationRow
from bot.storage.store import being_posted, record_event, save_step
from flows import AnswerError, Flow, FlowError, FlowRun, assess
from flows.answers import clean

log = logging.getLogger(__name__)
# A step's change to the run: given the run, the conversation as loaded, and the unit of
# work (for the few steps that read or write more than the conversation).
Step = Callable[[FlowRun, ConversationRow, Unit], None]

# The steps a person takes; any other `step` is a note left on a summary being closed.
STEPS = ("answer", "back", "cancel", "revise", "upgrade")

BEING_POSTED = {  # what is posted from a summary (a partner's view is kept, not posted)
    "check": "This check is being posted to the channel right now, so it can't be changed "
    "or discarded. I'll confirm here in a moment.",
    "review": "This review is being posted to the recommendation's thread right now, so it "
    "can't be changed or discarded. I'll confirm here in a moment.",
}


# Recording the message that shows a conversation at a version (see `_record_shown`),
# built once: each step binds its values instead of building and keying statements.
_RECORD_SHOWN = (
    update(Conversation)
    .where(
        Conversation.id == bindparam("shown_id"),
        Conversation.version == bindparam("shown_version"),
    )
    .values(message_ts=bindparam("ts"), message_version=bindparam("shown_version"))
)
_CLOSED_AND_SNAPSHOT = select(Conversation.closed_ts, Conversation.snapshot).where(
    Conversation.id == bindparam("shown_id")
)


class _Unreadable(Exception):
    """The conversation's snapshot cannot be restored (see `Steps._unreadable`)."""

    def __init__(self, conversation: ConversationRow) -> None:
        super().__init__(conversation.id)
        self.conversation = conversation


class Steps:
    def __init__(
        self, db: Database, notify: Notifier, runs: Runs, default_channel: str | None
    ) -> None:
        self.db = db
        self.notify = notify
        self.runs = runs
        self.default_channel = default_channel

    # --- presses ----------------------------------------------------------------------------

    def answer(self, actor: Actor, press: Press) -> None:
        """A button or menu answer: the press's payload is the option."""
        self._press(actor, press, "answer", lambda run, *_: run.answer(press.payload))

    def answer_choices(self, actor: Actor, press: Press, selected: list[str] | None) -> None:
        """Continue on a multi-choice question: the ticked boxes (from the payload or draft)."""

        def apply(run: FlowRun, conversation: ConversationRow, _: Unit) -> None:
            # Ticks from the payload, else those remembered as they were made, else (back
            # at a question answered before, nothing changed) the earlier answer.
            chosen = selected
            if chosen is None:
                chosen = conversation.draft.get("choices")
            if chosen is None and run.current is not None:
                chosen = run.answers.get(run.current.id, [])
            run.answer(list(chosen or []))

        self._press(actor, press, "answer", apply)

    def answer_parts(self, actor: Actor, press: Press, selected: dict[str, str] | None) -> None:
        """Continue on a group: each part's choice from the payload, else as remembered
        when it was made, else (back at a group answered before) the earlier answer."""

        def apply(run: FlowRun, conversation: ConversationRow, _: Unit) -> None:
            question = run.current
            if question is None:
                raise Stale
            chosen = {**question.value_in(run.answers), **conversation.draft.get("parts", {})}
            run.answer({**chosen, **(selected or {})})

        self._press(actor, press, "answer", apply)

    def list_done(self, actor: Actor, press: Press) -> None:
        """Done on a question answered over several messages: keep what was sent."""
        self._press(actor, press, "answer", lambda run, *_: run.done())

    def answer_date(self, actor: Actor, press: Press, day: str) -> None:
        """A date picked in the picker of a date question."""
        self._press(actor, press, "answer", lambda run, *_: run.answer(day))

    def keep(self, actor: Actor, press: Press) -> None:
        """Re-submit the earlier answer of a question reached with Back."""

        def apply(run: FlowRun, *_: object) -> None:
            if run.current is None or run.current.id not in run.answers:
                raise Stale
            earlier = run.answers[run.current.id]
            run.answer(earlier if isinstance(earlier, list) else str(earlier))

        self._press(actor, press, "answer", apply)

    def back(self, actor: Actor, press: Press) -> None:
        self._press(actor, press, "back", lambda run, *_: run.back())

    def cancel(self, actor: Actor, press: Press) -> None:
        self._press(actor, press, "cancel", lambda run, *_: run.cancel())

    def revise(self, actor: Actor, press: Press) -> None:
        self._press(actor, press, "revise", lambda run, *_: run.revise(press.payload))

    def help(self, actor: Actor, press: Press) -> None:
        """Help on the tip named by the press."""
        with self.db.reading() as session:
            conversation = lookups.owned(session, actor, press.conversation_id)
            if conversation is None:
                return
            channel, flow = conversation.channel_id, self.runs.flow_of(conversation)
        if any(tip.id == press.payload for tip in flow.tips):
            self.notify.tip_help(channel, flow, press.payload)

    def remember_choices(self, actor: Actor, press: Press | None, selected: list[str]) -> None:
        """Ticking boxes is not an answer yet: keep the ticks until Continue."""
        self._set_draft(actor, press, "choices", selected)

    def remember_part(self, actor: Actor, press: Press | None, part_id: str, chosen: str) -> None:
        """A choice within a group is not an answer yet: keep it until Continue."""
        self._set_draft(actor, press, "parts", {part_id: chosen}, merge=True)

    def pick_channel(self, actor: Actor, press: Press | None, channel_id: str) -> None:
        self._set_draft(actor, press, "channel", channel_id)

    def tick_met(self, actor: Actor, press: Press | None, condition_ids: list[str]) -> None:
        """Conditions ticked as met on a review's summary: applied when it is submitted."""
        self._set_draft(actor, press, MET_AT_REVIEW, condition_ids)

    def complete(self, actor: Actor, press: Press, note: str, change: Step) -> None:
        """Apply a final step at the summary (it must call `run.finish()`), leaving `note`
        on the summary; raises Stale if the press is out of date."""
        self._step(
            actor,
            press.conversation_id,
            note,
            change,
            expected_version=press.version,
            pressed_version=press.version,
        )

    def finish(self, actor: Actor, conversation_id: int, version: int, note: str) -> None:
        """Close a summary (pressed at `version`) that has been posted: the conversation is
        done."""
        # Stale: finished already (a second post attempt that found the first done).
        with suppress(Stale):
            self._step(
                actor, conversation_id, note, lambda run, *_: run.finish(), pressed_version=version
            )

    def upgrade(self, actor: Actor, conversation_id: int) -> None:
        """Carry over a conversation saved under an older definition, and show it; raises
        Stale if another step won."""
        self._step(actor, conversation_id, "upgrade", _unchanged)

    def cancel_active(self, actor: Actor) -> None:
        """`/partnership cancel`: cancel the check the person has in progress."""
        for _attempt in range(3):
            try:
                self._step(actor, None, "cancel", lambda run, *_: run.cancel(), kind="check")
                return
            except Stale:
                continue  # a press moved it on meanwhile: cancel where it is now

    # --- replies typed in the DM ------------------------------------------------------------

    def typed(self, actor: Actor, channel_id: str, text: str, event_id: str | None) -> None:
        """A reply in the DM that is not a command word: an answer, `back`, `cancel` or
        `done`, to the conversation the person touched last."""
        text = clean(text)
        word = text.strip().lower()
        step = word if word in ("back", "cancel") else "answer"

        def apply(run: FlowRun, *_: object) -> None:
            if step == "back":
                run.back()
            elif step == "cancel":
                run.cancel()
            elif run.current is None:
                raise AnswerError(
                    "This is at its summary: use its buttons to post it, change an answer or "
                    "discard it (or type `back`)."
                )
            elif word == "done" and run.current.more_messages:
                run.done()
            else:
                run.answer(text)

        for _attempt in range(3):
            try:
                outcome = self._step(actor, None, step, apply, event_id=event_id)
            except Stale:
                continue  # a press won the race; apply the typed text to the new state
            if outcome == "none":
                self.notify.nothing_in_progress(channel_id)
            return

    def help_here(self, actor: Actor, channel_id: str) -> None:
        """`help` typed in the DM: help on the tip being asked, else on the whole check."""
        with self.db.reading() as session:
            conversation = lookups.active(session, actor)
            if conversation is not None:
                flow = self.runs.flow_of(conversation)
                run = self.runs.new(flow, conversation.snapshot)
        if conversation is not None and run.current is not None:
            self.notify.tip_help(channel_id, flow, run.current.tip)
        else:
            self.notify.help(channel_id, self.runs.check_flow)

    # --- the step machinery -----------------------------------------------------------------

    def _press(self, actor: Actor, press: Press, step: str, change: Step) -> None:
        try:
            self._step(
                actor,
                press.conversation_id,
                step,
                change,
                expected_version=press.version,
                pressed_version=press.version,
            )
        except Stale:
            self.stale(actor, press.conversation_id)

    def _step(
        self,
        actor: Actor,
        conversation_id: int | None,
        step: str,
        change: Step,
        *,
        expected_version: int | None = None,
        pressed_version: int | None = None,
        event_id: str | None = None,
        kind: str | None = None,
    ) -> str:
        """Apply `change` to the conversation and, if this thread's save wins, tell the
        person.

        `step` names what the person did ("answer", "back", "cancel", "revise", or a note
        to leave in place of the summary): it decides what the old message turns into.
        Returns "done", "invalid" (the answer was refused and the person told why),
        "none" (nothing in progress) or "duplicate" (event already handled).
        Raises Stale when the press is out of date or another step won the race.
        `pressed_version` is the version shown by the message `actor.pressed_ts`, if any.
        """
        try:
            with self.db.unit() as unit:
                connection = unit.connection
                if event_id and not record_event(connection, event_id, actor.team_id):
                    return "duplicate"
                if conversation_id is None:
                    conversation = lookups.active(connection, actor, kind)
                    if conversation is None:
                        return "none"
                else:
                    conversation = lookups.owned(connection, actor, conversation_id)
                    if conversation is None or conversation.status != "active":
                        raise Stale
                if expected_version is not None and conversation.version != expected_version:
                    raise Stale
                flow = self.runs.flow_of(conversation)
                conversation_kind = conversation.kind
                try:
                    run = self.runs.new(flow, conversation.snapshot)
                except FlowError as error:
                    raise _Unreadable(conversation) from error
                migration = run.migration
                if migration is not None and not migration.same_place:
                    change = _unchanged  # the press or reply was for a question that moved
                before = run.current
                invalid: tuple[str, str] | None = None
                try:
                    if step in STEPS:  # not the closing step of the post itself
                        self._refuse_while_posting(connection, conversation)
                    change(run, conversation, unit)
                except (AnswerError, FlowError, Refused) as refused:
                    invalid = (conversation.channel_id, str(refused))
                else:
                    old_ts = _shown_ts(conversation, actor, pressed_version)
                    values = _saved(conversation, flow, run, old_ts)
                    saved = save_step(connection, conversation, values)
                    if saved is None:
                        raise Stale  # another step saved first
                    channel = saved.channel_id
                    if run.state == "cancelled" and saved.reminder_id:
                        reminders.reopen(unit.session, saved.reminder_id, self.runs.clock())
                    # What comes next, from the run in memory: no second load after commit.
                    screen = self._screen(unit, saved, flow, run)
        except _Unreadable as unreadable:
            self._unreadable(unreadable.conversation, step)
            return "invalid"
        if invalid is not None:
            self.notify.refused(*invalid)
            return "invalid"
        moved = migration is not None and not migration.same_place
        if old_ts:
            self.notify.close(channel, old_ts, Closing(flow, step, run, before, moved))
        elif step not in STEPS:  # a closing note with no message recorded yet to carry it
            self.notify.note(channel, step)
        if migration is not None:
            self.notify.upgraded(channel, flow, migration)
        self._present(screen, kind=conversation_kind)
        return "done"

    def _unreadable(self, conversation: ConversationRow, step: str) -> None:
        """A conversation whose snapshot cannot be restored: never a silent failure. Say
        so, and let `cancel` close it so the person can start again."""
        log.error("Cannot restore conversation %s", conversation.id, exc_info=True)
        if step == "cancel":
            with self.db.statements() as connection:
                connection.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation.id)
                    .values(status="finished", state="cancelled", message_ts=None)
                )
        self.notify.cannot_restore(conversation.channel_id, conversation.kind, step == "cancel")

    def _refuse_while_posting(self, connection: Connection, conversation: ConversationRow) -> None:
        """Post pressed, Slack not answered yet: a Discard or a change now would leave the
        person believing one thing while the channel shows another."""
        model = POSTS.get(conversation.kind)  # a partner's view is kept, not posted
        if conversation.state != "summary" or model is None:
            return
        if being_posted(connection, model, conversation.id, self.runs.clock()):
            raise Refused(BEING_POSTED[conversation.kind])

    def show(self, conversation_id: int) -> None:
        """Post the conversation's current question, summary or ending as a new message."""
        with self.db.unit(reading=True) as unit:
            conversation = lookups.by_id(unit.connection, conversation_id)
            if conversation is None:  # never deleted: the caller has the wrong id
                raise LookupError(f"no conversation {conversation_id}")
            flow, kind = self.runs.flow_of(conversation), conversation.kind
            try:
                run = self.runs.new(flow, conversation.snapshot)
            except FlowError:
                log.exception("Cannot restore conversation %s", conversation_id)
                screen = None
            else:
                screen = self._screen(unit, conversation, flow, run)
        if screen is None:
            self.notify.cannot_restore(conversation.channel_id, kind, cancelled=False)
            return
        self._present(screen, kind)

    def _screen(
        self, unit: Unit, conversation: ConversationRow, flow: Flow, run: FlowRun
    ) -> Screen:
        """What to show next. Only a summary or a partner's question needs more than the
        conversation, and opens the unit's session to read it."""
        summary = None
        if run.state == "summary":
            summary = self._summary(unit.session, conversation, flow, run)
        shown: dict[str, Any] = {}
        if conversation.kind == PARTNER and run.current is not None and run.current.shows:
            check = _partner_check(unit.session, conversation)
            shown = self.runs.check_flow.by_role(check_answers(unit.session, self.runs, check))
        return Screen(
            conversation.team_id,
            conversation.channel_id,
            conversation.id,
            conversation.version,
            conversation.kind,
            flow,
            run,
            summary,
            shown,
        )

    def _present(self, screen: Screen, kind: str) -> None:
        """Show `screen` (after the unit of work that saved it), and record which message
        shows it with one UPDATE."""
        run = screen.run
        if run.state == "cancelled":
            self.notify.cancelled(screen.channel, kind)
            return
        if run.state == "done":
            return
        ts = self.notify.show(screen)
        if not ts:  # queued: the step is saved, and the question follows shortly
            return
        try:
            overtaken = self._record_shown(screen, ts)
        except DatabaseUnavailable:
            # The person sees the question; a press on it closes it all the same.
            log.warning(
                "Could not record that message %s shows conversation %s",
                ts,
                screen.conversation_id,
            )
            return
        if overtaken is not None:
            closing = Closing(screen.flow, "overtaken", overtaken, run.current)
            self.notify.close(screen.channel, ts, closing)

    def _record_shown(self, screen: Screen, ts: str) -> FlowRun | None:
        """Record that message `ts` shows the conversation at its version. None when it
        does, or when a press closed it already; else the conversation's run now (a step
        overtook the message while it was being posted, so it must be closed)."""
        at = {"shown_id": screen.conversation_id}
        with self.db.each_committed() as connection:
            # A plain UPDATE: where the message is shown is not a step, so no new version.
            shown = {**at, "shown_version": screen.version, "ts": ts}
            if connection.execute(_RECORD_SHOWN, shown).rowcount:
                return None
            # A press on it closed it already (see `_shown_ts`); typed text could not.
            closed_ts, snapshot = connection.execute(_CLOSED_AND_SNAPSHOT, at).one()
        if ts in (closed_ts or "").split():
            return None
        return self.runs.new(screen.flow, snapshot)

    def _summary(
        self, session: Session, conversation: ConversationRow, flow: Flow, run: FlowRun
    ) -> CheckSummary | ReviewSummary | PartnerSummary:
        if conversation.kind == "review":
            reviewed = session.get_one(Partnership, conversation.partnership_id)
            still_open = tuple(
                line for line in conditions.lines(session, reviewed.id) if line.status == OPEN
            )
            ticked = tuple(str(v) for v in conversation.draft.get(MET_AT_REVIEW, []))
            return ReviewSummary(assess(flow, run.answers), reviewed, still_open, ticked)
        if conversation.kind == PARTNER:
            view = session.get_one(PartnerView, conversation.view_id)
            invitation = invitation_for(self.runs, session, view)
            return PartnerSummary(assess(flow, run.answers), invitation)
        partnership = None
        if conversation.partnership_id is not None:
            partnership = session.get_one(Partnership, conversation.partnership_id)
        check_id = check_of(session, conversation)
        assessment, standing = assessment_of(self.runs, session, check_id, run.answers)
        return CheckSummary(
            assessment,
            conversation.draft.get("channel") or self.default_channel,
            review_plan(flow, run.answers, self.runs.clock, partnership),
            partnership.reference if partnership else None,
            check_id,
            standing,
        )

    def _set_draft(
        self, actor: Actor, press: Press | None, key: str, item: Any, *, merge: bool = False
    ) -> None:
        with self.db.statements() as connection:
            if press is None:
                conversation = lookups.active(connection, actor)
            else:
                conversation = lookups.owned(connection, actor, press.conversation_id)
            if conversation is None or conversation.status != "active":
                return
            if merge:  # several parts of a group, chosen one at a time
                item = {**conversation.draft.get(key, {}), **item}
            connection.execute(
                update(Conversation)
                .where(Conversation.id == conversation.id)
                .values(draft={**conversation.draft, key: item})
            )

    def stale(self, actor: Actor, conversation_id: int, why: str = "stale", **facts: Any) -> None:
        """Tell the presser, and only them, why the press did nothing: `why` ("stale",
        "posted", ...) for their own conversation, or that it is someone else's."""
        with self.db.reading() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is not None and conversation.team_id != actor.team_id:
                conversation = None  # another workspace's: as if there were none
            owner = conversation.user_id if conversation else actor.user_id
            channel = conversation.channel_id if owner == actor.user_id and conversation else None
        if owner != actor.user_id:  # someone else's message: say so, and nothing more
            why, facts = "owner", {"owner": owner}
        self.notify.not_yours(
            channel or self.notify.dm_of(actor.user_id), actor.user_id, why, **facts
        )


# Half-made choices on a summary that outlive a step: where to post, conditions ticked met.
MET_AT_REVIEW = "met_conditions"
KEPT_DRAFT = ("channel", MET_AT_REVIEW)
CLOSED_REMEMBERED = 8  # more steps than anyone takes while one post is in flight


def _shown_ts(
    conversation: ConversationRow, actor: Actor, pressed_version: int | None
) -> str | None:
    """The message showing the conversation as it is before this step, if known."""
    if conversation.message_version == conversation.version:
        return conversation.message_ts
    if actor.pressed_ts and pressed_version == conversation.version:
        return actor.pressed_ts  # pressed before `show` had recorded posting it
    return None


def _saved(
    conversation: ConversationRow, flow: Flow, run: FlowRun, old_ts: str | None
) -> dict[str, Any]:
    """The conversation's columns after a step applied to `run` (`old_ts`, if any, being
    the message the step closes)."""
    values: dict[str, Any] = {
        "snapshot": run.snapshot(),
        "state": run.state,
        "flow_version": str(flow.version),
        "draft": {k: v for k, v in conversation.draft.items() if k in KEPT_DRAFT},
    }
    if old_ts:
        values["closed_ts"] = _remember_closed(conversation.closed_ts, old_ts)
    if run.is_finished:
        values |= {"status": "finished", "message_ts": None}
    return values


def _remember_closed(closed: str | None, ts: str) -> str:
    """`closed` (recent closed messages, newest first) with `ts` added."""
    recent = [ts, *(t for t in (closed or "").split() if t != ts)]
    return " ".join(recent[:CLOSED_REMEMBERED])


def _partner_check(session: Session, conversation: ConversationRow) -> Conversation:
    """The check a partner's questionnaire gives a view of."""
    view = session.get_one(PartnerView, conversation.view_id)
    return session.get_one(Conversation, view.check_id)


def _unchanged(*_: object) -> None:
    """A step that changes nothing: the conversation is only carried over and shown."""
