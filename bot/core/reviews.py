"""Reviews of posted partnerships: started from a reminder or `/partnership review P-12`,
snoozed, ended, and submitted to the thread of the original recommendation.

Its owner and the members of the channel where it was posted may act on a partnership
(start, snooze, end; see `Membership`): reviews are a shared duty of the people who see
the recommendation, and the owner is mentioned when overdue. Anyone else is told there
is no such partnership they can see.
"""

from __future__ import annotations

from collections.abc import Callable, Container

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.core import conditions, lookups, posting, reminder_board, reminders
from bot.core.actors import Actor, Membership, Press
from bot.core.errors import PostRefused
from bot.core.follow_up import Redraw
from bot.core.notifier import Note, ReminderLine, ReviewResult
from bot.core.plans import GOES_AHEAD
from bot.core.recommendations import assessment_record
from bot.core.references import parse_reference, row_id
from bot.core.starting import Starting
from bot.core.steps import MET_AT_REVIEW, Steps
from bot.storage.db import rowcount
from bot.storage.models import Conversation, Partnership, Reminder, Review
from bot.storage.store import POST_CLAIM_TIMEOUT, AlreadyClaimed, claim_post
from flows import Assessment, assess, schedule

# What an adapted partnership changes, and the check's tips to ask again for it.
ADAPT_TIPS = {
    "scope": ("outcomes", "realistic"),
    "form": ("selective", "flexible"),
    "partners": ("selective", "engaged"),
}


class _NotNow(Exception):
    """A press on a reminder that does nothing now, and why (see `Notifier.not_yours`)."""

    def __init__(self, why: str, facts: dict[str, str] | None = None, **more: str) -> None:
        super().__init__(why)
        self.why, self.facts = why, {**(facts or {}), **more}


class Ended(Exception):
    """The partnership was ended (from a reminder) while someone was reviewing it."""


RedrawLater = tuple[str, str, list[ReminderLine]] | None  # a reminder message to redraw

NOT_VISIBLE = (
    "There is no posted partnership P-{number} that you can see. `/partnership list` shows "
    "yours; for others, use the reference shown in the channel where it was posted."
)


