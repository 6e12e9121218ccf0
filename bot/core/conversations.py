"""Conversations in a person's DM (checks and reviews): Slack input in, flow steps, messages out.

Every step follows one pattern: in a single unit of work, load the person's conversation,
check the step is still valid (their own conversation, the version on the button is the
current one), apply it to the flow and save; only the thread whose save wins then updates
Slack. So a retried event, a double click or two racing presses change things once and
post once, and an answer is saved before anything is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot.core import reminders
from bot.slack import blocks, recommendation_blocks, review_blocks
from bot.slack.blocks import Message
from bot.slack.messenger import Messenger
from bot.slack.mrkdwn import escape
from bot.slack.outbox import Outbox
from bot.storage.db import Database, DatabaseUnavailable, rowcount
from bot.storage.models import Conversation, Partnership, Review
from bot.storage.store import AlreadyClaimed, being_posted, record_event
from flows import AnswerError, Flow, FlowError, FlowRun, Migration, Question, assess, schedule
from flows.answers import clean

log = logging.getLogger(__name__)
Step = Callable[[FlowRun, Conversation], None]
STALE = (
    "That button belongs to a step you've already taken, so it did nothing. Carry on from "
    "the latest message, or type `resume` to see it again."
)

CANCELLED = {
    "check": "Check cancelled. Type `new` to start another.",
    "review": "Review cancelled. Start it again from its reminder or with "
    "`/partnership review` and its reference.",
}

STEPS = ("answer", "back", "cancel", "revise", "upgrade")

CANNOT_RESTORE = (
    ":warning: I can't carry on this {what}: it was saved in a form I no longer "
    "understand. Type `cancel` to drop it, then `new` to start again. Sorry about that."
)


class Stale(Exception):
    """The press or message no longer applies: answered already, or another step won."""


class Refused(Exception):
    """A step that can't be taken just now; the message says why."""


class _Unreadable(Exception):
    """The conversation's snapshot cannot be restored (see `Conversations._unreadable`)."""

    def __init__(self, conversation: Conversation) -> None:
        super().__init__(conversation.id)
        # Read now: the rollback that follows expires the row.
        self.id, self.kind, self.channel = (
            conversation.id,
            conversation.kind,
            conversation.channel_id,
        )


# What each kind of conversation posts once, from its summary.
POSTS: dict[str, type[Partnership] | type[Review]] = {"check": Partnership, "review": Review}
Posted = TypeVar("Posted", Partnership, Review)


BEING_POSTED = {
    "check": "This check is being posted to the channel right now, so it can't be changed "
    "or discarded. I'll confirm here in a moment.",
    "review": "This review is being posted to the recommendation's thread right now, so it "
    "can't be changed or discarded. I'll confirm here in a moment.",
}


@dataclass(frozen=True)
class Actor:
    """Who is acting, and in which workspace: every lookup is scoped by both.

    `pressed_ts` is the message whose button was pressed, if it was a press: it lets a
    step close that message even before the bot has recorded posting it.
    """

    team_id: str
    user_id: str
    pressed_ts: str | None = None


