"""Posting a finished check to its channel: once, however often Post is pressed.

The post is claimed (`store.claim_post`), so of two racing presses (or two processes)
exactly one posts; a channel error releases the claim and tells the person how to fix
it, and a claim left by a crashed process can be retaken after a while.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core import conditions, lookups, posting, reminder_board, reminders
from bot.core.actors import Actor, Press
from bot.core.errors import PostRefused, Stale
from bot.core.follow_up import Redraw, post_tag, recommendation_of
from bot.core.lookups import Runs
from bot.core.notifier import Note, Recommendation, ReminderLine, Standing, Thread
from bot.core.partner_views import assessment_of
from bot.core.plans import GOES_AHEAD, ReviewPlan, cadence_of, name_of
from bot.core.references import parse_reference
from bot.core.starting import Starting
from bot.core.steps import Steps
from bot.storage.db import Unit
from bot.storage.models import Conversation, Partnership, reference_of
from bot.storage.rows import ConversationRow
from bot.storage.store import POST_CLAIM_TIMEOUT, AlreadyClaimed, claim_post, next_reference
from flows import Assessment, Flow, FlowError, FlowRun, schedule


class NoChannel(Exception):
    """Post was pressed with no channel picked and no default configured."""


class Recommendations:
    def __init__(self, steps: Steps, starting: Starting) -> None:
        self.steps, self.starting = steps, starting
        self.db, self.notify, self.runs = steps.db, steps.notify, steps.runs
        self.redraw = Redraw(self.db, self.notify, self.runs)

    @property
    def flow(self) -> Flow:
        return self.runs.check_flow

    def post(self, actor: Actor, press: Press) -> None:
        with self.db.reading() as session:
            conversation = lookups.owned(session, actor, press.conversation_id)
            update_of = conversation.partnership_id if conversation is not None else None
        if update_of is not None:
            self._post_update(actor, press, update_of)
            return
        owner_tz = self.notify.time_zone(actor.user_id)  # for the first review's date
        try:
            claimed = posting.claim(
                self.steps, actor, press, lambda: self._claim(actor, press, owner_tz), "posted"
            )
        except NoChannel:
            self.notify.tell(actor.user_id, "no_channel")
            return
        if claimed is None:
            return
        partnership_id, target, post, retaken = claimed

        def refused(error: PostRefused) -> None:
            posting.release(self.db, Partnership, partnership_id)
            self.notify.tell(actor.user_id, "post_failed", target=target, reason=error.reason)

        posted = posting.post(
            lambda: self.notify.post_recommendation(
                target, post, tag=post_tag(partnership_id), look_first=retaken
            ),
            refused,
            f"Posting partnership {partnership_id}",  # the row, not its P- reference
        )
        if posted is not None:
            self._complete(partnership_id, posted, owner_tz, post, actor)

    def _complete(
        self,
        partnership_id: int,
        posted: dict[str, str],
        owner_tz: str | None,
        post: Recommendation,
        pressed_by: Actor | None = None,
    ) -> None:
        """The recommendation is in the channel: record it, schedule its reviews, fill its
        thread, and close the summary with where it went (the summary that was pressed,
        when `pressed_by` says which: it may not have been recorded yet)."""
        now = self.runs.clock()
        with self.db.session() as session:
            partnership = session.get_one(Partnership, partnership_id)
            partnership.channel_id = posted["channel"]
            partnership.message_ts = posted["ts"]
            partnership.post_state = "posted"
            partnership.posted_at = now
            partnership.owner_tz = owner_tz
            partnership.cadence = cadence_of(self.flow, partnership.answers)
            if partnership.verdict in GOES_AHEAD:  # only a partnership that goes ahead
                reminders.schedule_first(
                    session, partnership, now, self.flow.by_role(partnership.answers)
                )
            conditions.sync(session, partnership, post.assessment, now)
            session.flush()
            post = replace(post, conditions=conditions.lines(session, partnership.id))
            reference, verdict = partnership.reference, partnership.verdict
            conversation = session.get_one(Conversation, partnership.conversation_id)
            actor = pressed_by or Actor(team_id=partnership.team_id, user_id=partnership.owner_id)
            conversation_id, version = conversation.id, conversation.version
        at = Thread(actor.team_id, posted["channel"], posted["ts"])
        on_time = self.notify.fill_thread(at, post, tag=post_tag(partnership_id))
        note = self.notify.posted_note(
            "recommendation",
            channel=posted["channel"],
            reference=reference,
            on_time=on_time,
            goes_ahead=verdict in GOES_AHEAD,
        )
        self.steps.finish(actor, conversation_id, version, note)

    def recover(self) -> None:
        """Settle posts left in flight by a process that stopped, or whose outcome Slack
        never told: look for each in its channel by its tag. Found, it is completed as if
        the post had answered; not there, the claim is released and the proposer told to
        press Post again. Only claims older than any post can take are touched."""
        with self.db.reading() as session:
            stuck = session.scalars(
                select(Partnership).where(
                    Partnership.post_state == "posting",
                    Partnership.post_claimed_at < self.runs.clock() - POST_CLAIM_TIMEOUT,
                )
            ).all()
            runs = {}
            for partnership in stuck:
                try:
                    conversation = session.get_one(Conversation, partnership.conversation_id)
                    runs[partnership.id] = self.runs.of(conversation)
                except FlowError:
                    continue

        def find(partnership: Partnership) -> dict[str, str] | None:
            return self.notify.find(partnership.post_target or "", post_tag(partnership.id))

        def complete(partnership: Partnership, found: dict[str, str]) -> None:
            answers = runs[partnership.id].answers
            post = self._recommendation(partnership, answers, partnership.owner_id)
            self._complete(partnership.id, found, partnership.owner_tz, post)

        def release(partnership: Partnership) -> None:
            posting.release(self.db, Partnership, partnership.id)
            self.notify.tell(partnership.owner_id, "post_interrupted", name=partnership.name)

        settling = [p for p in stuck if p.id in runs and p.post_target]
        posting.settle(settling, find, complete, release)

    # --- re-checking a posted partnership -------------------------------------------------

    def recheck_problem(self, actor: Actor, text: str) -> str | None:
        """Why `/partnership recheck <text>` can't start, or None if it can."""
        with self.db.reading() as session:
            return self._recheckable(session, actor, text)[1]

    def start_recheck(self, actor: Actor, text: str) -> None:
        with self.db.reading() as session:
            partnership, _ = self._recheckable(session, actor, text)
        if partnership is not None:
            self.starting.recheck_all(actor, partnership)

    @staticmethod
    def _recheckable(
        session: Session, actor: Actor, text: str
    ) -> tuple[Partnership | None, str | None]:
        """The proposer's own posted partnership by reference; anyone else is told only
        that they have none by that reference."""
        number = parse_reference(text)
        if number is None:
            return None, "Which partnership? Give its reference, e.g. `/partnership recheck P-12`."
        reference = reference_of(number)
        partnership = session.scalar(
            select(Partnership).where(
                Partnership.team_id == actor.team_id,
                Partnership.ref == number,
                Partnership.owner_id == actor.user_id,
                Partnership.post_state == "posted",
            )
        )
        if partnership is None:
            return None, (
                f"You have no posted partnership {reference}. `/partnership list` shows yours; "
                "only the person who proposed a partnership can re-check it."
            )
        if partnership.status == "ended":
            return None, f"{reference} has ended; start a new check with `/partnership new`."
        return partnership, None

    def _post_update(self, actor: Actor, press: Press, partnership_id: int) -> None:
        """A re-check of a posted partnership: record it, update its post in place, and
        add the change to its thread. Reviews start if it now goes ahead, and stop if it
        no longer does."""
        updated: list[Any] = []

        def record(run: FlowRun, conversation: ConversationRow, unit: Unit) -> None:
            session = unit.session
            partnership = session.get_one(Partnership, partnership_id)
            check_id = partnership.conversation_id
            assessed = assessment_of(self.runs, session, check_id, run.answers)
            closed = reassess(self.runs, session, partnership, run.answers, assessed[0])
            post = recommendation_of(self.runs, session, partnership, assessed)
            updated[:] = [partnership.channel_id, partnership.message_ts, post, closed]
            run.finish()

        posting = self.notify.posted_note("posting")
        try:
            self.steps.complete(actor, press, posting, record)
        except Stale:
            self.steps.stale(actor, press.conversation_id, "update_posted")
            return
        channel, thread, post, closed = updated
        if channel and thread:
            self.redraw.post(partnership_id)  # the post, and its conditions in the thread
        for reminder_channel, ts, lines in closed:
            self.notify.redraw_reminders(reminder_channel, ts, lines)
        if not (channel and thread):
            self.notify.tell(actor.user_id, "recheck_no_post", reference=post.reference)
            return
        at = Thread(actor.team_id, channel, thread)
        tag = f"recheck:{press.conversation_id}"
        on_time = self.notify.fill_thread(at, post, tag=tag, by=actor.user_id)
        self.notify.tell(
            actor.user_id, "rechecked", reference=post.reference, channel=channel, on_time=on_time
        )

    def _claim(
        self, actor: Actor, press: Press, owner_tz: str | None
    ) -> tuple[int, str, Recommendation, bool]:
        now = self.runs.clock()
        with self.db.session() as session:
            conversation, partnership = lookups.pressed_summary(
                session, self.runs, actor, press.conversation_id, press.version, Partnership
            )
            target = conversation.draft.get("channel") or self.steps.default_channel
            if not target:
                raise NoChannel
            run = self.runs.of(conversation)
            assessment, standing = assessment_of(
                self.runs, session, press.conversation_id, run.answers
            )
            if partnership is None:
                partnership = Partnership(
                    team_id=actor.team_id,
                    ref=next_reference(session, actor.team_id),
                    conversation_id=press.conversation_id,
                    owner_id=actor.user_id,
                    post_state="unposted",
                )
                session.add(partnership)
            _record(self.flow, partnership, run.answers, assessment)
            # A claim retaken from a process that stopped: its post may be in the channel.
            retaken = partnership.post_state == "posting"
            partnership.post_target = target
            partnership.owner_tz = owner_tz
            session.flush()
            if not claim_post(session, Partnership, partnership.id, now):
                raise AlreadyClaimed
            post = self._recommendation(
                partnership, run.answers, actor.user_id, (assessment, standing)
            )
            return partnership.id, target, post, retaken

    def _recommendation(
        self,
        partnership: Partnership,
        answers: dict[str, Any],
        owner_id: str,
        assessed: tuple[Assessment, Standing] | None = None,
    ) -> Recommendation:
        """What the channel is told about a partnership about to be posted, with every
        partner's view sent so far (looked up when `assessed` does not give it)."""
        if assessed is None:
            with self.db.reading() as session:
                assessed = assessment_of(self.runs, session, partnership.conversation_id, answers)
        plan = ReviewPlan(
            schedule.first_review_on(
                self.flow.by_role(answers),
                reminders.local_today(self.runs.clock(), partnership.owner_tz),
            ),
            cadence_of(self.flow, answers),
        )
        return Recommendation(
            self.flow,
            partnership.reference,
            answers,
            owner_id,
            assessed[0],
            plan,
            partnership.conversation_id,
            assessed[1],
        )