class Reviews:
    def __init__(self, steps: Steps, starting: Starting, members: Membership) -> None:
        self.steps, self.starting, self.members = steps, starting, members
        self.db, self.notify, self.runs = steps.db, steps.notify, steps.runs
        self.flow = self.runs.flows["review"]
        self.redraw = Redraw(self.db, self.notify, self.runs)

    # --- starting ---------------------------------------------------------------------------

    def problem_with(self, actor: Actor, text: str) -> str | None:
        """Why `/partnership review <text>` can't start, or None if it can."""
        return self._reviewable(actor, text)[1]

    def start_by_reference(self, actor: Actor, text: str) -> str | None:
        """`/partnership review P-12`: None when started, else what to tell the person."""
        found, problem = self._reviewable(actor, text)
        if found is None:
            return problem
        redraw = None
        with self.db.session() as session:
            partnership = session.get_one(Partnership, found.id)
            if partnership.status == "ended":  # ended meanwhile
                return f"{partnership.reference} has ended; there is nothing to review."
            if (busy := self._busy_with_another(session, actor, partnership.id)) is not None:
                return busy
            reminder = self._open_reminder(session, partnership.id)
            if reminder is not None and reminder.state == "pending":
                reminder.state, reminder.reviewer_id = "reviewing", actor.user_id
                session.flush()
                redraw = self._lines(session, reminder, Note("reviewing", by=actor.user_id))
            reminder_id = reminder.id if reminder is not None else None
        self._redraw(redraw)
        self.starting.review(actor, partnership, reminder_id)
        return None

    def start_from_reminder(self, actor: Actor, reminder_id: str, channel: str) -> None:
        """Start review: the presser reviews it in their DM; the reminder says who is on it."""

        def claim(session: Session, reminder: Reminder, partnership: Partnership) -> Note:
            if (busy := self._busy_with_another(session, actor, partnership.id)) is not None:
                raise _NotNow("busy", text=busy)
            mine = reminder.state == "reviewing" and reminder.reviewer_id == actor.user_id
            if not mine and not rowcount(
                session.execute(
                    update(Reminder)
                    .where(Reminder.id == reminder.id, Reminder.state == "pending")
                    .values(state="reviewing", reviewer_id=actor.user_id)
                    .execution_options(synchronize_session=False)
                )
            ):
                raise _NotNow(*self._gone(reminder))
            return Note("reviewing", by=actor.user_id)

        found = self._on_reminder(actor, reminder_id, channel, None, claim)
        if found is not None:
            self.starting.review(actor, found[1], found[0].id)

    def snooze(self, actor: Actor, reminder_id: str, channel: str, period: str) -> None:
        def snoozed(_session: Session, reminder: Reminder, partnership: Partnership) -> Note:
            reminders.snooze(reminder, partnership, self.runs.clock(), period)
            local = reminder.send_at.astimezone(schedule.zone(partnership.owner_tz))
            return Note("snoozed", actor.user_id, local)

        self._on_reminder(actor, reminder_id, channel, ("pending",), snoozed)

    def end(self, actor: Actor, reminder_id: str, channel: str) -> None:
        def ended(session: Session, _reminder: Reminder, partnership: Partnership) -> Note:
            reminders.end(session, partnership)
            return Note("ended", by=actor.user_id)

        found = self._on_reminder(actor, reminder_id, channel, reminders.OPEN, ended)
        if found is not None:
            self.notify.in_thread(found[1], "ended", by=actor.user_id)

    def _on_reminder(
        self,
        actor: Actor,
        reminder_id: str,
        channel: str,
        states: Container[str] | None,
        act: Callable[[Session, Reminder, Partnership], Note],
    ) -> tuple[Reminder, Partnership] | None:
        """A press on a reminder in the channel: if the presser may act on it and it is in
        one of `states` (any, for None), `act` on it in one unit of work, then redraw its
        message. None, the presser told why, when it did nothing."""
        if not self._may_act_on_reminder(actor, reminder_id):
            self.notify.not_yours(channel, actor.user_id, "members_only")
            return None
        try:
            with self.db.session() as session:
                found = self._reminder(session, actor, reminder_id)
                if found is None or (states is not None and found[0].state not in states):
                    raise _NotNow(*self._gone(found[0] if found else None))
                note = act(session, *found)
                session.flush()
                redraw = self._lines(session, found[0], note)
        except _NotNow as not_now:
            self.notify.not_yours(channel, actor.user_id, not_now.why, **not_now.facts)
            return None
        self._redraw(redraw)
        return found

    # --- submitting ----------------------------------------------------------------------

    def submit(self, actor: Actor, press: Press) -> None:
        """Post the review's result to the recommendation's thread, once; schedule what's next."""
        try:
            claimed = posting.claim(
                self.steps, actor, press, lambda: self._claim(actor, press), "submitted"
            )
        except Ended as ended:
            self.steps.stale(actor, press.conversation_id, "ended", reference=str(ended))
            return
        if claimed is None:
            return
        review_id, result, retaken = claimed

        def refused(_error: PostRefused) -> None:
            posting.release(self.db, Review, review_id)
            self.notify.tell(actor.user_id, "submit_failed")

        posted = posting.post(
            lambda: self.notify.post_review(result, tag=_tag(review_id), look_first=retaken),
            refused,
            f"Review {review_id}",
        )
        if posted is not None:
            self._complete(review_id, posted["ts"], actor)
            if result.met_now:  # the post counts the conditions met
                self.redraw.post(result.partnership.id)

    def _complete(self, review_id: int, ts: str, pressed_by: Actor | None = None) -> None:
        """The review's result is in the thread: record it, close the review's summary (the
        one pressed, when `pressed_by` says), and offer a re-check if it decided to adapt."""
        with self.db.session() as session:
            review = session.get_one(Review, review_id)
            review.post_state, review.message_ts = "posted", ts
            partnership = session.get_one(Partnership, review.partnership_id)
            conversation = session.get_one(Conversation, review.conversation_id)
            actor = pressed_by or Actor(team_id=review.team_id, user_id=review.reviewer_id)
            conversation_id, version = conversation.id, conversation.version
            tips = self._tips_to_recheck(review)
        note = self.notify.posted_note("review", reference=partnership.reference)
        self.steps.finish(actor, conversation_id, version, note)
        if tips:
            titles = [t.title for t in self.runs.check_flow.tips if t.id in tips]
            self.notify.offer_recheck(actor.user_id, partnership, titles)

    def recover(self) -> None:
        """Settle review results left in flight (see Recommendations.recover): found in the
        thread by their tag, they are completed; not there, released, and the reviewer
        told to press Submit again."""
        with self.db.reading() as session:
            stuck = session.execute(
                select(Review, Partnership)
                .join(Partnership, Partnership.id == Review.partnership_id)
                .where(
                    Review.post_state == "posting",
                    Review.post_claimed_at < self.runs.clock() - POST_CLAIM_TIMEOUT,
                )
            ).all()

        def find(row: tuple[Review, Partnership]) -> dict[str, str] | None:
            review, partnership = row
            return self.notify.find(
                partnership.channel_id or "", _tag(review.id), partnership.message_ts
            )

        def release(row: tuple[Review, Partnership]) -> None:
            review, partnership = row
            posting.release(self.db, Review, review.id)
            self.notify.tell(
                review.reviewer_id, "review_interrupted", reference=partnership.reference
            )

        posting.settle(
            [(r, p) for r, p in stuck if p.channel_id and p.message_ts],
            find,
            lambda row, found: self._complete(row[0].id, found["ts"]),
            release,
        )

    def start_recheck(self, actor: Actor, partnership_id: str) -> None:
        """Re-check the tips an adapted partnership changed (from the offer after a review)."""
        with self.db.session() as session:
            number = row_id(partnership_id)
            partnership = session.get(Partnership, number) if number is not None else None
            if partnership is None or partnership.team_id != actor.team_id:
                return
            latest = session.scalars(
                select(Review)
                .where(Review.partnership_id == partnership.id)
                .order_by(Review.id.desc())
                .limit(1)
            ).first()
            tips = self._tips_to_recheck(latest) if latest is not None else []
        dm = self.notify.dm_of(actor.user_id)
        if latest is not None and latest.reviewer_id != actor.user_id:
            # The offer went to the reviewer who decided to adapt it, in their own DM.
            return self.notify.not_yours(
                dm, actor.user_id, "offer_for", reviewer=latest.reviewer_id
            )
        if partnership.status != "active" or not tips:
            return self.notify.not_yours(dm, actor.user_id, "not_adapted")
        self.starting.recheck(actor, partnership, tips)

    def _tips_to_recheck(self, review: Review) -> list[str]:
        if review.decision != "adapt":
            return []
        changed = self.flow.answer_for("adapts", review.answers) or []
        return sorted({tip for what in changed for tip in ADAPT_TIPS.get(what, ())})

    def _claim(self, actor: Actor, press: Press) -> tuple[int, ReviewResult, bool]:
        """Record the review and its consequences, and claim the right to post it."""
        now = self.runs.clock()
        with self.db.session() as session:
            conversation, review = lookups.pressed_summary(
                session, self.runs, actor, press.conversation_id, press.version, Review
            )
            run = self.runs.of(conversation)
            assessment = assess(self.flow, run.answers)
            # Locked until this review's decision is applied: a review ending it and one
            # continuing it, submitted at once, are applied one after the other.
            partnership = session.get_one(
                Partnership, conversation.partnership_id, with_for_update=True
            )
            if partnership.status == "ended":
                raise Ended(partnership.reference)
            met_now: tuple[int, ...] = ()
            if review is None:
                review = self._record(
                    session, actor, press.conversation_id, partnership, run.answers, assessment
                )
                ticked = (row_id(v) for v in conversation.draft.get(MET_AT_REVIEW, []))
                met = [number for number in ticked if number is not None]
                met_now = conditions.reviewed(session, partnership.id, met, actor.user_id, now)
                session.flush()
            # A claim retaken from a process that stopped: its result may be in the thread.
            retaken = review.post_state == "posting"
            if not claim_post(session, Review, review.id, now):
                raise AlreadyClaimed
            result = ReviewResult(
                self.flow,
                partnership,
                actor.user_id,
                run.answers,
                assessment,
                conditions.lines(session, partnership.id),
                met_now,
            )
            return review.id, result, retaken

    def _record(
        self,
        session: Session,
        actor: Actor,
        conversation_id: int,
        partnership: Partnership,
        answers: dict,
        assessment: Assessment,
    ) -> Review:
        """The review happened: its decision takes effect on the schedule straight away."""
        decision = str(self.flow.answer_for("decision", answers))
        review = Review(
            team_id=actor.team_id,
            partnership_id=partnership.id,
            conversation_id=conversation_id,
            reviewer_id=actor.user_id,
            decision=decision,
            answers=dict(answers),
            assessment=assessment_record(assessment),
            post_state="unposted",
        )
        session.add(review)
        today = reminders.local_today(self.runs.clock(), partnership.owner_tz)
        partnership.last_reviewed_on = today
        partnership.last_decision = decision
        if decision == "end":
            reminders.end(session, partnership)
        else:
            reminders.close_open(session, partnership.id, "done")
            reminders.schedule_next(session, partnership, today)
        return review

    # --- lookups -----------------------------------------------------------------------------

    @staticmethod
    def _lines(session: Session, reminder: Reminder, note: Note) -> RedrawLater:
        """The reminder's message as it should show now `note` happened to it."""
        if not (reminder.message_ts and reminder.channel_id):
            return None
        channel, ts = reminder.channel_id, reminder.message_ts
        return channel, ts, reminder_board.lines(session, channel, ts, {reminder.id: note})

    def _redraw(self, later: RedrawLater) -> None:
        if later is not None:
            self.notify.redraw_reminders(*later)

    def _busy_with_another(self, session: Session, actor: Actor, partnership_id: int) -> str | None:
        """One review at a time per person: say so if they are on another one."""
        review = lookups.active(session, actor, "review")
        if review is None or review.partnership_id == partnership_id:
            return None
        reference = session.get_one(Partnership, review.partnership_id).reference
        return (
            f"You are in the middle of reviewing {reference}. Finish it (or type `cancel` in "
            "our DM) before starting another."
        )

    def _reviewable(self, actor: Actor, text: str) -> tuple[Partnership | None, str | None]:
        """The partnership `/partnership review <text>` names, if the person may review it
        now; else None and what to tell them. Someone who may not see it learns nothing
        about it: the answer is the same as for a reference that does not exist."""
        number = parse_reference(text)
        if number is None:
            return None, "Which partnership? Give its reference, e.g. `/partnership review P-12`."
        with self.db.reading() as session:
            partnership = session.scalar(
                select(Partnership).where(
                    Partnership.team_id == actor.team_id,
                    Partnership.ref == number,
                    Partnership.post_state == "posted",
                )
            )
            reminded = partnership is not None and (
                self._open_reminder(session, partnership.id) is not None
            )
        if partnership is None or not self.members.may_act(
            actor.user_id, partnership.owner_id, partnership.channel_id
        ):
            return None, NOT_VISIBLE.format(number=number)
        if partnership.status == "ended":
            return None, f"{partnership.reference} has ended; there is nothing to review."
        if partnership.verdict not in GOES_AHEAD and not reminded:
            return None, (
                f"{partnership.reference} has no reviews: its verdict is {partnership.verdict}, "
                "and reviews are only for a partnership that goes ahead. When things change, "
                f"its proposer can re-check it with `/partnership recheck {partnership.reference}`."
            )
        return partnership, None

    def _may_act_on_reminder(self, actor: Actor, reminder_id: str) -> bool:
        """Whether the presser may act on this reminder's partnership (an unknown reminder
        is left to the caller, which says it has been dealt with)."""
        with self.db.reading() as session:
            found = self._reminder(session, actor, reminder_id, lock=False)
            owner, channel = (found[1].owner_id, found[1].channel_id) if found else ("", None)
        return found is None or self.members.may_act(actor.user_id, owner, channel)

    @staticmethod
    def _open_reminder(session: Session, partnership_id: int) -> Reminder | None:
        return session.scalars(
            select(Reminder)
            .where(Reminder.partnership_id == partnership_id, Reminder.state.in_(reminders.OPEN))
            .order_by(Reminder.due_on)
        ).first()

    @staticmethod
    def _reminder(
        session: Session, actor: Actor, reminder_id: str, lock: bool = True
    ) -> tuple[Reminder, Partnership] | None:
        """The reminder and its partnership, only within the presser's workspace."""
        number = row_id(reminder_id)
        if number is None:
            return None
        reminder = session.get(Reminder, number)
        if reminder is None or reminder.team_id != actor.team_id:
            return None
        partnership = session.get_one(Partnership, reminder.partnership_id, with_for_update=lock)
        if partnership.status != "active":
            return None
        return reminder, partnership

    @staticmethod
    def _gone(reminder: Reminder | None) -> tuple[str, dict[str, str]]:
        """Why a press on a reminder did nothing: someone is on it, or it was dealt with."""
        if reminder is not None and reminder.state == "reviewing" and reminder.reviewer_id:
            return "reviewing", {"reviewer": reminder.reviewer_id}
        return "dealt_with", {}


def _tag(review_id: int) -> str:
    """The tag of a review's result: the same for every attempt to post it."""
    return f"review:{review_id}"
