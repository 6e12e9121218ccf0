"""What the core tells people, as facts: the interface the Slack adapter implements.

The core never calls it inside a unit of work: each step saves first, then tells. A
method that posts returns what was posted or raises `PostRefused` / `PostUnknown`; one
that only informs returns nothing and, if Slack is away, the adapter logs it (the state
is saved, so the person can always ask to see it again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from bot.core.plans import ReviewPlan
from bot.storage.models import Partnership
from flows import Assessment, Flow, FlowRun, Migration, Question


@dataclass(frozen=True)
class Standing:
    """Which invited partner organisations have given their view, and which not yet."""

    answered: tuple[str, ...] = ()
    waiting: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckSummary:
    assessment: Assessment  # with every partner's view sent so far
    channel: str | None  # where it would be posted, if known
    plan: ReviewPlan
    update_of: str | None = None  # the reference a re-check updates
    check_id: int = 0  # the check whose partners may be invited
    standing: Standing = Standing()


@dataclass(frozen=True)
class ReviewSummary:
    assessment: Assessment
    partnership: Partnership
    # Its conditions still open, asked about (tick those now met), and those ticked.
    open_conditions: tuple[ConditionLine, ...] = ()
    ticked: tuple[str, ...] = ()


@dataclass(frozen=True)
class PartnerSummary:
    """A partner's own answers before they send them: their flags, for their organisation."""

    assessment: Assessment
    invitation: Invitation


@dataclass(frozen=True)
class Invitation:
    """What a person invited to give their organisation's view is told."""

    view_id: int
    organisation: str
    proposer_id: str
    name: str  # the partnership's
    problem: str | None
    questions: int  # how many the questionnaire asks at most
    reference: str | None = None  # once posted


@dataclass(frozen=True)
class Invitee:
    """One partner organisation on the proposer's list, and who gives its view."""

    organisation: str
    user_id: str | None = None
    status: str | None = None  # "invited", "answered", "declined"; None: nobody asked


@dataclass(frozen=True)
class Invitees:
    """The proposer's list of partner organisations to invite someone for."""

    check_id: int
    name: str
    lines: tuple[Invitee, ...]


@dataclass(frozen=True)
class Screen:
    """A conversation's next message: its current question, or its summary."""

    team_id: str
    channel: str
    conversation_id: int
    version: int
    kind: str  # "check", "review" or "partner"
    flow: Flow
    run: FlowRun
    summary: CheckSummary | ReviewSummary | PartnerSummary | None = None
    # The check's answers by role, for questions that show one (a partner's questionnaire
    # shows the objectives it asks about).
    shown: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        """The same for every attempt to show this version: a retry finds the first."""
        return f"show:{self.conversation_id}:{self.version}"


@dataclass(frozen=True)
class Closing:
    """What the message of a step just taken turns into (no buttons left on it)."""

    flow: Flow
    step: str  # "answer", "back", "cancel", "revise", "upgrade", or a note from the caller
    run: FlowRun
    before: Question | None  # the question the message showed
    moved: bool = False  # carried over to new questions, and this one moved


@dataclass(frozen=True)
class Intro:
    """How a conversation opens."""

    kind: str  # "check", "review", "recheck" (some tips again), "recheck_all", "partner"
    flow: Flow
    partnership: Partnership | None = None
    tips: Sequence[str] = ()  # the titles of the tips asked again
    invitation: Invitation | None = None  # a partner's questionnaire: what it is about


@dataclass(frozen=True)
class ConditionLine:
    """A condition of a posted recommendation, as it stands."""

    id: int
    key: str  # the flag's (RaisedFlag.key)
    tip: str
    severity: str
    text: str
    view: str | None  # whose view raised it (None: the proposer's)
    owner_id: str
    status: str  # "open", "met" or "dropped"
    note: str | None = None  # why it was dropped
    changed_by: str | None = None


@dataclass(frozen=True)
class Recommendation:
    """What the channel is told about a checked partnership (its post and its thread)."""

    flow: Flow
    reference: str
    answers: dict[str, Any]
    owner_id: str
    assessment: Assessment
    plan: ReviewPlan
    check_id: int = 0  # whose partners may be invited from its thread
    standing: Standing = Standing()
    # Its conditions once posted (before, every flag is an open condition).
    conditions: tuple[ConditionLine, ...] = ()


@dataclass(frozen=True)
class Thread:
    """A post's thread: where replies to it go."""

    team_id: str
    channel: str
    ts: str


@dataclass(frozen=True)
class ReviewResult:
    """What a review posts in the recommendation's thread."""

    flow: Flow
    partnership: Partnership
    reviewer_id: str
    answers: dict[str, Any]
    assessment: Assessment
    conditions: tuple[ConditionLine, ...] = ()  # as the review leaves them
    met_now: tuple[int, ...] = ()  # the conditions this review marked met


