"""The core's notices as Slack messages: Block Kit rendered here, sent with the Messenger.

The core calls these only after its unit of work has committed (bot/core/notifier.py).
Everything the person reads that depends on Slack's markup (mentions, channel links,
bold) is written here; user text is escaped by the renderers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.core.errors import PostRefused, PostUnknown
from bot.core.follow_up import follow_up_tag
from bot.core.notifier import (
    CheckSummary,
    Closing,
    ConditionLine,
    Intro,
    Invitation,
    Invitees,
    Note,
    PartnerSummary,
    Recommendation,
    ReminderLine,
    ReviewResult,
    Screen,
    Standing,
    Thread,
)
from bot.slack import (
    blocks,
    condition_blocks,
    partner_blocks,
    recommendation_blocks,
    review_blocks,
)
from bot.slack.blocks import Message
from bot.slack.messenger import Messenger, SlackUnreachable
from bot.slack.mrkdwn import escape
from bot.slack.outbox import Outbox
from bot.storage.models import Partnership
from flows import Flow, Migration

STALE = (
    "That button belongs to a step you've already taken, so it did nothing. Carry on from "
    "the latest message, or type `resume` to see it again."
)
CANCELLED = {
    "check": "Check cancelled. Type `new` to start another.",
    "partner": "Stopped. Your answers were not sent; press *Start* on the invitation to "
    "give your organisation's view after all.",
    "review": "Review cancelled. Start it again from its reminder or with "
    "`/partnership review` and its reference.",
}
CANNOT_RESTORE = (
    ":warning: I can't carry on this {what}: it was saved in a form I no longer "
    "understand. Type `cancel` to drop it, then `new` to start again. Sorry about that."
)
NOTHING_IN_PROGRESS = (
    "You have no check in progress. Type `new` to check a partnership, or `help` to "
    "see how it works."
)
# Why a press did nothing, said only to the presser.
NOT_YOURS = {
    "members_only": "Only members of the channel where this partnership was posted can "
    "review, snooze or end it. Join the channel first.",
    "busy": "{text}",
    "reviewing": "<@{reviewer}> is already reviewing this one.",
    "dealt_with": "This reminder has already been dealt with, so that button did nothing.",
    "offer_for": "This button is for <@{reviewer}>, who reviewed it.",
    "not_adapted": "Its latest review did not adapt it.",
    "stale": STALE,
    "owner": "This button is for <@{owner}>; it does nothing for you.",
    "posted": "This check is already posted or being posted.",
    "submitted": "This review is already submitted or being submitted.",
    "ended": "{reference} was ended while you reviewed it, so there is nothing to submit. "
    "Press Discard to close this review.",
    "update_posted": "This update is posted.",
    "invite_owner": "Only <@{owner}>, who proposed it, can invite partners to give their views.",
    "view_for": "This invitation is for <@{invitee}>; only they can answer it.",
    "view_sent": "This view has been sent already, so that button did nothing.",
    "check_gone": "This check was discarded by its proposer, so there is nothing to answer.",
    "condition_done": "This condition is {status} already, so that did nothing.",
    "drop_why": "Say why it is dropped (type the reason, then press Enter); nothing changed.",
}
CHANNEL_ERRORS = {
    "channel_not_found": "I can't find that channel, or it's private and I'm not in it.",
    "not_in_channel": "I'm not a member of that channel.",
    "is_archived": "That channel is archived.",
}
LATER = "Slack did not take its answers just now: they follow in its thread shortly."


def _post_failed(target: str, reason: str) -> str:
    where = f"<#{target}>" if target[:1] in "CG" else escape(target)
    said = CHANNEL_ERRORS.get(reason, f"Slack said `{escape(reason or 'unknown error')}`.")
    return (
        f":warning: I couldn't post to {where}. {said}\n"
        "Invite me there (type `/invite @Partnership Check` in that channel) or pick another "
        "channel on the summary, then press *Post* again. Nothing is lost."
    )


def _rechecked(reference: str, channel: str, on_time: bool) -> str:
    thread = (
        "Its thread has the new answers."
        if on_time
        else "Slack did not take the new answers just now: they follow in its thread shortly."
    )
    return (
        f":white_check_mark: {reference} is updated: its post in <#{channel}> shows the new "
        f"verdict. {thread}"
    )


def _posted(channel: str, reference: str, on_time: bool, goes_ahead: bool) -> str:
    note = f":white_check_mark: Posted to <#{channel}> as *{reference}*."
    if not on_time:
        note += f" {LATER}"
    if not goes_ahead:
        note += (
            " No reviews are scheduled for it. When things change, type "
            f"`/partnership recheck {reference}` to change the answers and post its new verdict."
        )
    return note


# What the person is told in their DM, by what happened.
TELL: dict[str, Callable[..., str]] = {
    "no_channel": lambda: (
        "Pick a channel to post to in the menu on the summary, then press "
        "*Post* again. (Your admin can set a default with PARTNERSHIP_CHANNEL.)"
    ),
    "post_failed": _post_failed,
    "post_interrupted": lambda name: (
        f":warning: Posting *{escape(name)}* was interrupted "
        "before it reached the channel. Nothing was posted: press *Post* on its summary again."
    ),
    "recheck_no_post": lambda reference: (
        f":warning: {reference} is updated, but I can't find "
        "its post to add the update to. `/partnership list` shows the new verdict."
    ),
    "rechecked": _rechecked,
    "submit_failed": lambda: (
        ":warning: I couldn't post the review to the recommendation's thread. Check I'm "
        "still in that channel, then press *Submit review* again. Nothing is lost."
    ),
    "view_in": lambda organisation, standing: (
        f":incoming_envelope: *{escape(organisation)}* has sent its view. Your summary "
        f"includes it. {_standing(standing)}"
    ),
    "view_in_posted": lambda organisation, standing, reference: (
        f":incoming_envelope: *{escape(organisation)}* has sent its view of {reference}: its "
        f"post is updated with it. {_standing(standing)}"
    ),
    "view_handed_on": lambda by, to, organisation: (
        f"<@{by}> says <@{to}> should give *{escape(organisation)}*'s view instead; I've "
        "asked them."
    ),
    "view_declined": lambda by, to, organisation: (
        f"<@{by}> is not the one to give *{escape(organisation)}*'s view and doesn't know "
        "who is. Press *Invite partners* on your check to ask someone else."
    ),
    "invite_failed": lambda to, organisation: (
        f":warning: I couldn't send <@{to}> the invitation to give *{escape(organisation)}*'s "
        "view (Slack refused it). Pick someone else, or try again later."
    ),
    "view_missing": lambda to, organisation, name: (
        f"<@{to}> has not given *{escape(organisation)}*'s view of *{escape(name)}* after two "
        "reminders. Ask them directly, or press *Invite partners* to ask someone else."
    ),
    "condition_given": lambda by, text, channel, reference: (
        f"<@{by}> gave you a condition of {reference} in <#{channel}>: *{escape(text)}* "
        "Mark it met from its thread once it is."
    ),
    "review_interrupted": lambda reference: (
        f":warning: Submitting your review of {reference} "
        "was interrupted before it reached the thread. Nothing was posted: press *Submit review* "
        "on it again."
    ),
}
POSTED_NOTE: dict[str, Callable[..., str]] = {
    "posting": lambda: "Posting…",
    "recommendation": _posted,
    "view": lambda proposer: (
        f":white_check_mark: Sent to <@{proposer}>. Thank you: your view is part of the check now."
    ),
    "review": lambda reference: f":white_check_mark: Review of {reference} posted in its thread.",
}
IN_THREAD: dict[str, Callable[..., str]] = {
    "view_in": lambda reference, organisation, standing, verdict: (
        f":incoming_envelope: *{escape(organisation)}* has sent its view of {reference}. "
        f"Verdict with every view so far: *{verdict}*. {_standing(standing)}"
    ),
    "ended": lambda reference, by: (
        f"{reference} was ended by <@{by}> from its review "
        "reminder. Follow its exit arrangements for shared staff, money and data."
    ),
}


def _standing(standing: Standing) -> str:
    """The partners' line inside a sentence: no bold label."""
    return recommendation_blocks.standing_line(standing, bold=False)


