"""Posting a finished check to its channel: once, however often Post is pressed.

The post is claimed (`store.claim_post`), so of two racing presses (or two processes)
exactly one posts; a channel error releases the claim and tells the person how to fix
it, and a claim left by a crashed process can be retaken after a while.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import object_session
from sqlalchemy.orm.exc import StaleDataError

from flows import Assessment, FlowRun, assess, schedule

from . import blocks, reminders
from .blocks import Message
from .conversations import Actor, Conversations, Stale
from .models import Conversation, Partnership
from .mrkdwn import escape
from .store import AlreadyClaimed, claim_post, next_reference

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

    def post(self, actor: Actor, value: str) -> None:
        conversation_id, version, _ = blocks.parse_action_value(value)
        with self.db.reading() as session:
            conversation = self.conversations.owned(session, actor, conversation_id)
            update_of = conversation.partnership_id if conversation is not None else None
        if update_of is not None:
            self._post_update(actor, conversation_id, version, update_of)
            return
        try:
            claimed = self._claim(actor, conversation_id, version)
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
        partnership_id, dm, target, message, details = claimed
        try:
            posted = self.slack.post(target, message)
        except SlackApiError as error:
            self._release(partnership_id)
            self.slack.say(dm, _post_failed(target, error.response.get("error", "")))
            return
        owner_tz = self.slack.time_zone(actor.user_id)
        with self.db.session() as session:
            partnership = session.get_one(Partnership, partnership_id)
            partnership.channel_id = posted["channel"]
            partnership.message_ts = posted["ts"]
            partnership.post_state = "posted"
            partnership.posted_at = self.clock()
            partnership.owner_tz = owner_tz
            reminders.schedule_first(session, partnership, self.clock())
            reference = partnership.reference
        for reply in details:
            if not self.slack.say(posted["channel"], reply, thread_ts=posted["ts"]):
                log.error("Could not add details to %s's thread", reference)
        self.conversations.finish(
            actor,
            conversation_id,
            version,
            f":white_check_mark: Posted to <#{posted['channel']}> as *{reference}*.",
        )

    def _post_update(
        self, actor: Actor, conversation_id: int, version: int, partnership_id: int
    ) -> None:
        """A re-check of a posted partnership: record it, then add it to its thread."""
        with self.db.session() as session:
            partnership = session.get_one(Partnership, partnership_id)
            reference, channel, thread = (
                partnership.reference,
                partnership.channel_id,
                partnership.message_ts,
            )
        posts: list[Message] = []

        def record(run: FlowRun, conversation: Conversation) -> None:
            session = object_session(conversation)
            assert session is not None
            partnership = session.get_one(Partnership, partnership_id)
            assessment = assess(self.flow, run.answers)
            partnership.name = str(run.answers.get("name", partnership.name))
            partnership.verdict = assessment.verdict or ""
            partnership.assessment = assessment_record(assessment)
            partnership.answers = dict(run.answers)
            partnership.cadence = schedule.effective_cadence(
                run.answers.get("review_cadence"), run.answers.get("form")
            )
            message = blocks.channel_post(
                self.flow, reference, partnership.name, actor.user_id, assessment
            )
            posts[:] = [
                blocks.Message("Updated " + message.text, message.blocks),
                *blocks.thread_details(self.flow, run.answers, assessment),
            ]
            run.finish()

        note = f":white_check_mark: {reference} is updated; its thread shows the new verdict."
        try:
            self.conversations.complete(actor, conversation_id, version, note, record)
        except Stale:
            self.conversations.whisper_stale(actor, conversation_id, "This update is posted.")
            return
        if not (channel and thread) or not all(
            self.slack.say(channel, post, thread_ts=thread) for post in posts
        ):
            self.slack.say(
                self.slack.open_dm(actor.user_id),
                blocks.notice(
                    f":warning: {reference} is updated, but I couldn't post the update in its "
                    "thread. Check I'm still in that channel; `/partnership list` shows the "
                    "new verdict."
                ),
            )

    def _claim(
        self, actor: Actor, conversation_id: int, version: int
    ) -> tuple[int, str, str, Message, list[Message]]:
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
            partnership.name = str(run.answers.get("name", "Untitled proposal"))
            partnership.verdict = assessment.verdict or ""
            partnership.assessment = assessment_record(assessment)
            partnership.answers = dict(run.answers)
            session.flush()
            if not claim_post(session, Partnership, partnership.id, now):
                raise AlreadyClaimed
            message = blocks.channel_post(
                self.flow, partnership.reference, partnership.name, actor.user_id, assessment
            )
            details = blocks.thread_details(self.flow, run.answers, assessment)
            return partnership.id, conversation.channel_id, target, message, details

    def _release(self, partnership_id: int) -> None:
        with self.db.session() as session:
            session.get_one(Partnership, partnership_id).post_state = "unposted"


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
            }
            for f in assessment.flags
        ],
    }


def _post_failed(target: str, error: str) -> Message:
    where = f"<#{target}>" if target[:1] in "CG" else escape(target)
    reason = CHANNEL_ERRORS.get(error, f"Slack said `{escape(error or 'unknown error')}`.")
    return blocks.notice(
        f":warning: I couldn't post to {where}. {reason}\n"
        "Invite me there (type `/invite @Partnership Check` in that channel) or pick another "
        "channel on the summary, then press *Post* again. Nothing is lost."
    )