def _record(
    flow: Flow, partnership: Partnership, answers: dict[str, Any], assessment: Assessment
) -> None:
    """Keep the check's result on its partnership (what listing and reviews read)."""
    partnership.name = name_of(flow, answers)
    partnership.verdict = assessment.verdict or ""
    partnership.assessment = assessment_record(assessment)
    partnership.answers = dict(answers)


def reassess(
    runs: Runs,
    session: Session,
    partnership: Partnership,
    answers: dict[str, Any],
    assessment: Assessment,
) -> list[tuple[str, str, list[ReminderLine]]]:
    """A posted partnership's answers or partners' views changed: keep its new assessment
    on it; its conditions follow its flags; its reviews start if it now goes ahead, and
    stop if it no longer does. Returns the reminder messages showing it, as they must be
    redrawn (closed) once this unit of work commits."""
    flow = runs.check_flow
    _record(flow, partnership, answers, assessment)
    partnership.cadence = cadence_of(flow, answers)
    now = runs.clock()
    conditions.sync(session, partnership, assessment, now)
    if assessment.verdict in GOES_AHEAD:
        if partnership.next_review_on is None and partnership.status == "active":
            reminders.schedule_first(session, partnership, now, flow.by_role(answers))
        return []
    stops = Note("no_longer_ahead", reference=partnership.reference)
    return [
        (channel, ts, reminder_board.lines(session, channel, ts, {reminder_id: stops}))
        for channel, ts, reminder_id in reminders.stop(session, partnership)
    ]


def assessment_record(assessment: Assessment) -> dict[str, Any]:
    """An assessment as stored: enough to render it again without the flow's rules."""
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
                "basis": f.basis,
            }
            for f in assessment.flags
        ],
        "not_sure": assessment.not_sure,
        "too_early": assessment.too_early,
    }
