"""What people do to a condition of a posted recommendation, from its thread: mark it
met, drop it with a reason, or give it to someone else.

Its owner or anyone in the channel where it was posted may; anyone else is told so. Each
change is one conditional UPDATE on an open condition, so a double press changes it
once. The post ("3 of 5 met") and the thread's list are then redrawn in place.
"""

from __future__ import annotations

from sqlalchemy import select, update

from bot.core.actors import Actor, Membership
from bot.core.conditions import DROPPED, MET, OPEN, line_of
from bot.core.follow_up import Redraw
from bot.core.notifier import ConditionLine
from bot.core.steps import Steps
from bot.storage.db import rowcount
from bot.storage.models import Condition, Partnership, reference_of


class ConditionActions:
    def __init__(self, steps: Steps, members: Membership, redraw: Redraw) -> None:
        self.db, self.notify, self.runs = steps.db, steps.notify, steps.runs
        self.members, self.redraw = members, redraw

    def chosen(self, actor: Actor, condition_id: int, choice: str, channel: str) -> None:
        """A choice from a condition's menu in the thread: met at once; to drop it or give
        it away, the presser is asked why, or to whom, first."""
        if choice == MET:
            self.mark_met(actor, condition_id, channel)
            return
        line = self._allowed(actor, condition_id, channel)
        if line is not None and choice in ("drop", "give"):
            self.notify.ask_condition(channel, actor.user_id, line, choice)

    def mark_met(self, actor: Actor, condition_id: int, channel: str) -> None:
        self._change(actor, condition_id, channel, {"status": MET, "note": None})

    def drop(self, actor: Actor, condition_id: int, reason: str, channel: str) -> None:
        reason = " ".join(reason.split())[:500]
        if not reason:
            self.notify.not_yours(channel, actor.user_id, "drop_why")
            return
        self._change(actor, condition_id, channel, {"status": DROPPED, "note": reason})

    def give(self, actor: Actor, condition_id: int, user_id: str, channel: str) -> None:
        changed = self._change(actor, condition_id, channel, {"owner_id": user_id})
        if changed is None or user_id == actor.user_id:
            return
        with self.db.reading() as session:
            ref = session.execute(
                select(Partnership.ref)
                .join(Condition, Condition.partnership_id == Partnership.id)
                .where(Condition.id == condition_id)
            ).scalar_one()  # it was changed a moment ago: conditions are never deleted
        self.notify.tell(
            user_id,
            "condition_given",
            by=actor.user_id,
            text=changed.text,
            channel=channel,
            reference=reference_of(ref),
        )

    def _allowed(self, actor: Actor, condition_id: int, channel: str) -> ConditionLine | None:
        """The condition, if the presser may change it (its owner, or a member of the
        channel where its recommendation was posted); else they are told why not."""
        with self.db.reading() as session:
            row = session.get(Condition, condition_id)
            if row is None or row.team_id != actor.team_id:
                line, posted_in = None, None
            else:
                posted_in = session.scalar(
                    select(Partnership.channel_id).where(Partnership.id == row.partnership_id)
                )
                line = line_of(row)
        if line is None:
            self.notify.not_yours(channel, actor.user_id, "stale")
            return None
        if not self.members.may_act(actor.user_id, line.owner_id, posted_in):
            self.notify.not_yours(channel, actor.user_id, "members_only")
            return None
        if line.status != OPEN:
            self.notify.not_yours(channel, actor.user_id, "condition_done", status=line.status)
            return None
        return line

    def _change(
        self, actor: Actor, condition_id: int, channel: str, values: dict[str, str | None]
    ) -> ConditionLine | None:
        """Apply `values` to the condition if it is still open (one conditional UPDATE: of
        two racing presses one changes it), then redraw the post and the thread's list."""
        line = self._allowed(actor, condition_id, channel)
        if line is None:
            return None
        with self.db.session() as session:
            changed = session.execute(
                update(Condition)
                .where(Condition.id == condition_id, Condition.status == OPEN)
                .values(**values, changed_by=actor.user_id, changed_at=self.runs.clock())
                .execution_options(synchronize_session=False)
            )
            partnership_id, status = session.execute(
                select(Condition.partnership_id, Condition.status).where(
                    Condition.id == condition_id
                )
            ).one()
        if not rowcount(changed):  # another press changed it first
            self.notify.not_yours(channel, actor.user_id, "condition_done", status=status)
            return None
        self.redraw.post(partnership_id)
        return line
