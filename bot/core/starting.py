"""Starting a conversation in the person's DM (a check, a review, a re-check) or showing
the one they have in progress, carried over first if its questions have changed."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from bot.core import lookups
from bot.core.actors import Actor
from bot.core.errors import Stale
from bot.core.notifier import Intro, Invitation
from bot.core.steps import Steps
from bot.storage.models import Conversation, Partnership
from flows import FlowRun


class Starting:
    def __init__(self, steps: Steps) -> None:
        self.steps = steps
        self.db, self.notify, self.runs = steps.db, steps.notify, steps.runs

    def check(self, actor: Actor) -> None:
        """Start a check in the person's DM, or show the one already in progress."""
        self._start(actor, Intro("check", self.runs.check_flow))

    def review(
        self, actor: Actor, partnership: Partnership, reminder_id: int | None = None
    ) -> None:
        """Start reviewing `partnership` in the person's DM (or show their review in progress)."""
        intro = Intro("review", self.runs.flows["review"], partnership)
        self._start(actor, intro, partnership_id=partnership.id, reminder_id=reminder_id)

    def recheck(self, actor: Actor, partnership: Partnership, tips: list[str]) -> None:
        """Re-run some tips of a posted check (an adapted partnership), keeping the rest."""
        flow = self.runs.check_flow
        run = FlowRun.rerun(flow, partnership.answers, tips, today=self.runs.clock().date())
        titles = [t.title for t in flow.tips if t.id in tips]
        intro = Intro("recheck", flow, partnership, titles)
        self._start(actor, intro, run=run, partnership_id=partnership.id)

    def recheck_all(self, actor: Actor, partnership: Partnership) -> None:
        """Re-check a posted partnership from its summary: change any answers, then post
        the new verdict to it (it keeps its reference)."""
        flow = self.runs.check_flow
        run = FlowRun.at_summary(flow, partnership.answers, today=self.runs.clock().date())
        intro = Intro("recheck_all", flow, partnership)
        self._start(actor, intro, run=run, partnership_id=partnership.id)

    def partner(self, actor: Actor, invitation: Invitation) -> None:
        """Start the person's questionnaire for their organisation's view of a check (or
        show the one they have in progress)."""
        intro = Intro("partner", self.runs.flows["partner"], invitation=invitation)
        self._start(actor, intro, view_id=invitation.view_id)

    def _start(
        self, actor: Actor, intro: Intro, run: FlowRun | None = None, **links: int | None
    ) -> None:
        channel = self.notify.dm_of(actor.user_id)
        kind = intro.kind if intro.kind in ("review", "partner") else "check"
        flow = self.runs.flows[kind]
        try:
            with self.db.session() as session:
                existing = lookups.active(session, actor, kind)
                if existing is None:
                    run = run or self.runs.new(flow)
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
            self.notify.intro(channel, intro)
        else:
            self.notify.already_in_progress(channel, kind)
        self.current(actor, kind)

    def has_active(self, actor: Actor, kind: str = "check") -> bool:
        with self.db.reading() as session:
            return lookups.active(session, actor, kind) is not None

    def current(self, actor: Actor, kind: str | None = None) -> bool:
        """Post the current question or summary afresh; False when there's nothing active.

        A conversation saved under an older definition is carried over first, and the
        person told in a line what changed."""
        with self.db.reading() as session:
            conversation = lookups.active(session, actor, kind)
            if conversation is None:
                return False
            conversation_id = conversation.id
            outdated = conversation.flow_version != str(self.runs.flow_of(conversation).version)
        if outdated:
            try:
                self.steps.upgrade(actor, conversation_id)
                return True
            except Stale:
                pass
        self.steps.show(conversation_id)
        return True