# What a partner's invitation turns into, by what happened to it.
INVITATION_CLOSED: dict[str, Callable[..., str]] = {
    "moved": lambda proposer: f"<@{proposer}> asked someone else instead. Thank you all the same.",
    "handed_on": lambda to, proposer: f"Passed to <@{to}>; <@{proposer}> has been told. Thank you.",
    "declined": lambda to, proposer: (
        f"Noted: you're not the one to answer. <@{proposer}> has been told."
    ),
}


def note_text(note: Note | None) -> str | None:
    """What happened to a reminder, as its message says it."""
    if note is None:
        return None
    by = f" by <@{note.by}>" if note.by else ""
    if note.kind == "reviewing":
        return f"<@{note.by}> is reviewing it now."
    if note.kind == "reviewed":
        return "Reviewed."
    if note.kind == "ended":
        return f"Ended{by}. Reminders have stopped."
    if note.kind == "snoozed" and note.until is not None:
        return f"Snoozed{by} until {note.until.strftime('%A %-d %B')}."
    if note.kind == "reminded_again":
        return "Reminded again below."
    if note.kind == "no_longer_ahead":
        return f"{note.reference} no longer goes ahead (its verdict changed), so its reviews stop."
    return None


# What closing a step leaves on its message.
CLOSED = {
    "back": "Went back.",
    "cancel": "Cancelled.",
    "revise": "Changing an answer…",
    "upgrade": "Carried over to the new questions: see below.",
}


