"""A posted recommendation kept true in place: its post in the channel, and the last
message of its thread that lists its conditions and partners' views, redrawn whenever a
view arrives, a condition changes or a re-check changes the answers.

Two redraws may race (two partners sending at once, two processes); each reads the
state again after drawing it and draws once more if it changed meanwhile, so the last
draw always shows the latest state.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.core import conditions
from bot.core.lookups import Runs
from bot.core.notifier import Notifier, Recommendation, Standing
from bot.core.partner_views import assessment_of
from bot.core.plans import GOES_AHEAD, ReviewPlan, review_plan
from bot.storage.db import Database
from bot.storage.models import Partnership
from flows import Assessment

REDRAWS = 5  # more changes racing one redraw than this are drawn by their own redraws


def post_tag(partnership_id: int) -> str:
    """The tag of a recommendation's post: the same for every attempt to post it."""
    return f"recommendation:{partnership_id}"


def follow_up_tag(post: str) -> str:
    """The tag of the thread message listing a partnership's conditions and partners, from
    the tag of its post (the presenter tags it so; the core finds it by it)."""
    return f"{post}:follow-up"


def recommendation_of(
    runs: Runs,
    session: Session,
    partnership: Partnership,
    assessed: tuple[Assessment, Standing] | None = None,
) -> Recommendation:
    """A posted partnership's recommendation as it stands: every view sent so far, its
    conditions and when it is next reviewed (`assessed`: its assessment with every view
    and who has sent one, if the caller has it already)."""
    flow = runs.check_flow
    answers = dict(partnership.answers)
    check_id = partnership.conversation_id
    assessment, standing = assessed or assessment_of(runs, session, check_id, answers)
    plan = review_plan(flow, answers, runs.clock, partnership)
    if assessment.verdict not in GOES_AHEAD:
        plan = ReviewPlan(None)
    return Recommendation(
        flow,
        partnership.reference,
        answers,
        partnership.owner_id,
        assessment,
        plan,
        check_id,
        standing,
        conditions.lines(session, partnership.id),
    )


class Redraw:
    def __init__(self, db: Database, notify: Notifier, runs: Runs) -> None:
        self.db, self.notify, self.runs = db, notify, runs

    def post(self, partnership_id: int) -> Recommendation | None:
        """Redraw the post and its follow-up message; what they show now (None if it is not
        posted)."""
        drawn: Recommendation | None = None
        for _attempt in range(REDRAWS):
            with self.db.reading() as session:
                partnership = session.get(Partnership, partnership_id)
                if partnership is None or partnership.post_state != "posted":
                    return None
                post = recommendation_of(self.runs, session, partnership)
                channel, ts = partnership.channel_id, partnership.message_ts
                follow_up = partnership.follow_up_ts
            if post == drawn or not (channel and ts):
                break
            self.notify.update_recommendation(channel, ts, post)
            follow_up = follow_up or self._find_follow_up(partnership_id, channel, ts)
            if follow_up:
                self.notify.redraw_follow_up(channel, follow_up, post)
            drawn = post
        return drawn

    def _find_follow_up(self, partnership_id: int, channel: str, thread: str) -> str | None:
        """Where the follow-up message is (posted with the thread, its ts not kept then)."""
        found = self.notify.find(channel, follow_up_tag(post_tag(partnership_id)), thread)
        if found is None:
            return None
        with self.db.statements() as connection:
            connection.execute(
                update(Partnership)
                .where(Partnership.id == partnership_id)
                .values(follow_up_ts=found["ts"])
            )
        return found["ts"]
