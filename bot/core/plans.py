"""What a check's answers mean for the partnership: its name, whether it goes ahead, and
when it would be reviewed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.core import reminders
from bot.storage.models import Partnership
from flows import Flow, schedule

GOES_AHEAD = ("Proceed", "Proceed with conditions")  # the verdicts that get reviews


@dataclass(frozen=True)
class ReviewPlan:
    """When a recommendation is reviewed: its first or next date and cadence, or why not."""

    next_on: date | None
    cadence: str | None = None  # "quarterly", ... ("end_of_project": once, at the end)


def name_of(flow: Flow, answers: dict[str, Any]) -> str:
    """What the partnership is called (its `name` role)."""
    return str(flow.answer_for("name", answers) or "Untitled proposal")


def cadence_of(flow: Flow, answers: dict[str, Any]) -> str:
    facts = flow.by_role(answers)
    return schedule.effective_cadence(facts.get("review_cadence"), facts.get("form"))


def review_plan(
    flow: Flow,
    answers: dict[str, Any],
    clock: Callable[[], datetime],
    partnership: Partnership | None = None,
) -> ReviewPlan:
    """When a check's partnership would next be reviewed if posted now: its scheduled
    review if it has one, else the first one its answers give."""
    if partnership is not None and partnership.next_review_on and partnership.cadence:
        return ReviewPlan(partnership.next_review_on, partnership.cadence)
    owner_tz = partnership.owner_tz if partnership else None
    today = reminders.local_today(clock(), owner_tz)
    return ReviewPlan(
        schedule.first_review_on(flow.by_role(answers), today), cadence_of(flow, answers)
    )