class SlackNotifier:
    """`bot.core.notifier.Notifier` for Slack."""

    def __init__(self, messenger: Messenger, outbox: Outbox) -> None:
        self.slack = messenger
        self.outbox = outbox

    # --- where people are -------------------------------------------------------------------

    def dm_of(self, user_id: str) -> str:
        return self.slack.open_dm(user_id)

    def time_zone(self, user_id: str) -> str | None:
        return self.slack.time_zone(user_id)

    # --- a conversation in the DM -----------------------------------------------------------

    def intro(self, channel: str, intro: Intro) -> None:
        self._say(channel, _intro_text(intro))

    def already_in_progress(self, channel: str, kind: str) -> None:
        what = {"check": "check", "review": "review"}.get(kind, "partner's view")
        self._say(
            channel,
            f"You already have a {what} in progress; here is where you left off. "
            "Type `cancel` to drop it and start again.",
        )

    def show(self, screen: Screen) -> str | None:
        message = _screen_message(screen)
        ts = self.slack.say(screen.channel, message, tag=screen.tag)
        if not ts:  # the step is saved: the message follows as soon as Slack takes it
            self.outbox.add(
                screen.team_id,
                screen.channel,
                message,
                screen.tag,
                shows=(screen.conversation_id, screen.version),
            )
        return ts

    def close(self, channel: str, ts: str, closing: Closing) -> None:
        self.slack.update(channel, ts, _closing_message(closing))

    def note(self, channel: str, text: str) -> None:
        self._say(channel, text)

    def refused(self, channel: str, reason: str) -> None:
        self._say(channel, f":warning: {escape(reason)}")

    def upgraded(self, channel: str, flow: Flow, migration: Migration) -> None:
        self._say(channel, blocks.upgraded_note(flow, migration))

    def cancelled(self, channel: str, kind: str) -> None:
        self._say(channel, CANCELLED[kind])

    def cannot_restore(self, channel: str, kind: str, cancelled: bool) -> None:
        self._say(channel, CANCELLED[kind] if cancelled else CANNOT_RESTORE.format(what=kind))

    def tip_help(self, channel: str, flow: Flow, tip_id: str) -> None:
        self.slack.say(channel, blocks.tip_help(flow, tip_id))

    def help(self, channel: str, flow: Flow) -> None:
        self.slack.say(channel, blocks.help_message(flow))

    def nothing_in_progress(self, channel: str) -> None:
        self._say(channel, NOTHING_IN_PROGRESS)

    def not_yours(self, channel: str, user_id: str, why: str, **facts: Any) -> None:
        self.slack.whisper(channel, user_id, NOT_YOURS[why].format(**facts))

    def tell(self, user_id: str, what: str, **facts: Any) -> None:
        self._say(self.dm_of(user_id), TELL[what](**facts))

    def posted_note(self, what: str, **facts: Any) -> str:
        return POSTED_NOTE[what](**facts)

    # --- recommendations --------------------------------------------------------------------

    def post_recommendation(
        self, channel: str, post: Recommendation, tag: str, look_first: bool
    ) -> dict[str, str]:
        with _posting():
            return self.slack.post(channel, _channel_post(post), tag=tag, look_first=look_first)

    def update_recommendation(self, channel: str, ts: str, post: Recommendation) -> None:
        self.slack.update(channel, ts, _channel_post(post))

    def fill_thread(
        self, at: Thread, post: Recommendation, tag: str, by: str | None = None
    ) -> bool:
        replies = recommendation_blocks.thread_details(post.flow, post.answers, post.assessment)
        tags = [f"{tag}:details:{n}" for n in range(len(replies))]
        if by is not None:
            replies = [_recheck_note(post, by), *replies]
            tags = [f"{tag}:{n}" for n in range(len(replies))]
        else:  # a new post: its conditions, and the proposer's way to invite partners
            replies.append(recommendation_blocks.follow_up_message(post))
            tags.append(follow_up_tag(tag))
        on_time = True
        for reply, reply_tag in zip(replies, tags, strict=True):
            if not self.slack.say(at.channel, reply, thread_ts=at.ts, tag=reply_tag):
                self.outbox.add(at.team_id, at.channel, reply, reply_tag, at.ts)
                on_time = False
        return on_time

    def find(self, channel: str, tag: str, thread_ts: str | None = None) -> dict[str, str] | None:
        try:
            return self.slack.find(channel, tag, thread_ts)
        except SlackUnreachable as error:
            raise PostUnknown(str(error)) from error

    # --- reviews and their reminders --------------------------------------------------------

    def post_review(self, result: ReviewResult, tag: str, look_first: bool) -> dict[str, str]:
        partnership = result.partnership
        if not (partnership.channel_id and partnership.message_ts):
            raise PostRefused("the recommendation is not in a channel")
        message = review_blocks.review_result(
            result.flow,
            partnership,
            result.reviewer_id,
            result.answers,
            result.assessment,
            result.conditions,
            result.met_now,
        )
        with _posting():
            return self.slack.post(
                partnership.channel_id,
                message,
                thread_ts=partnership.message_ts,
                tag=tag,
                look_first=look_first,
            )

    def offer_recheck(self, user_id: str, partnership: Partnership, tips: Sequence[str]) -> None:
        self.slack.say(self.dm_of(user_id), review_blocks.recheck_offer(partnership, tips))

    def in_thread(self, partnership: Partnership, what: str, **facts: Any) -> None:
        if partnership.channel_id and partnership.message_ts:
            text = IN_THREAD[what](reference=partnership.reference, **facts)
            self._say(partnership.channel_id, text, thread_ts=partnership.message_ts)

    def post_reminders(self, channel: str, lines: Sequence[ReminderLine], tag: str) -> str:
        if len(lines) == 1:
            line = lines[0]
            message = review_blocks.reminder_message(
                line.partnership,
                line.reminder_id,
                line.due_on,
                line.number,
                line.escalate,
                line.open_conditions,
            )
        else:
            message = review_blocks.digest_message([_digest_item(line) for line in lines])
        with _posting():
            return self.slack.post(channel, message, tag=tag)["ts"]

    def redraw_reminders(self, channel: str, ts: str, lines: Sequence[ReminderLine]) -> None:
        if not lines:
            return
        if len(lines) == 1:
            line = lines[0]
            closed = review_blocks.reminder_closed(line.partnership, note_text(line.note) or "")
            self.slack.update(channel, ts, closed)
            return
        self.slack.update(
            channel, ts, review_blocks.digest_message([_digest_item(line) for line in lines])
        )

    # --- partners' views ---------------------------------------------------------------------

    def invitees(self, channel: str, invitees: Invitees, ts: str | None = None) -> None:
        message = partner_blocks.invitees_message(invitees)
        if ts:
            self.slack.update(channel, ts, message)
        else:
            self.slack.say(channel, message)

    def invite(
        self, user_id: str, invitation: Invitation, again: bool = False
    ) -> tuple[str, str] | None:
        try:
            channel = self.dm_of(user_id)
        except (SlackApiError, SlackUnreachable):
            return None
        ts = self.slack.say(channel, partner_blocks.invitation_message(invitation, again))
        return (channel, ts) if ts else None

    def view_answers(
        self, user_id: str, organisation: str, flow: Flow, answers: dict[str, Any]
    ) -> None:
        message = partner_blocks.view_answers(organisation, flow, answers)
        self.slack.say(self.dm_of(user_id), message)

    def invitation_closed(self, channel: str, ts: str, what: str, **facts: Any) -> None:
        text = INVITATION_CLOSED[what](**facts)
        self.slack.update(channel, ts, partner_blocks.closed_invitation(text))

    def ask_who_instead(self, channel: str, ts: str, invitation: Invitation) -> None:
        self.slack.update(channel, ts, partner_blocks.who_instead_message(invitation))

    # --- conditions ---------------------------------------------------------------------------

    def redraw_follow_up(self, channel: str, ts: str, post: Recommendation) -> None:
        self.slack.update(channel, ts, recommendation_blocks.follow_up_message(post))

    def ask_condition(
        self, channel: str, user_id: str, condition: ConditionLine, what: str
    ) -> None:
        self.slack.whisper(channel, user_id, condition_blocks.ask(condition, what))

    def _say(self, channel: str, text: str, thread_ts: str | None = None) -> str | None:
        return self.slack.say(channel, blocks.notice(text), thread_ts=thread_ts)