@dataclass(frozen=True)
class Note:
    """What happened to a reminder: "reviewing", "reviewed", "ended", "snoozed",
    "reminded_again" (a later message carries it) or "no_longer_ahead" (re-checked)."""

    kind: str
    by: str | None = None  # who did it
    until: datetime | None = None  # snoozed until, in the owner's time zone
    reference: str | None = None


@dataclass(frozen=True)
class ReminderLine:
    """One reminder in a reminder message (a digest carries several)."""

    partnership: Partnership
    reminder_id: int
    due_on: date
    number: int  # which sending of it this is (1: the first)
    escalate: bool
    note: Note | None = None  # what happened to it; None while it still wants an answer
    open_conditions: tuple[str, ...] = ()  # still open since a review already


class Notifier(Protocol):
    # Where people are.
    def dm_of(self, user_id: str) -> str: ...
    def time_zone(self, user_id: str) -> str | None: ...

    # A conversation in the person's DM.
    def intro(self, channel: str, intro: Intro) -> None: ...
    def already_in_progress(self, channel: str, kind: str) -> None: ...
    def show(self, screen: Screen) -> str | None:
        """Post the screen; its ts, or None when it is queued to follow shortly."""
        ...

    def close(self, channel: str, ts: str, closing: Closing) -> None: ...
    def note(self, channel: str, text: str) -> None: ...
    def refused(self, channel: str, reason: str) -> None: ...
    def upgraded(self, channel: str, flow: Flow, migration: Migration) -> None: ...
    def cancelled(self, channel: str, kind: str) -> None: ...
    def cannot_restore(self, channel: str, kind: str, cancelled: bool) -> None: ...
    def tip_help(self, channel: str, flow: Flow, tip_id: str) -> None: ...
    def help(self, channel: str, flow: Flow) -> None: ...
    def nothing_in_progress(self, channel: str) -> None: ...
    def not_yours(self, channel: str, user_id: str, why: str, **facts: Any) -> None:
        """Only `user_id` sees it: why a press did nothing ("stale", "owner", ...)."""
        ...

    def tell(self, user_id: str, what: str, **facts: Any) -> None:
        """A short notice in the person's DM: `what` happened ("no_channel", ...)."""
        ...

    def posted_note(self, what: str, **facts: Any) -> str:
        """What a summary says once it is posted (or being posted): kept on it."""
        ...

    # Recommendations in their channel.
    def post_recommendation(
        self, channel: str, post: Recommendation, tag: str, look_first: bool
    ) -> dict[str, str]:
        """Post it once; where it is ({"channel", "ts"})."""
        ...

    def update_recommendation(self, channel: str, ts: str, post: Recommendation) -> None: ...
    def fill_thread(
        self, at: Thread, post: Recommendation, tag: str, by: str | None = None
    ) -> bool:
        """Every answer and flag in the post's thread (after a note of who re-checked it,
        `by`, for a re-check); False if some follow later."""
        ...

    def find(self, channel: str, tag: str, thread_ts: str | None = None) -> dict[str, str] | None:
        """Where the bot's post tagged `tag` is, if it is there; PostUnknown if Slack
        cannot say."""
        ...

    # Reviews and their reminders.
    def post_review(self, result: ReviewResult, tag: str, look_first: bool) -> dict[str, str]: ...
    def offer_recheck(
        self, user_id: str, partnership: Partnership, tips: Sequence[str]
    ) -> None: ...
    def in_thread(self, partnership: Partnership, what: str, **facts: Any) -> None:
        """A short note in the recommendation's thread."""
        ...

    def post_reminders(self, channel: str, lines: Sequence[ReminderLine], tag: str) -> str:
        """One reminder, or a digest of several; the message's ts."""
        ...

    def redraw_reminders(self, channel: str, ts: str, lines: Sequence[ReminderLine]) -> None: ...

    # Partners' views.
    def invitees(self, channel: str, invitees: Invitees, ts: str | None = None) -> None:
        """The proposer's list of partner organisations with a person picker for each: a
        new message, or the message `ts` redrawn."""
        ...

    def invite(
        self, user_id: str, invitation: Invitation, again: bool = False
    ) -> tuple[str, str] | None:
        """Ask the person for their organisation's view (`again`: a reminder); where the
        message is ((channel, ts)), or None if Slack would not take it."""
        ...

    def view_answers(
        self, user_id: str, organisation: str, flow: Flow, answers: dict[str, Any]
    ) -> None:
        """Every answer a partner gave for `organisation`, for the proposer."""
        ...

    def invitation_closed(self, channel: str, ts: str, what: str, **facts: Any) -> None:
        """The invitation message, its buttons gone: `what` happened to it."""
        ...

    def ask_who_instead(self, channel: str, ts: str, invitation: Invitation) -> None: ...

    # Conditions.
    def redraw_follow_up(self, channel: str, ts: str, post: Recommendation) -> None:
        """The thread message listing the conditions and partners' views, redrawn."""
        ...

    def ask_condition(
        self, channel: str, user_id: str, condition: ConditionLine, what: str
    ) -> None:
        """Only `user_id` sees it: why drop the condition (`what` "drop"), or who owns it
        now ("give")."""
        ...
