"""When a partnership's reviews fall due and when their reminders may be sent.

Pure calendar arithmetic with no clock of its own: callers pass "now", so the policy can
be tested at any date, time zone and daylight-saving switch. Every datetime in and out is
timezone-aware UTC (storage and Slack's `chat.scheduleMessage` both work in UTC); dates
are plain `datetime.date` in the owner's calendar.

Reminders are for people at work: they go out at 09:00 on a working day (Monday to
Friday, less any public holidays the caller passes) in the owner's time zone, never at
night or at a weekend, and never twice in one local day.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Container, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CADENCES = ("quarterly", "six_monthly", "annual", "end_of_project")
_INTERVAL_MONTHS = {"quarterly": 3, "six_monthly": 6, "annual": 12}

# The policy's default when the proposer has not decided, by the check's `form`.
DEFAULT_CADENCE_FOR_FORM = {
    "formal": "quarterly",
    "mou": "six_monthly",
    "informal": "end_of_project",
}
# An end-of-project review comes when the full benefit is expected: the end of the
# check's `full_benefit` range (v1 checks stored `full_benefit_months` as a number).
PROJECT_MONTHS = {
    "within_6_months": 6,
    "months_6_to_12": 12,
    "months_12_to_24": 24,
    "over_24_months": 24,
}
# ... and after this long when that is not known.
DEFAULT_PROJECT_MONTHS = 6

# Used when Slack gives no time zone for the owner, or one this machine does not know.
DEFAULT_TZ = "Europe/London"
REMINDER_TIME = dt.time(9, 0)
WORKDAY_END = dt.time(17, 30)

# Nudging an unanswered reminder (send 1 is the reminder itself, send 2 the repeat, and
# every later send an escalation that mentions the owner).
REPEAT_AFTER_WORKING_DAYS = 3
ESCALATE_AFTER_SENDS = 2
ESCALATION_REPEAT_WORKING_DAYS = 5

SNOOZE_PERIODS = ("week", "month")


# --- review dates ----------------------------------------------------------------------


def effective_cadence(cadence: str | None, form: str | None) -> str:
    """The cadence to schedule: the check's `review_cadence`, or the policy's default.

    "not_decided" (or no answer) means the proposer has not chosen; the partnership is
    still reviewed, at the default for its form. An unknown form gets the lightest
    default, a single review at the end.
    """
    if cadence is not None and cadence in CADENCES:
        return cadence
    return DEFAULT_CADENCE_FOR_FORM.get(form or "", "end_of_project")


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, clamped to the last day of a shorter month.

    31 January + 1 month is 28 (or 29) February, not 3 March: a quarterly review should
    stay in its quarter.
    """
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    month = month_index + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def first_review_on(answers: Mapping[str, Any], posted_on: dt.date) -> dt.date:
    """The first review date of a partnership posted on `posted_on`, from the check's answers.

    The proposer's `first_review_date` wins. Otherwise the first review is one cadence
    interval after posting; an end-of-project review comes when the full benefit is
    expected (`full_benefit`), which is when there is something to review.
    """
    chosen = answers.get("first_review_date")
    if isinstance(chosen, str):
        try:
            return dt.date.fromisoformat(chosen)
        except ValueError:
            pass  # an unreadable stored answer: fall back to the cadence, as if unanswered
    cadence = effective_cadence(answers.get("review_cadence"), answers.get("form"))
    if cadence in _INTERVAL_MONTHS:
        return add_months(posted_on, _INTERVAL_MONTHS[cadence])
    months = PROJECT_MONTHS.get(str(answers.get("full_benefit")))
    if months is None:
        months = answers.get("full_benefit_months")
    if not isinstance(months, int) or isinstance(months, bool) or months < 1:
        months = DEFAULT_PROJECT_MONTHS
    return add_months(posted_on, months)


def default_first_review(answers: Mapping[str, Any], today: dt.date) -> dt.date:
    """The first review date to suggest while checking: what `first_review_on` would give
    if the check were posted today and no date had been chosen."""
    return first_review_on({k: v for k, v in answers.items() if k != "first_review_date"}, today)


def next_review_on(cadence: str, reviewed_on: dt.date) -> dt.date | None:
    """The review after one held on `reviewed_on` that decided to continue or adapt.

    None for an end-of-project cadence: its single review has been held. `cadence` is
    an effective cadence (see `effective_cadence`); anything else is a caller's bug.
    """
    if cadence == "end_of_project":
        return None
    if cadence not in _INTERVAL_MONTHS:
        raise ValueError(f"unknown cadence {cadence!r} (use one of: {', '.join(CADENCES)})")
    return add_months(reviewed_on, _INTERVAL_MONTHS[cadence])


# --- reminder times ----------------------------------------------------------------------


def zone(tz: str | None) -> ZoneInfo:
    """The time zone named `tz` (an IANA name from Slack), or DEFAULT_TZ if unknown."""
    if tz:
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            pass  # e.g. a name this machine's zone data lacks: better London than nothing
    return ZoneInfo(DEFAULT_TZ)


NO_HOLIDAYS: Container[dt.date] = frozenset()