class Conversations:
    def __init__(
        self,
        db: Database,
        messenger: Messenger,
        flows: Mapping[str, Flow],
        default_channel: str | None,
        clock: Callable[[], datetime],
        outbox: Outbox,
    ) -> None:
        self.db = db
        self.slack = messenger
        self.flows = flows
        self.default_channel = default_channel
        self.clock = clock
        self.outbox = outbox

    @property
    def check_flow(self) -> Flow:
        return self.flows["check"]

    # --- starting and finding ---------------------------------------------------------------

    def start_check(self, actor: Actor) -> None:
        """Start a check in the person's DM, or show the one already in progress."""
        self._start(actor, "check", intro=blocks.check_intro(self.check_flow))

    def start_review(
        self, actor: Actor, partnership: Partnership, reminder_id: int | None = None
    ) -> None:
        """Start reviewing `partnership` in the person's DM (or show their review in progress)."""
        self._start(
            actor,
            "review",
            intro=f"Let's review *{partnership.reference} · {escape(partnership.name)}*: "
            "value for cost, progress, changes, engagement, then your decision.",
            partnership_id=partnership.id,
            reminder_id=reminder_id,
        )

    def start_recheck(self, actor: Actor, partnership: Partnership, tips: list[str]) -> None:
        """Re-run some tips of a posted check (an adapted partnership), keeping the rest."""
        run = FlowRun.rerun(self.check_flow, partnership.answers, tips, today=self.clock().date())
        titles = ", ".join(t.title for t in self.check_flow.tips if t.id in tips)
        self._start(
            actor,
            "check",
            intro=f"Let's re-check *{partnership.reference} · {escape(partnership.name)}*: "
            f"the questions of {titles} again; your other answers stay as they were.",
            run=run,
            partnership_id=partnership.id,
        )

    def start_recheck_all(self, actor: Actor, partnership: Partnership) -> None:
        """Re-check a posted partnership from its summary: change any answers, then post
        the new verdict to it (it keeps its reference)."""
        run = FlowRun.at_summary(self.check_flow, partnership.answers, today=self.clock().date())
        self._start(
            actor,
            "check",
            intro=f"Let's re-check *{partnership.reference} · {escape(partnership.name)}*. Here "
            "is where it stands: change any answer with *Change an answer*, then post the update.",
            run=run,
            partnership_id=partnership.id,
        )

    def _start(
        self, actor: Actor, kind: str, intro: str, run: FlowRun | None = None, **links: int | None
    ) -> None:
        channel = self.slack.open_dm(actor.user_id)
        flow = self.flows[kind]
        try:
            with self.db.session() as session:
                existing = self.active(session, actor, kind)
                if existing is None:
                    run = run or self._run(flow)
                    session.add(
                        Conversation(
                            team_id=actor.team_id,
                            user_id=actor.user_id,
                            channel_id=channel,
                            kind=kind,
                            flow_id=flow.id,
                            flow_version=str(flow.version),
                            state=run.state,
                            snapshot=run.snapshot(),
                            draft={},
                            **links,
                        )
                    )
            started = existing is None
        except IntegrityError:
            started = False  # another "new" from the same person won the race
        if started:
            self.slack.say(channel, blocks.notice(intro))
        else:
            what = "check" if kind == "check" else "review"
            self.slack.say(
                channel,
                blocks.notice(
                    f"You already have a {what} in progress; here is where you left off. "
                    "Type `cancel` to drop it and start again."
                ),
            )
        self.show_current(actor, kind)

    def has_active(self, actor: Actor, kind: str = "check") -> bool:
        with self.db.reading() as session:
            return self.active(session, actor, kind) is not None

    def show_current(self, actor: Actor, kind: str | None = None) -> bool:
        """Post the current question or summary afresh; False when there's nothing active.

        A conversation saved under an older definition is carried over first, and the
        person told in a line what changed (see `_step`)."""
        with self.db.reading() as session:
            conversation = self.active(session, actor, kind)
            if conversation is None:
                return False
            conversation_id = conversation.id
            outdated = conversation.flow_version != str(self._flow(conversation).version)
        if outdated:
            with suppress(Stale):
                self._step(actor, conversation_id, "upgrade", lambda run, _: None)
                return True
        self._show(conversation_id)
        return True

    def cancel_active(self, actor: Actor) -> None:
        """`/partnership cancel`: cancel the check the person has in progress."""
        for _attempt in range(3):
            try:
                self._step(actor, None, "cancel", lambda run, _: run.cancel(), kind="check")
                return
            except Stale:
                continue  # a press moved it on meanwhile: cancel where it is now

    # --- steps from button presses ----------------------------------------------------------

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
            run.answer(list(chosen or []))

        self._press(actor, conversation_id, version, "answer", apply)

    def answer_parts(self, actor: Actor, value: str, selected: dict[str, str] | None) -> None:
        """Continue on a group: each part's choice from the payload, else as remembered
        when it was made, else (back at a group answered before) the earlier answer."""
        conversation_id, version, _ = blocks.parse_action_value(value)

        def apply(run: FlowRun, conversation: Conversation) -> None:
            question = run.current
            if question is None:
                raise Stale
            chosen = {**question.value_in(run.answers), **conversation.draft.get("parts", {})}
            run.answer({**chosen, **(selected or {})})

        self._press(actor, conversation_id, version, "answer", apply)

    def list_done(self, actor: Actor, value: str) -> None:
        """Done on a question answered over several messages: keep what was sent."""
        conversation_id, version, _ = blocks.parse_action_value(value)
        self._press(actor, conversation_id, version, "answer", lambda run, _: run.done())

    def answer_date(self, actor: Actor, value: str | None, day: str) -> None:
        """A date picked in the picker of a date question (the message's value is read
        from its buttons, as the picker carries none)."""
        if value:
            conversation_id, version, _ = blocks.parse_action_value(value)
            self._press(actor, conversation_id, version, "answer", lambda run, _: run.answer(day))

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

    def help(self, actor: Actor, value: str) -> None:
        conversation_id, _, tip_id = blocks.parse_action_value(value)
        with self.db.reading() as session:
            conversation = self.owned(session, actor, conversation_id)
            if conversation is None:
                return
            channel, flow = conversation.channel_id, self._flow(conversation)
        if any(tip.id == tip_id for tip in flow.tips):
            self.slack.say(channel, blocks.tip_help(flow, tip_id))

    def remember_choices(self, actor: Actor, value: str | None, selected: list[str]) -> None:
        """Ticking boxes is not an answer yet: keep the ticks until Continue."""
        self._set_draft(actor, value, "choices", selected)

    def remember_part(self, actor: Actor, value: str | None, part_id: str, chosen: str) -> None:
        """A choice within a group is not an answer yet: keep it until Continue."""
        self._set_draft(actor, value, "parts", {part_id: chosen}, merge=True)

    def pick_channel(self, actor: Actor, value: str | None, channel_id: str) -> None:
        self._set_draft(actor, value, "channel", channel_id)

    def complete(
        self, actor: Actor, conversation_id: int, version: int, note: str, change: Step
    ) -> None:
        """Apply a final step at the summary (it must call `run.finish()`), leaving `note`
        on the summary; raises Stale if the press is out of date."""
        self._step(
            actor, conversation_id, note, change, expected_version=version, pressed_version=version
        )

    def finish(self, actor: Actor, conversation_id: int, version: int, note: str) -> None:
        """Close a summary (pressed at `version`) that has been posted: the conversation is
        done."""
        # Stale: finished already (a second post attempt that found the first done).
        with suppress(Stale):
            self._step(
                actor, conversation_id, note, lambda run, _: run.finish(), pressed_version=version
            )

    # --- steps from typed messages ----------------------------------------------------------

    def on_message(self, actor: Actor, channel_id: str, text: str, event_id: str | None) -> None:
        """A message in the DM: a command word, or the answer to a typed question."""
        text = clean(text)
        word = text.strip().lower()
        if word in ("new", "start"):
            if self._first_delivery(event_id, actor):
                self.start_check(actor)
            return
        if word == "help":
            if self._first_delivery(event_id, actor):
                self._help_here(actor, channel_id)
            return
        if word in ("resume", "continue"):
            if self._first_delivery(event_id, actor) and not self.show_current(actor):
                self.slack.say(channel_id, _nothing_in_progress())
            return

        step = word if word in ("back", "cancel") else "answer"

        def apply(run: FlowRun, _: Conversation) -> None:
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
                self.slack.say(channel_id, _nothing_in_progress())
            return

    # --- the step machinery -----------------------------------------------------------------

    def _press(
        self, actor: Actor, conversation_id: int, version: int, step: str, change: Step
    ) -> None:
        try:
            self._step(
                actor,
                conversation_id,
                step,
                change,
                expected_version=version,
                pressed_version=version,
            )
        except Stale:
            self.whisper_stale(actor, conversation_id)

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
        """Apply `change` to the conversation and, if this thread's save wins, update Slack.

        `step` names what the person did ("answer", "back", "cancel", "revise", or a note
        to leave in place of the summary): it decides what the old message turns into.
        Returns "done", "invalid" (the answer was refused and the person told why),
        "none" (nothing in progress) or "duplicate" (event already handled).
        Raises Stale when the press is out of date or another step won the race.
        `pressed_version` is the version shown by the message `actor.pressed_ts`, if any.
        """
        try:
            with self.db.session() as session:
                if event_id and not record_event(session, event_id, actor.team_id):
                    return "duplicate"
                if conversation_id is None:
                    conversation = self.active(session, actor, kind)
                    if conversation is None:
                        return "none"
                else:
                    conversation = self.owned(session, actor, conversation_id)
                    if conversation is None or conversation.status != "active":
                        raise Stale
                if expected_version is not None and conversation.version != expected_version:
                    raise Stale
                flow = self._flow(conversation)
                try:
                    run = self._run(flow, conversation.snapshot)
                except FlowError as error:
                    raise _Unreadable(conversation) from error
                migration = run.migration
                if migration is not None and not migration.same_place:
                    change = _unchanged  # the press or reply was for a question that moved
                before = run.current
                invalid: tuple[str, str] | None = None
                try:
                    if step in STEPS:  # not the closing step of the post itself
                        self._refuse_while_posting(session, conversation)
                    change(run, conversation)
                except (AnswerError, FlowError, Refused) as refused:
                    invalid = (conversation.channel_id, str(refused))
                else:
                    old_ts = self._shown_ts(conversation, actor, pressed_version)
                    if old_ts:
                        conversation.closed_ts = _remember_closed(conversation.closed_ts, old_ts)
                    conversation.snapshot = run.snapshot()
                    conversation.state = run.state
                    conversation.flow_version = str(flow.version)
                    kept = {k: v for k, v in conversation.draft.items() if k == "channel"}
                    conversation.draft = kept
                    if run.is_finished:
                        conversation.status = "finished"
                        conversation.message_ts = None
                    if run.state == "cancelled" and conversation.reminder_id:
                        reminders.reopen(session, conversation.reminder_id, self.clock())
                    session.flush()
                    saved = conversation.id, conversation.channel_id
        except StaleDataError as error:
            raise Stale from error
        except _Unreadable as unreadable:
            self._unreadable(unreadable, step)
            return "invalid"
        if invalid is not None:
            self.slack.say(invalid[0], blocks.notice(f":warning: {escape(invalid[1])}"))
            return "invalid"
        if old_ts:
            self.slack.update(saved[1], old_ts, self._closing(flow, step, run, before, migration))
        elif step not in STEPS:  # a closing note with no message recorded yet to carry it
            self.slack.say(saved[1], blocks.notice(step))
        if migration is not None:
            self.slack.say(saved[1], blocks.notice(blocks.upgraded_note(flow, migration)))
        self._show(saved[0])
        return "done"

    def _unreadable(self, conversation: _Unreadable, step: str) -> None:
        """A conversation whose snapshot cannot be restored: never a silent failure. Say
        so, and let `cancel` close it so the person can start again."""
        log.error("Cannot restore conversation %s", conversation.id, exc_info=True)
        text = CANNOT_RESTORE.format(what=conversation.kind)
        if step == "cancel":
            with self.db.session() as session:
                session.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation.id)
                    .values(status="finished", state="cancelled", message_ts=None)
                    .execution_options(synchronize_session=False)
                )
            text = CANCELLED[conversation.kind]
        self.slack.say(conversation.channel, blocks.notice(text))

    def _refuse_while_posting(self, session: Session, conversation: Conversation) -> None:
        """Post pressed, Slack not answered yet: a Discard or a change now would leave the
        person believing one thing while the channel shows another."""
        if conversation.state != "summary":
            return
        if being_posted(session, POSTS[conversation.kind], conversation.id, self.clock()):
            raise Refused(BEING_POSTED[conversation.kind])

    @staticmethod
    def _shown_ts(
        conversation: Conversation, actor: Actor, pressed_version: int | None
    ) -> str | None:
        """The message showing the conversation as it is before this step, if known."""
        if conversation.message_version == conversation.version:
            return conversation.message_ts
        if actor.pressed_ts and pressed_version == conversation.version:
            return actor.pressed_ts  # pressed before `_show` had recorded posting it
        return None

    @staticmethod
    def _closing(
        flow: Flow,
        step: str,
        run: FlowRun,
        before: Question | None,
        migration: Migration | None = None,
    ) -> Message:
        """What the message of the step just taken turns into: no buttons left on it."""
        if migration is not None and not migration.same_place:
            return blocks.closed_message("The questions have changed: see below.", before)
        if step == "answer" and before is not None and run.current is before and run.pending:
            return blocks.taken_message(flow, before, run.pending)
        if step == "answer" and before is not None and before.is_answered(run.answers):
            return blocks.answered_message(flow, before, before.value_in(run.answers))
        notes = {
            "back": "Went back.",
            "cancel": "Cancelled.",
            "revise": "Changing an answer…",
            "upgrade": "Carried over to the new questions: see below.",
        }
        return blocks.closed_message(notes.get(step, step), before)

    def _show(self, conversation_id: int) -> None:
        """Post the conversation's current question, summary or ending as a new message."""
        with self.db.reading() as session:
            conversation = session.get_one(Conversation, conversation_id)
            flow = self._flow(conversation)
            channel, version = conversation.channel_id, conversation.version
            team = conversation.team_id
            try:
                run = self._run(flow, conversation.snapshot)
            except FlowError:
                log.exception("Cannot restore conversation %s", conversation_id)
                self.slack.say(
                    channel, blocks.notice(CANNOT_RESTORE.format(what=conversation.kind))
                )
                return
            if run.state == "summary":
                message = self._summary(session, conversation, flow, run)
        if run.state == "cancelled":
            self.slack.say(channel, blocks.notice(CANCELLED[conversation.kind]))
            return
        if run.state == "done":
            return
        if run.current is not None:
            message = blocks.question_message(flow, run, conversation_id, version)
        tag = f"show:{conversation_id}:{version}"
        ts = self.slack.say(channel, message, tag=tag)
        if not ts:  # the step is saved: the question follows as soon as Slack takes it
            self.outbox.add(team, channel, message, tag, shows=(conversation_id, version))
            return
        try:
            answers = self._record_shown(conversation_id, version, ts, flow)
        except DatabaseUnavailable:
            # The person sees the question; a press on it closes it all the same.
            log.warning(
                "Could not record that message %s shows conversation %s", ts, conversation_id
            )
            return
        if answers is None:
            return
        question = run.current
        if question is not None and question.is_answered(answers):
            closing = blocks.answered_message(flow, question, question.value_in(answers))
        else:
            closing = blocks.closed_message("Moved on.", question)
        self.slack.update(channel, ts, closing)

    def _record_shown(
        self, conversation_id: int, version: int, ts: str, flow: Flow
    ) -> dict[str, Any] | None:
        """Record that message `ts` shows the conversation at `version`. None when it does,
        or when a press closed it already; else the conversation's answers now (a step
        overtook the message while it was being posted, so it must be closed)."""
        with self.db.session() as session:
            # A plain UPDATE: where the message is shown is not a step, so no new version.
            recorded = rowcount(
                session.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation_id, Conversation.version == version)
                    .values(message_ts=ts, message_version=version)
                    .execution_options(synchronize_session=False)
                )
            )
            if recorded:
                return None
            # A press on it closed it already (see `_shown_ts`); typed text could not.
            moved_on = session.get_one(Conversation, conversation_id)
            if ts in (moved_on.closed_ts or "").split():
                return None
            return self._run(flow, moved_on.snapshot).answers

    def _summary(
        self, session: Session, conversation: Conversation, flow: Flow, run: FlowRun
    ) -> Message:
        assessment = assess(flow, run.answers)
        if conversation.kind == "review":
            reviewed = session.get_one(Partnership, conversation.partnership_id)
            return review_blocks.review_summary(
                flow, run, assessment, reviewed, conversation.id, conversation.version
            )
        partnership = None
        if conversation.partnership_id is not None:
            partnership = session.get_one(Partnership, conversation.partnership_id)
        return recommendation_blocks.summary_message(
            flow,
            run,
            assessment,
            conversation.id,
            conversation.version,
            conversation.draft.get("channel") or self.default_channel,
            self.review_plan(run.answers, partnership),
            partnership.reference if partnership else None,
        )

    def review_plan(
        self, answers: dict[str, Any], partnership: Partnership | None = None
    ) -> recommendation_blocks.ReviewPlan:
        """When a check's partnership would next be reviewed if posted now: its scheduled
        review if it has one, else the first one its answers give."""
        if partnership is not None and partnership.next_review_on and partnership.cadence:
            return recommendation_blocks.ReviewPlan(partnership.next_review_on, partnership.cadence)
        owner_tz = partnership.owner_tz if partnership else None
        today = reminders.local_today(self.clock(), owner_tz)
        facts = self.check_flow.by_role(answers)
        return recommendation_blocks.ReviewPlan(
            schedule.first_review_on(facts, today),
            schedule.effective_cadence(facts.get("review_cadence"), facts.get("form")),
        )

    def _set_draft(
        self, actor: Actor, value: str | None, key: str, item: Any, *, merge: bool = False
    ) -> None:
        conversation_id = blocks.parse_action_value(value)[0] if value else None
        with self.db.session() as session:
            if conversation_id is None:
                conversation = self.active(session, actor)
            else:
                conversation = self.owned(session, actor, conversation_id)
            if conversation is None or conversation.status != "active":
                return
            if merge:  # several parts of a group, chosen one at a time
                item = {**conversation.draft.get(key, {}), **item}
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation.id)
                .values(draft={**conversation.draft, key: item})
                .execution_options(synchronize_session=False)
            )

    def _help_here(self, actor: Actor, channel_id: str) -> None:
        with self.db.reading() as session:
            conversation = self.active(session, actor)
            if conversation is not None:
                flow = self._flow(conversation)
                run = self._run(flow, conversation.snapshot)
        if conversation is not None and run.current is not None:
            self.slack.say(channel_id, blocks.tip_help(flow, run.current.tip))
        else:
            self.slack.say(channel_id, blocks.help_message(self.check_flow))

    def whisper_stale(self, actor: Actor, conversation_id: int, text: str = STALE) -> None:
        with self.db.reading() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is not None and conversation.team_id != actor.team_id:
                conversation = None  # another workspace's: as if there were none
            owner = conversation.user_id if conversation else actor.user_id
            channel = conversation.channel_id if owner == actor.user_id and conversation else None
        if owner != actor.user_id:  # someone else's message: say so, and nothing more
            text = f"This button is for <@{owner}>; it does nothing for you."
        self.slack.whisper(channel or self.slack.open_dm(actor.user_id), actor.user_id, text)

    # --- lookups ----------------------------------------------------------------------------

    def _flow(self, conversation: Conversation) -> Flow:
        return self.flows[conversation.kind]

    def _run(self, flow: Flow, snapshot: dict[str, Any] | None = None) -> FlowRun:
        return FlowRun(flow, snapshot, today=self.clock().date())

    def run_of(self, conversation: Conversation) -> FlowRun:
        return self._run(self._flow(conversation), conversation.snapshot)

    def run_of_conversation(self, conversation_id: int) -> FlowRun | None:
        """The run of a conversation by id; None if it cannot be restored."""
        with self.db.reading() as session:
            conversation = session.get_one(Conversation, conversation_id)
            try:
                return self.run_of(conversation)
            except FlowError:
                return None

    @staticmethod
    def active(session: Session, actor: Actor, kind: str | None = None) -> Conversation | None:
        """The person's active conversation (of `kind`, or the one they touched last)."""
        query = select(Conversation).where(
            Conversation.team_id == actor.team_id,
            Conversation.user_id == actor.user_id,
            Conversation.status == "active",
        )
        if kind is not None:
            query = query.where(Conversation.kind == kind)
        return session.scalars(query.order_by(Conversation.updated_at.desc()).limit(1)).first()

    @staticmethod
    def owned(session: Session, actor: Actor, conversation_id: int) -> Conversation | None:
        """The conversation, only if it is this person's in this workspace."""
        conversation = session.get(Conversation, conversation_id)
        if conversation is None or (conversation.team_id, conversation.user_id) != (
            actor.team_id,
            actor.user_id,
        ):
            return None
        return conversation

    def pressed_summary(
        self,
        session: Session,
        actor: Actor,
        conversation_id: int,
        version: int,
        model: type[Posted],
    ) -> tuple[Conversation, Posted | None]:
        """The person's conversation whose summary was pressed at `version` to post it as a
        `model`, and that row if there is one yet. Raises Stale when the press is out of
        date, AlreadyClaimed when that is because it was posted or is being posted."""
        conversation = self.owned(session, actor, conversation_id)
        if conversation is None or POSTS[conversation.kind] is not model:
            raise Stale
        posted = session.scalar(select(model).where(model.conversation_id == conversation_id))
        if conversation.state != "summary" or conversation.version != version:
            claimed = posted is not None and posted.post_state != "unposted"
            raise AlreadyClaimed if claimed else Stale
        try:
            at_summary = self.run_of(conversation).state == "summary"
        except FlowError:
            at_summary = False
        if not at_summary:  # its definition changed and now it has questions to answer
            raise Stale
        return conversation, posted

    def _first_delivery(self, event_id: str | None, actor: Actor) -> bool:
        if not event_id:
            return True
        with self.db.session() as session:
            return record_event(session, event_id, actor.team_id)


CLOSED_REMEMBERED = 8  # more steps than anyone takes while one post is in flight


def _remember_closed(closed: str | None, ts: str) -> str:
    """`closed` (recent closed messages, newest first) with `ts` added."""
    recent = [ts, *(t for t in (closed or "").split() if t != ts)]
    return " ".join(recent[:CLOSED_REMEMBERED])


def _unchanged(_run: FlowRun, _conversation: Conversation) -> None:
    """A step that changes nothing: the conversation is only carried over and shown."""


def _nothing_in_progress() -> Message:
    return blocks.notice(
        "You have no check in progress. Type `new` to check a partnership, or `help` to "
        "see how it works."
    )
