"""The partnership check as a Slack conversation: Slack actions in, flow steps, messages out.

Every step follows one pattern: in a single unit of work, load the person's conversation,
check the step is still valid (their own conversation, the version on the button is the
current one), apply it to the flow and save; only the thread whose save wins then updates
Slack. So a retried event, a double click or two racing presses change things once and
post once, and an answer is saved before anything is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from flows import AnswerError, Flow, FlowError, FlowRun, Question, assess

from . import blocks
from .blocks import Message
from .db import Database
from .models import Conversation, Partnership, ProcessedEvent, Workspace
from .mrkdwn import escape

log = logging.getLogger(__name__)

# A post claimed this long ago without finishing was interrupted (crash): it may be retaken.
POST_CLAIM_TIMEOUT = timedelta(minutes=2)
CHANNEL_ERRORS = {
    "channel_not_found": "I can't find that channel, or it's private and I'm not in it.",
    "not_in_channel": "I'm not a member of that channel.",
    "is_archived": "That channel is archived.",
}


Step = Callable[[FlowRun, Conversation], None]


class Stale(Exception):
    """The press or message no longer applies: answered already, or another step won."""


class NoChannel(Exception):
    """Post was pressed with no channel picked and no default configured."""

    def __init__(self, dm: str) -> None:
        super().__init__(dm)
        self.dm = dm


@dataclass(frozen=True)
class Actor:
    """Who is acting, and in which workspace: every lookup is scoped by both."""

    team_id: str
    user_id: str


class Checks:
    def __init__(
        self,
        db: Database,
        client: WebClient,
        flow: Flow,
        default_channel: str | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.client = client
        self.flow = flow
        self.default_channel = default_channel
        self.clock = clock

    # --- starting and finding a check ---------------------------------------------------

    def start(self, actor: Actor) -> None:
        """Start a check in the person's DM, or show the one already in progress."""
        channel = self._open_dm(actor.user_id)
        try:
            with self.db.session() as session:
                conversation = self._active(session, actor)
                created = conversation is None
                if created:
                    run = self._run()
                    conversation = Conversation(
                        team_id=actor.team_id,
                        user_id=actor.user_id,
                        channel_id=channel,
                        kind="check",
                        flow_id=self.flow.id,
                        flow_version=str(self.flow.version),
                        state=run.state,
                        snapshot=run.snapshot(),
                        draft={},
                    )
                    session.add(conversation)
        except IntegrityError:
            # Another "new" from the same person won the race: show theirs.
            created = False
        if created:
            self._say(
                channel,
                blocks.notice(
                    "Let's check this partnership, one question at a time. Type `back`, "
                    "`cancel` or `help` whenever you like; leave and come back any time."
                ),
            )
        else:
            self._say(
                channel,
                blocks.notice(
                    "You already have a check in progress; here is where you left off. "
                    "Type `cancel` to drop it and start again."
                ),
            )
        self.show_current(actor)

    def has_active(self, actor: Actor) -> bool:
        with self.db.session() as session:
            return self._active(session, actor) is not None

    def cancel_active(self, actor: Actor) -> None:
        """`/partnership cancel`: cancel whatever check the person has in progress."""
        try:
            self._step(actor, None, "cancel", lambda run, _: run.cancel())
        except Stale:
            self.cancel_active(actor)  # a press moved it on meanwhile: cancel where it is now

    def show_current(self, actor: Actor) -> bool:
        """Post the current question or summary afresh; False when there's no check."""
        with self.db.session() as session:
            conversation = self._active(session, actor)
            if conversation is None:
                return False
            conversation_id = conversation.id
        self._show(conversation_id)
        return True

    # --- steps from button presses ---------------------------------------------------------

    def answer(self, actor: Actor, value: str) -> None:
        """A button or menu answer: `value` is the action value rendered by `blocks`."""
        conversation_id, version, payload = blocks.parse_action_value(value)
        self._press(actor, conversation_id, version, "answer", lambda run, _: run.answer(payload))

    def answer_choices(self, actor: Actor, value: str, selected: list[str] | None) -> None:
        """Continue on a multi-choice question: the ticked boxes (from the payload or draft)."""
        conversation_id, version, _ = blocks.parse_action_value(value)

        def apply(run: FlowRun, conversation: Conversation) -> None:
            # Ticks from the payload, else those remembered as they were made, else (back
            # at a question answered before, nothing changed) the earlier answer.
            chosen = selected
            if chosen is None:
                chosen = conversation.draft.get("choices")
            if chosen is None and run.current is not None:
                chosen = run.answers.get(run.current.id, [])
            run.answer(list(chosen))

        self._press(actor, conversation_id, version, "answer", apply)

    def keep(self, actor: Actor, value: str) -> None:
        """Re-submit the earlier answer of a question reached with Back."""
        conversation_id, version, _ = blocks.parse_action_value(value)

        def apply(run: FlowRun, _: Conversation) -> None:
            if run.current is None or run.current.id not in run.answers:
                raise Stale
            earlier = run.answers[run.current.id]
            run.answer(earlier if isinstance(earlier, list) else str(earlier))

        self._press(actor, conversation_id, version, "answer", apply)

    def back(self, actor: Actor, value: str) -> None:
        conversation_id, version, _ = blocks.parse_action_value(value)
        self._press(actor, conversation_id, version, "back", lambda run, _: run.back())

    def cancel(self, actor: Actor, value: str) -> None:
        conversation_id, version, _ = blocks.parse_action_value(value)
        self._press(actor, conversation_id, version, "cancel", lambda run, _: run.cancel())

    def revise(self, actor: Actor, value: str) -> None:
        conversation_id, version, question_id = blocks.parse_action_value(value)
        self._press(
            actor, conversation_id, version, "revise", lambda run, _: run.revise(question_id)
        )

    def discard(self, actor: Actor, value: str) -> None:
        self.cancel(actor, value)

    def help(self, actor: Actor, value: str) -> None:
        conversation_id, _, tip_id = blocks.parse_action_value(value)
        with self.db.session() as session:
            conversation = self._owned(session, actor, conversation_id)
            channel = conversation.channel_id if conversation else None
        if channel and any(tip.id == tip_id for tip in self.flow.tips):
            self._say(channel, blocks.tip_help(self.flow, tip_id))

    def remember_choices(self, actor: Actor, value: str | None, selected: list[str]) -> None:
        """Ticking boxes is not an answer yet: keep the ticks until Continue."""
        self._set_draft(actor, value, "choices", selected)

    def pick_channel(self, actor: Actor, value: str | None, channel_id: str) -> None:
        self._set_draft(actor, value, "channel", channel_id)

    # --- steps from typed messages ----------------------------------------------------------

    def on_message(self, actor: Actor, channel_id: str, text: str, event_id: str | None) -> None:
        """A message in the DM: a command word, or the answer to a typed question."""
        word = text.strip().lower()
        if word in ("new", "start"):
            if self._first_delivery(event_id, actor):
                self.start(actor)
            return
        if word == "help":
            if self._first_delivery(event_id, actor):
                self._help_here(actor, channel_id)
            return
        if word in ("resume", "continue"):
            if self._first_delivery(event_id, actor) and not self.show_current(actor):
                self._say(channel_id, _nothing_in_progress())
            return

        step = word if word in ("back", "cancel") else "answer"

        def apply(run: FlowRun, _: Conversation) -> None:
            if step == "back":
                run.back()
            elif step == "cancel":
                run.cancel()
            elif run.current is None:
                raise AnswerError(
                    "Your check is at its summary: use its buttons to post it, change an "
                    "answer or discard it (or type `back`)."
                )
            else:
                run.answer(text)

        for _attempt in range(3):
            try:
                outcome = self._step(actor, None, step, apply, event_id=event_id)
            except Stale:
                continue  # a press won the race; apply the typed text to the new state
            if outcome == "none":
                self._say(channel_id, _nothing_in_progress())
            return

    # --- posting ---------------------------------------------------------------------------

    def post(self, actor: Actor, value: str) -> None:
        """Post the recommendation to its channel, once, however often Post is pressed."""
        conversation_id, version, _ = blocks.parse_action_value(value)
        claimed = self._claim_post(actor, conversation_id, version)
        if claimed is None:
            return
        partnership_id, channel, target, summary = claimed
        message, details = summary
        try:
            response = self.client.chat_postMessage(channel=target, **message.as_kwargs())
        except SlackApiError as error:
            self._release_post(partnership_id)
            self._say(channel, _post_failed(target, error.response.get("error", "")))
            return
        posted_channel, ts = response["channel"], response["ts"]
        with self.db.session() as session:
            partnership = session.get_one(Partnership, partnership_id)
            partnership.channel_id = posted_channel
            partnership.message_ts = ts
            partnership.post_state = "posted"
            partnership.posted_at = self.clock()
            reference = partnership.reference
        for reply in details:
            try:
                self.client.chat_postMessage(
                    channel=posted_channel, thread_ts=ts, **reply.as_kwargs()
                )
            except SlackApiError:
                log.exception("Could not add details to %s's thread", reference)
        try:
            self._step(
                actor,
                conversation_id,
                f":white_check_mark: Posted to <#{posted_channel}> as *{reference}*.",
                lambda run, _: run.finish(),
            )
        except Stale:
            log.info("Conversation %s moved on while %s was posted", conversation_id, reference)

    def _claim_post(
        self, actor: Actor, conversation_id: int, version: int
    ) -> tuple[int, str, str, tuple[Message, list[Message]]] | None:
        now = self.clock()
        try:
            with self.db.session() as session:
                conversation = self._owned(session, actor, conversation_id)
                if conversation is None or conversation.state != "summary":
                    raise Stale
                if conversation.version != version:
                    raise Stale
                target = conversation.draft.get("channel") or self.default_channel
                if not target:
                    raise NoChannel(conversation.channel_id)
                run = self._run(conversation.snapshot)
                assessment = assess(self.flow, run.answers)
                partnership = session.scalar(
                    select(Partnership).where(Partnership.conversation_id == conversation_id)
                )
                if partnership is None:
                    partnership = Partnership(
                        team_id=actor.team_id,
                        ref=self._next_ref(session, actor.team_id),
                        conversation_id=conversation_id,
                        owner_id=actor.user_id,
                        post_state="unposted",
                    )
                    session.add(partnership)
                partnership.name = str(run.answers.get("name", "Untitled proposal"))
                partnership.verdict = assessment.verdict
                partnership.assessment = _assessment_record(assessment)
                partnership.answers = dict(run.answers)
                session.flush()
                # The claim itself is one conditional UPDATE: of two racing presses (or two
                # processes), exactly one changes the row.
                claimed = session.execute(
                    update(Partnership)
                    .where(
                        Partnership.id == partnership.id,
                        (Partnership.post_state == "unposted")
                        | (
                            (Partnership.post_state == "posting")
                            & (Partnership.post_claimed_at < now - POST_CLAIM_TIMEOUT)
                        ),
                    )
                    .values(post_state="posting", post_claimed_at=now)
                    .execution_options(synchronize_session=False)
                ).rowcount
                if not claimed:
                    raise Stale
                message = blocks.channel_post(
                    self.flow, partnership.reference, partnership.name, actor.user_id, assessment
                )
                details = blocks.thread_details(self.flow, run.answers, assessment)
                return partnership.id, conversation.channel_id, target, (message, details)
        except NoChannel as missing:
            self._say(
                missing.dm,
                blocks.notice(
                    "Pick a channel to post to in the menu on the summary, then press "
                    "*Post* again. (Your admin can set a default with PARTNERSHIP_CHANNEL.)"
                ),
            )
            return None
        except (Stale, IntegrityError, StaleDataError):
            self._ephemeral_stale(
                actor, conversation_id, "This check is already posted or being posted."
            )
            return None

    def _release_post(self, partnership_id: int) -> None:
        with self.db.session() as session:
            session.get_one(Partnership, partnership_id).post_state = "unposted"

    @staticmethod
    def _next_ref(session: Session, team_id: str) -> int:
        """The workspace's next reference number, atomically (no two checks share one)."""
        bump = (
            update(Workspace)
            .where(Workspace.team_id == team_id)
            .values(last_ref=Workspace.last_ref + 1)
            .returning(Workspace.last_ref)
        )
        ref = session.scalar(bump)
        if ref is None:  # the workspace's first partnership; another thread may race us here
            try:
                with session.begin_nested():
                    session.add(Workspace(team_id=team_id, last_ref=0))
            except IntegrityError:
                pass
            ref = session.scalar(bump)
        return ref

    # --- the step machinery ----------------------------------------------------------------

    def _press(
        self,
        actor: Actor,
        conversation_id: int,
        version: int,
        step: str,
        change: Step,
    ) -> None:
        try:
            self._step(actor, conversation_id, step, change, expected_version=version)
        except Stale:
            self._ephemeral_stale(actor, conversation_id)

    def _step(
        self,
        actor: Actor,
        conversation_id: int | None,
        step: str,
        change: Step,
        *,
        expected_version: int | None = None,
        event_id: str | None = None,
    ) -> str:
        """Apply `change` to the conversation and, if this thread's save wins, update Slack.

        `step` names what the person did ("answer", "back", "cancel", "revise", or a note
        to leave in place of the summary): it decides what the old message turns into.

        Returns "done", "invalid" (the answer was refused and the person told why),
        "none" (no conversation in progress) or "duplicate" (event already handled).
        Raises Stale when the press is out of date or another step won the race.
        """
        try:
            with self.db.session() as session:
                if event_id and not self._record_event(session, event_id, actor):
                    return "duplicate"
                if conversation_id is None:
                    conversation = self._active(session, actor)
                    if conversation is None:
                        return "none"
                else:
                    conversation = self._owned(session, actor, conversation_id)
                    if conversation is None or conversation.status != "active":
                        raise Stale
                if expected_version is not None and conversation.version != expected_version:
                    raise Stale
                run = self._run(conversation.snapshot)
                before = run.current
                try:
                    change(run, conversation)
                except (AnswerError, FlowError) as refused:
                    invalid_channel, reason = conversation.channel_id, str(refused)
                else:
                    invalid_channel = None
                    old_ts = conversation.message_ts
                    conversation.snapshot = run.snapshot()
                    conversation.state = run.state
                    conversation.draft = (
                        {"channel": conversation.draft["channel"]}
                        if ("channel" in conversation.draft)
                        else {}
                    )
                    if run.is_finished:
                        conversation.status = "finished"
                        conversation.message_ts = None
                    session.flush()
                    saved_id = conversation.id
        except StaleDataError as error:
            raise Stale from error
        if invalid_channel is not None:
            self._say(invalid_channel, blocks.notice(f":warning: {escape(reason)}"))
            return "invalid"
        if old_ts:
            self._update(conversation.channel_id, old_ts, self._closing(step, run, before))
        self._show(saved_id)
        return "done"

    def _closing(self, step: str, run: FlowRun, before: Question | None) -> Message:
        """What the message of the step just taken turns into: no buttons left on it."""
        if step == "answer" and before is not None:
            return blocks.answered_message(self.flow, before, run.answers[before.id])
        notes = {"back": "Went back.", "cancel": "Cancelled.", "revise": "Changing an answer…"}
        return blocks.closed_message(notes.get(step, step), before)

    def _show(self, conversation_id: int) -> None:
        """Post the conversation's current question, summary or ending as a new message."""
        with self.db.session() as session:
            conversation = session.get_one(Conversation, conversation_id)
            run = self._run(conversation.snapshot)
            channel, version = conversation.channel_id, conversation.version
            draft_channel = conversation.draft.get("channel")
        if run.state == "cancelled":
            self._say(channel, blocks.notice("Check cancelled. Type `new` to start another."))
            return
        if run.state == "done":
            return
        if run.current is not None:
            message = blocks.question_message(self.flow, run, conversation_id, version)
        else:
            assessment = assess(self.flow, run.answers)
            message = blocks.summary_message(
                self.flow,
                run,
                assessment,
                conversation_id,
                version,
                draft_channel or self.default_channel,
            )
        ts = self._say(channel, message)
        if ts:
            with self.db.session() as session:
                # A plain UPDATE: where the message is shown is not a step, so no new version.
                session.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation_id, Conversation.version == version)
                    .values(message_ts=ts)
                    .execution_options(synchronize_session=False)
                )

    def _set_draft(self, actor: Actor, value: str | None, key: str, item: Any) -> None:
        if value is None:
            with self.db.session() as session:
                conversation = self._active(session, actor)
                conversation_id = conversation.id if conversation else None
        else:
            conversation_id = blocks.parse_action_value(value)[0]
        if conversation_id is None:
            return
        with self.db.session() as session:
            conversation = self._owned(session, actor, conversation_id)
            if conversation is None or conversation.status != "active":
                return
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(draft={**conversation.draft, key: item})
                .execution_options(synchronize_session=False)
            )

    def _help_here(self, actor: Actor, channel_id: str) -> None:
        with self.db.session() as session:
            conversation = self._active(session, actor)
            run = self._run(conversation.snapshot) if conversation else None
        if run is not None and run.current is not None:
            self._say(channel_id, blocks.tip_help(self.flow, run.current.tip))
        else:
            self._say(channel_id, blocks.help_message(self.flow))

    # --- lookups ---------------------------------------------------------------------------

    def _run(self, snapshot: dict[str, Any] | None = None) -> FlowRun:
        return FlowRun(self.flow, snapshot, today=self._today())

    def _today(self) -> date:
        return self.clock().date()

    @staticmethod
    def _active(session: Session, actor: Actor) -> Conversation | None:
        return session.scalar(
            select(Conversation).where(
                Conversation.team_id == actor.team_id,
                Conversation.user_id == actor.user_id,
                Conversation.kind == "check",
                Conversation.status == "active",
            )
        )

    @staticmethod
    def _owned(session: Session, actor: Actor, conversation_id: int) -> Conversation | None:
        """The conversation, only if it is this person's in this workspace."""
        conversation = session.get(Conversation, conversation_id)
        if conversation is None or (conversation.team_id, conversation.user_id) != (
            actor.team_id,
            actor.user_id,
        ):
            return None
        return conversation

    @staticmethod
    def _record_event(session: Session, event_id: str, actor: Actor) -> bool:
        """False if this event was handled before (a Slack retry)."""
        try:
            with session.begin_nested():
                session.add(ProcessedEvent(event_id=event_id, team_id=actor.team_id))
        except IntegrityError:
            return False
        return True

    def _first_delivery(self, event_id: str | None, actor: Actor) -> bool:
        if not event_id:
            return True
        with self.db.session() as session:
            return self._record_event(session, event_id, actor)

    # --- talking to Slack ------------------------------------------------------------------

    def _open_dm(self, user_id: str) -> str:
        return self.client.conversations_open(users=user_id)["channel"]["id"]

    def _say(self, channel: str, message: Message) -> str | None:
        """Post to the DM; a Slack failure is logged, never lost: `resume` shows it again."""
        try:
            return self.client.chat_postMessage(channel=channel, **message.as_kwargs())["ts"]
        except SlackApiError:
            log.exception("Could not post to %s", channel)
            return None

    def _update(self, channel: str, ts: str, message: Message) -> None:
        try:
            self.client.chat_update(channel=channel, ts=ts, **message.as_kwargs())
        except SlackApiError:
            log.warning("Could not update message %s in %s", ts, channel, exc_info=True)

    def _ephemeral_stale(
        self,
        actor: Actor,
        conversation_id: int,
        text: str = "That button belongs to a step you've already taken, so it did nothing. "
        "Carry on from the latest message, or type `resume` to see it again.",
    ) -> None:
        with self.db.session() as session:
            conversation = session.get(Conversation, conversation_id)
            channel = conversation.channel_id if conversation else None
        if channel is None or conversation.user_id != actor.user_id:
            channel = self._open_dm(actor.user_id)
        try:
            self.client.chat_postEphemeral(channel=channel, user=actor.user_id, text=text)
        except SlackApiError:
            log.warning("Could not send an ephemeral message to %s", actor.user_id)


def _assessment_record(assessment: Any) -> dict[str, Any]:
    return {
        "verdict": assessment.verdict,
        "tip_status": dict(assessment.tip_status),
        "flags": [
            {
                "id": f.id,
                "tip": f.tip,
                "severity": f.severity,
                "reason": f.reason,
                "condition": f.condition,
            }
            for f in assessment.flags
        ],
    }


def _nothing_in_progress() -> Message:
    return blocks.notice(
        "You have no check in progress. Type `new` to check a partnership, or `help` to "
        "see how it works."
    )


def _post_failed(target: str, error: str) -> Message:
    where = f"<#{target}>" if target[:1] in "CG" else escape(target)
    reason = CHANNEL_ERRORS.get(error, f"Slack said `{escape(error or 'unknown error')}`.")
    return blocks.notice(
        f":warning: I couldn't post to {where}. {reason}\n"
        f"Invite me there (type `/invite @Partnership Check` in that channel) or pick another "
        "channel on the summary, then press *Post* again. Nothing is lost."
    )