def holiday_calendar(region: str | None) -> Container[dt.date]:
    """The public holidays of `region`, a country code with an optional subdivision
    ("GB-ENG", "GB-SCT", "IE"), or none at all for None.

    Raises ValueError naming the region when it is not known.
    """
    if not region:
        return NO_HOLIDAYS
    import holidays as public_holidays  # only where a region is set: it is slow to import

    country, _, subdivision = region.upper().partition("-")
    try:
        return public_holidays.country_holidays(country, subdiv=subdivision or None)
    except NotImplementedError as unknown:
        raise ValueError(f"{region!r} is not a known holiday region ({unknown})") from None


def is_working_day(day: dt.date, holidays: Container[dt.date] = NO_HOLIDAYS) -> bool:
    return day.weekday() < 5 and day not in holidays


def reminder_at(
    day: dt.date, tz: str | None, holidays: Container[dt.date] = NO_HOLIDAYS
) -> dt.datetime:
    """09:00 in `tz` on `day`, or on the next working day if `day` is not one (UTC)."""
    while not is_working_day(day, holidays):
        day += dt.timedelta(days=1)
    return _at_local(day, REMINDER_TIME, zone(tz))


def working_days_after(
    moment: dt.datetime, tz: str | None, days: int, holidays: Container[dt.date] = NO_HOLIDAYS
) -> dt.datetime:
    """09:00 in `tz` on the `days`-th working day after `moment`'s local date (UTC).

    Counting local dates rather than adding hours keeps 09:00 at 09:00 across a
    daylight-saving switch.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    place = zone(tz)
    day = _local(moment, place).date()
    while days:
        day += dt.timedelta(days=1)
        if is_working_day(day, holidays):
            days -= 1
    return reminder_at(day, tz, holidays)


def next_nudge(
    sends: int, last_sent: dt.datetime, tz: str | None, holidays: Container[dt.date] = NO_HOLIDAYS
) -> dt.datetime:
    """When to send again if the reminder is still unanswered after `sends` sends.

    The repeat comes REPEAT_AFTER_WORKING_DAYS after the reminder; from then on each
    escalation comes ESCALATION_REPEAT_WORKING_DAYS after the previous send. Always at
    09:00 on a later local working day than `last_sent`, so never twice in a day.
    """
    if sends < 1:
        raise ValueError("sends counts sends made so far; the first reminder is send 1")
    gap = (
        REPEAT_AFTER_WORKING_DAYS
        if sends < ESCALATE_AFTER_SENDS
        else ESCALATION_REPEAT_WORKING_DAYS
    )
    return working_days_after(last_sent, tz, gap, holidays)


def is_escalation(send_number: int) -> bool:
    """Whether send `send_number` (1-based: 1 reminder, 2 repeat) mentions the owner."""
    if send_number < 1:
        raise ValueError("send numbers start at 1")
    return send_number > ESCALATE_AFTER_SENDS


def snooze_until(now: dt.datetime, tz: str | None, period: str) -> dt.datetime:
    """When a reminder snoozed at `now` for a "week" or a "month" comes back (UTC)."""
    today = _local(now, zone(tz)).date()
    if period == "week":
        return reminder_at(today + dt.timedelta(days=7), tz)
    if period == "month":
        return reminder_at(add_months(today, 1), tz)
    raise ValueError(f"unknown snooze period {period!r} (use one of: {', '.join(SNOOZE_PERIODS)})")


# --- when a message may actually go out --------------------------------------------------


def is_working_time(
    moment: dt.datetime, tz: str | None, holidays: Container[dt.date] = NO_HOLIDAYS
) -> bool:
    """A working day, from 09:00 up to 17:30, in `tz`."""
    local = _local(moment, zone(tz))
    return is_working_day(local.date(), holidays) and REMINDER_TIME <= local.time() < WORKDAY_END


def deliverable_at(
    due: dt.datetime,
    now: dt.datetime,
    tz: str | None,
    holidays: Container[dt.date] = NO_HOLIDAYS,
) -> dt.datetime | None:
    """None if a message due at `due` may go out `now`; else the earliest time it may (UTC).

    A reminder due at 09:00 that the scheduler only reaches at 23:00 (downtime, a cron
    pass at night) waits for the next working morning instead of waking someone up; one
    that falls on a public holiday in `holidays` waits for the next working day.
    """
    _require_aware(due, now)
    if due <= now and is_working_time(now, tz, holidays):
        return None
    moment = max(due, now)
    if is_working_time(moment, tz, holidays):
        return moment.astimezone(dt.UTC)
    local = _local(moment, zone(tz))
    if is_working_day(local.date(), holidays) and local.time() < REMINDER_TIME:
        return reminder_at(local.date(), tz, holidays)
    return working_days_after(moment, tz, 1, holidays)


def _require_aware(*moments: dt.datetime) -> None:
    # A naive datetime would silently be read as the server's local time.
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{moment!r} has no time zone; pass UTC-aware datetimes")


def _local(moment: dt.datetime, place: ZoneInfo) -> dt.datetime:
    _require_aware(moment)
    return moment.astimezone(place)


def _at_local(day: dt.date, time: dt.time, place: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=place).astimezone(dt.UTC)