@contextmanager
def _posting() -> Iterator[None]:
    """Slack's refusals and silences as the core's: refused (nothing posted; a 429 says
    when to try again) or unknown (looked for before it is ever posted again)."""
    try:
        yield
    except SlackApiError as error:
        retry_after = None
        if error.response.status_code == 429:
            retry_after = float(error.response.headers.get("Retry-After", 1))
        raise PostRefused(error.response.get("error") or "", retry_after) from error
    except SlackUnreachable as error:
        raise PostUnknown(str(error)) from error


def _channel_post(post: Recommendation) -> Message:
    return recommendation_blocks.channel_post(
        post.flow,
        post.reference,
        post.answers,
        post.owner_id,
        post.assessment,
        post.plan,
        post.standing,
        post.conditions,
    )


def _recheck_note(post: Recommendation, by: str) -> Message:
    sentence = recommendation_blocks.plan_sentence(
        post.plan, post.assessment.verdict, post.reference
    )
    return blocks.notice(
        f":arrows_counterclockwise: <@{by}> re-checked {post.reference}: the verdict is now "
        f"*{post.assessment.verdict}* "
        f"({recommendation_blocks.counts(post.assessment).lower()}). {escape(sentence)}"
    )


def _digest_item(line: ReminderLine) -> review_blocks.DigestItem:
    return review_blocks.DigestItem(
        line.partnership,
        line.reminder_id,
        line.due_on,
        line.escalate,
        note_text(line.note),
        line.open_conditions,
    )


