"""Posting a finished check to its channel: once, however often Post is pressed.

The post is claimed (`store.claim_post`), so of two racing presses (or two processes)
exactly one posts; a channel error releases the claim and tells the person how to fix
it, and a claim left by a crashed process can be retaken after a while.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.exc import StaleDataError

from bot.core import reminders
from bot.core.conversations import Actor, Conversations, Stale
from bot.slack import blocks, recommendation_blocks
from bot.slack.blocks import Message
from bot.slack.messenger import SlackUnreachable
from bot.slack.mrkdwn import escape
from bot.slack.recommendation_blocks import GOES_AHEAD
from bot.slack.reminder_messages import redraw
from bot.slack.subcommands import parse_reference
from bot.storage.models import Conversation, Partnership
from bot.storage.store import POST_CLAIM_TIMEOUT, AlreadyClaimed, claim_post, next_reference
from flows import Assessment, Flow, FlowRun, assess, schedule

log = logging.getLogger(__name__)

CHANNEL_ERRORS = {
    "channel_not_found": "I can't find that channel, or it's private and I'm not in it.",
    "not_in_channel": "I'm not a member of that channel.",
    "is_archived": "That channel is archived.",
}
NO_CHANNEL = (
    "Pick a channel to post to in the menu on the summary, then press *Post* again. "
    "(Your admin can set a default with PARTNERSHIP_CHANNEL.)"
)


class NoChannel(Exception):
    """Post was pressed with no channel picked and no default configured."""


class Recommendations:
    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations
        self.db = conversations.db
        self.slack = conversations.slack
        self.flow = conversations.check_flow
        self.clock = conversations.clock
        self.outbox = conversations.outbox

    def post(self, actor: Actor, value: str) -> None:
        conversation_id, version, _ = blocks.parse_action_value(value)
        with self.db.reading() as session:
            conversation = self.conversations.owned(session, actor, conversation_id)
            update_of = conversation.partnership_id if conversation is not None else None
        if update_of is not None:
            self._post_update(actor, conversation_id, version, update_of)
            return
        owner_tz = self.slack.time_zone(actor.user_id)  # for the first review's date
        try:
            claimed = self._claim(actor, conversation_id, version, owner_tz)
        except NoChannel:
            dm = self.slack.open_dm(actor.user_id)
            self.slack.say(dm, blocks.notice(NO_CHANNEL))
            return
        except Stale:  # discarded or changed since this summary was shown
            self.conversations.whisper_stale(actor, conversation_id)
            return
        except (AlreadyClaimed, IntegrityError, StaleDataError):
            self.conversations.whisper_stale(
                actor, conversation_id, "This check is already posted or being posted."
            )
            return
        partnership_id, dm, target, message, details, retaken = claimed
        try:
            posted = self.slack.post(target, message, tag=_tag(partnership_id), look_first=retaken)
        except SlackApiError as error:
            self._release(partnership_id)
            self.slack.say(dm, _post_failed(target, error.response.get("error", "")))
            return
        except SlackUnreachable:
            # Posted or not, nobody can tell now: the claim stays, and `recover` finds out.
            log.warning("Posting P-%s: no answer from Slack; it will be looked for", partnership_id)
            return
        self._complete(partnership_id, posted, owner_tz, details, actor)

    def _complete(
        self,
        partnership_id: int,
        posted: dict[str, str],
        owner_tz: str | None,
        details: list[Message],
        pressed_by: Actor | None = None,
    ) -> None:
        """The recommendation is in the channel: record it, schedule its reviews, fill its
        thread, and close the summary with where it went (the summary that was pressed,
        when `pressed_by` says which: it may not have been recorded yet)."""
        with self.db.session() as session:
            partnership = session.get_one(Partnership, partnership_id)
            partnership.channel_id = posted["channel"]
            partnership.message_ts = posted["ts"]
            partnership.post_state = "posted"
            partnership.posted_at = self.clock()
            partnership.owner_tz = owner_tz
            facts = self.flow.by_role(partnership.answers)
            partnership.cadence = _cadence(self.flow, partnership.answers)
            if partnership.verdict in GOES_AHEAD:  # only a partnership that goes ahead
                reminders.schedule_first(session, partnership, self.clock(), facts)
            reference, verdict = partnership.reference, partnership.verdict
            conversation = session.get_one(Conversation, partnership.conversation_id)
            actor = pressed_by or Actor(team_id=partnership.team_id, user_id=partnership.owner_id)
            conversation_id, version = conversation.id, conversation.version
        delayed = False
        for n, reply in enumerate(details):
            tag = f"{_tag(partnership_id)}:details:{n}"
            if not self.slack.say(posted["channel"], reply, thread_ts=posted["ts"], tag=tag):
                self.outbox.add(actor.team_id, posted["channel"], reply, tag, posted["ts"])
                delayed = True
        note = f":white_check_mark: Posted to <#{posted['channel']}> as *{reference}*."
        if delayed:
            note += " Slack did not take its answers just now: they follow in its thread shortly."
        if verdict not in GOES_AHEAD:
            note += (
                " No reviews are scheduled for it. When things change, type "
                f"`/partnership recheck {reference}` to change the answers and post its new "
                "verdict."
            )
        self.conversations.finish(actor, conversation_id, version, note)

    def recover(self) -> None:
        """Settle posts left in flight by a process that stopped, or whose outcome Slack
        never told: look for each in its channel by its tag. Found, it is completed as if
        the post had answered; not there, the claim is released and the proposer told to
        press Post again. Only claims older than any post can take are touched."""
        with self.db.reading() as session:
            stuck = session.scalars(
                select(Partnership).where(
                    Partnership.post_state == "posting",
                    Partnership.post_claimed_at < self.clock() - POST_CLAIM_TIMEOUT,
                )
            ).all()
        for partnership in stuck:
            run = self.conversations.run_of_conversation(partnership.conversation_id)
            target = partnership.post_target
            if run is None or not target:
                continue
            try:
                found = self.slack.find(target, _tag(partnership.id))
            except SlackUnreachable:
                continue  # next time
            if found is not None:
                assessment = assess(self.flow, run.answers)
                details = recommendation_blocks.thread_details(self.flow, run.answers, assessment)
                self._complete(partnership.id, found, partnership.owner_tz, details)
                continue
            self._release(partnership.id)
            self.slack.say(
                self.slack.open_dm(partnership.owner_id),
                blocks.notice(
                    f":warning: Posting *{escape(partnership.name)}* was interrupted before it "
                    "reached the channel. Nothing was posted: press *Post* on its summary again."
                ),
            )

    # --- re-checking a posted partnership -------------------------------------------------

    def recheck_problem(self, actor: Actor, text: str) -> str | None:
        """Why `/partnership recheck <text>` can't start, or None if it can."""
        with self.db.reading() as session:
            return self._recheckable(session, actor, text)[1]

    def start_recheck(self, actor: Actor, text: str) -> None:
        with self.db.reading() as session:
            partnership, _ = self._recheckable(session, actor, text)
        if partnership is not None:
            self.conversations.start_recheck_all(actor, partnership)

    @staticmethod
    def _recheckable(
        session: Session, actor: Actor, text: str
    ) -> tuple[Partnership | None, str | None]:
        """The proposer's own posted partnership by reference; anyone else is told only
        that they have none by that reference."""
        number = parse_reference(text)
        if number is None:
            return None, "Which partnership? Give its reference, e.g. `/partnership recheck P-12`."
        reference = f"P-{number}"
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

    def _post_update(
        self, actor: Actor, conversation_id: int, version: int, partnership_id: int
    ) -> None:
        """A re-check of a posted partnership: record it, update its post in place, and
        add the change to its thread. Reviews start if it now goes ahead, and stop if it
        no longer does."""
        updated: list[Any] = []
        stopped: list[tuple[str, str, int]] = []  # reminder messages to close

        def record(run: FlowRun, conversation: Conversation) -> None:
            session = object_session(conversation)
            assert session is not None
            partnership = session.get_one(Partnership, partnership_id)
            assessment = assess(self.flow, run.answers)
            _record(self.flow, partnership, run.answers, assessment)
            partnership.cadence = _cadence(self.flow, run.answers)
            now = self.clock()
            if assessment.verdict not in GOES_AHEAD:
                stopped[:] = reminders.stop(session, partnership)
            elif partnership.next_review_on is None and partnership.status == "active":
                reminders.schedule_first(session, partnership, now, self.flow.by_role(run.answers))
            plan = self.conversations.review_plan(run.answers, partnership)
            if assessment.verdict not in GOES_AHEAD:
                plan = recommendation_blocks.ReviewPlan(None)
            message = recommendation_blocks.channel_post(
                self.flow,
                partnership.reference,
                run.answers,
                partnership.owner_id,
                assessment,
                plan,
            )
            note = blocks.notice(
                f":arrows_counterclockwise: <@{actor.user_id}> re-checked "
                f"{partnership.reference}: the verdict is now *{assessment.verdict}* "
                f"({recommendation_blocks.counts(assessment).lower()}). "
                f"{escape(plan.sentence(assessment.verdict, partnership.reference))}"
            )
            updated[:] = [
                partnership.reference,
                partnership.channel_id,
                partnership.message_ts,
                message,
                [note, *recommendation_blocks.thread_details(self.flow, run.answers, assessment)],
            ]
            run.finish()

        try:
            self.conversations.complete(actor, conversation_id, version, "Posting…", record)
        except Stale:
            self.conversations.whisper_stale(actor, conversation_id, "This update is posted.")
            return
        reference, channel, thread, message, replies = updated
        if channel and thread:
            self.slack.update(channel, thread, message)
        with self.db.reading() as session:
            for reminder_channel, ts, reminder_id in stopped:
                note = f"Re-checked: {reference} no longer goes ahead, so its reviews stop."
                redraw(session, self.slack, reminder_channel, ts, {reminder_id: note})
        dm = self.slack.open_dm(actor.user_id)
        if not (channel and thread):
            self.slack.say(
                dm,
                blocks.notice(
                    f":warning: {reference} is updated, but I can't find its post to add the "
                    "update to. `/partnership list` shows the new verdict."
                ),
            )
            return
        delayed = False
        for n, reply in enumerate(replies):
            tag = f"recheck:{conversation_id}:{n}"
            if not self.slack.say(channel, reply, thread_ts=thread, tag=tag):
                self.outbox.add(actor.team_id, channel, reply, tag, thread)
                delayed = True
        thread_note = (
            "Slack did not take the new answers just now: they follow in its thread shortly."
            if delayed
            else "Its thread has the new answers."
        )
        self.slack.say(
            dm,
            blocks.notice(
                f":white_check_mark: {reference} is updated: its post in <#{channel}> shows "
                f"the new verdict. {thread_note}"
            ),
        )

    def _claim(
        self, actor: Actor, conversation_id: int, version: int, owner_tz: str | None
    ) -> tuple[int, str, str, Message, list[Message], bool]:
        now = self.clock()
        with self.db.session() as session:
            conversation, partnership = self.conversations.pressed_summary(
                session, actor, conversation_id, version, Partnership
            )
            target = conversation.draft.get("channel") or self.conversations.default_channel
            if not target:
                raise NoChannel
            run = self.conversations.run_of(conversation)
            assessment = assess(self.flow, run.answers)
            if partnership is None:
                partnership = Partnership(
                    team_id=actor.team_id,
                    ref=next_reference(session, actor.team_id),
                    conversation_id=conversation_id,
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
            plan = recommendation_blocks.ReviewPlan(
                schedule.first_review_on(
                    self.flow.by_role(run.answers), reminders.local_today(now, owner_tz)
                ),
                _cadence(self.flow, run.answers),
            )
            message = recommendation_blocks.channel_post(
                self.flow, partnership.reference, run.answers, actor.user_id, assessment, plan
            )
            details = recommendation_blocks.thread_details(self.flow, run.answers, assessment)
            return partnership.id, conversation.channel_id, target, message, details, retaken

    def _release(self, partnership_id: int) -> None:
        with self.db.session() as session:
            session.get_one(Partnership, partnership_id).post_state = "unposted"


def _record(
    flow: Flow, partnership: Partnership, answers: dict[str, Any], assessment: Assessment
) -> None:
    """Keep the check's result on its partnership (what listing and reviews read)."""
    partnership.name = recommendation_blocks.name_of(flow, answers)
    partnership.verdict = assessment.verdict or ""
    partnership.assessment = assessment_record(assessment)
    partnership.answers = dict(answers)


def _tag(partnership_id: int) -> str:
    """The tag of a recommendation's post: the same for every attempt to post it."""
    return f"recommendation:{partnership_id}"


def _cadence(flow: Flow, answers: dict[str, Any]) -> str:
    facts = flow.by_role(answers)
    return schedule.effective_cadence(facts.get("review_cadence"), facts.get("form"))


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


def _post_failed(target: str, error: str) -> Message:
    where = f"<#{target}>" if target[:1] in "CG" else escape(target)
    reason = CHANNEL_ERRORS.get(error, f"Slack said `{escape(error or 'unknown error')}`.")
    return blocks.notice(
        f":warning: I couldn't post to {where}. {reason}\n"
        "Invite me there (type `/invite @Partnership Check` in that channel) or pick another "
        "channel on the summary, then press *Post* again. Nothing is lost."
    )