def _intro_text(intro: Intro) -> str:
    partnership = intro.partnership
    if intro.kind == "partner" and intro.invitation is not None:
        invitation = intro.invitation
        return (
            f"Let's hear *{escape(invitation.organisation)}*'s view of "
            f"*{escape(invitation.name)}*: {invitation.questions} questions, for your own "
            "organisation. Type `back`, `cancel` or `help` whenever you like."
        )
    if intro.kind == "check" or partnership is None:
        return blocks.check_intro(intro.flow)
    title = f"*{partnership.reference} · {escape(partnership.name)}*"
    if intro.kind == "review":
        return (
            f"Let's review {title}: value for cost, progress, changes, engagement, then your "
            "decision."
        )
    if intro.kind == "recheck":
        return (
            f"Let's re-check {title}: the questions of {', '.join(intro.tips)} again; your "
            "other answers stay as they were."
        )
    return (
        f"Let's re-check {title}. Here is where it stands: change any answer with *Change an "
        "answer*, then post the update."
    )


def _screen_message(screen: Screen) -> Message:
    summary, run = screen.summary, screen.run
    if summary is None:
        return blocks.question_message(
            screen.flow, run, screen.conversation_id, screen.version, screen.shown
        )
    if isinstance(summary, PartnerSummary):
        return partner_blocks.partner_summary(
            screen.flow,
            run,
            summary.assessment,
            summary.invitation,
            screen.conversation_id,
            screen.version,
        )
    if isinstance(summary, CheckSummary):
        return recommendation_blocks.summary_message(
            screen.flow,
            run,
            summary.assessment,
            screen.conversation_id,
            screen.version,
            summary.channel,
            summary.plan,
            summary.update_of,
            summary.check_id,
            summary.standing,
        )
    return review_blocks.review_summary(
        screen.flow,
        run,
        summary.assessment,
        summary.partnership,
        screen.conversation_id,
        screen.version,
        summary.open_conditions,
        summary.ticked,
    )


def _closing_message(closing: Closing) -> Message:
    """What the message of the step just taken turns into: no buttons left on it."""
    flow, step, run, before = closing.flow, closing.step, closing.run, closing.before
    if closing.moved:
        return blocks.closed_message("The questions have changed: see below.", before)
    if step == "overtaken":  # posted while a step moved the conversation on
        if before is not None and before.is_answered(run.answers):
            return blocks.answered_message(flow, before, before.value_in(run.answers))
        return blocks.closed_message("Moved on.", before)
    if step == "answer" and before is not None and run.current is before and run.pending:
        return blocks.taken_message(flow, before, run.pending)
    if step == "answer" and before is not None and before.is_answered(run.answers):
        return blocks.answered_message(flow, before, before.value_in(run.answers))
    return blocks.closed_message(CLOSED.get(step, step), before)
