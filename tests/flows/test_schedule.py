"""Review calendar arithmetic, with fixed dates and no real clock.

2027 calendar facts used below: 4 January is a Monday; the UK moves to summer time on
Sunday 28 March and back on Sunday 31 October; the US on Sunday 14 March and Sunday
7 November. 2028 is a leap year.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.schedule import (
    CADENCES,
    DEFAULT_PROJECT_MONTHS,
    DEFAULT_TZ,
    ESCALATE_AFTER_SENDS,
    ESCALATION_REPEAT_WORKING_DAYS,
    REPEAT_AFTER_WORKING_DAYS,
    SNOOZE_PERIODS,
    add_months,
    default_first_review,
    deliverable_at,
    effective_cadence,
    first_review_on,
    holiday_calendar,
    is_escalation,
    is_working_time,
    next_nudge,
    next_review_on,
    reminder_at,
    snooze_until,
    working_days_after,
    zone,
)

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
KOLKATA = "Asia/Kolkata"
ZONES = (LONDON, NEW_YORK, KOLKATA, "Australia/Sydney", "Pacific/Auckland", "UTC")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def local(moment: dt.datetime, tz: str) -> dt.datetime:
    return moment.astimezone(zone(tz))


# --- cadence ---------------------------------------------------------------------------


@pytest.mark.parametrize("cadence", ["quarterly", "six_monthly", "annual", "end_of_project"])
def test_a_chosen_cadence_is_kept_whatever_the_form(cadence: str) -> None:
    assert effective_cadence(cadence, "informal") == cadence
    assert effective_cadence(cadence, None) == cadence


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ("formal", "quarterly"),
        ("mou", "six_monthly"),
        ("informal", "end_of_project"),
        (None, "end_of_project"),
        ("something_new", "end_of_project"),
    ],
)
# "not_decided" is the check's answer; "none" was version 1's; anything else is unknown.
@pytest.mark.parametrize("cadence", ["not_decided", "none", None, "fortnightly"])
def test_no_cadence_takes_the_default_for_the_form(
    cadence: str | None, form: str | None, expected: str
) -> None:
    assert effective_cadence(cadence, form) == expected
    assert expected in CADENCES


# --- month arithmetic --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2027, 1, 15), 1, dt.date(2027, 2, 15)),
        (dt.date(2027, 1, 31), 1, dt.date(2027, 2, 28)),
        (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),  # leap year
        (dt.date(2026, 8, 31), 6, dt.date(2027, 2, 28)),
        (dt.date(2027, 8, 31), 6, dt.date(2028, 2, 29)),
        (dt.date(2028, 2, 29), 12, dt.date(2029, 2, 28)),
        (dt.date(2027, 11, 30), 3, dt.date(2028, 2, 29)),
        (dt.date(2027, 12, 31), 3, dt.date(2028, 3, 31)),
        (dt.date(2027, 10, 31), 2, dt.date(2027, 12, 31)),
        (dt.date(2027, 5, 31), 1, dt.date(2027, 6, 30)),
        (dt.date(2027, 3, 31), -1, dt.date(2027, 2, 28)),
        (dt.date(2027, 6, 10), 0, dt.date(2027, 6, 10)),
    ],
)
def test_add_months_clamps_to_the_end_of_a_shorter_month(
    day: dt.date, months: int, expected: dt.date
) -> None:
    assert add_months(day, months) == expected


@given(
    day=st.dates(dt.date(2000, 1, 1), dt.date(2090, 12, 31)),
    months=st.integers(0, 120),
)
def test_add_months_lands_in_the_right_month_without_overshooting(
    day: dt.date, months: int
) -> None:
    moved = add_months(day, months)
    assert moved.year * 12 + moved.month == day.year * 12 + day.month + months
    assert moved.day <= day.day
    assert moved.day == day.day or (moved + dt.timedelta(days=1)).day == 1


# --- review dates ------------------------------------------------------------------------

POSTED = dt.date(2027, 1, 31)


def test_the_proposers_first_review_date_wins() -> None:
    answers = {"review_cadence": "quarterly", "first_review_date": "2027-03-15"}
    assert first_review_on(answers, POSTED) == dt.date(2027, 3, 15)


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"review_cadence": "quarterly"}, dt.date(2027, 4, 30)),
        ({"review_cadence": "six_monthly"}, dt.date(2027, 7, 31)),
        ({"review_cadence": "annual"}, dt.date(2028, 1, 31)),
        ({"review_cadence": "none", "form": "formal"}, dt.date(2027, 4, 30)),
        ({"review_cadence": "none", "form": "mou"}, dt.date(2027, 7, 31)),
        (
            {"review_cadence": "none", "form": "informal", "full_benefit_months": 9},
            dt.date(2027, 10, 31),
        ),
        ({"review_cadence": "none", "form": "informal"}, dt.date(2027, 7, 31)),  # default 6
        ({}, dt.date(2027, 7, 31)),
        # An unreadable stored date falls back to the cadence rather than failing.
        ({"review_cadence": "quarterly", "first_review_date": "soon"}, dt.date(2027, 4, 30)),
    ],
)
def test_without_a_date_the_first_review_is_one_interval_after_posting(
    answers: dict[str, object], expected: dt.date
) -> None:
    assert first_review_on(answers, POSTED) == expected


def test_first_review_one_month_after_posting_at_a_month_end_in_a_leap_year() -> None:
    answers = {"form": "informal", "full_benefit_months": 1}
    assert first_review_on(answers, dt.date(2028, 1, 31)) == dt.date(2028, 2, 29)


@pytest.mark.parametrize(
    ("full_benefit", "months"),
    [
        ("within_6_months", 6),
        ("months_6_to_12", 12),
        ("months_12_to_24", 24),
        ("over_24_months", 24),
        ("not_sure", DEFAULT_PROJECT_MONTHS),
        (None, DEFAULT_PROJECT_MONTHS),
    ],
)
@pytest.mark.parametrize(
    "how",
    [
        {"review_cadence": "end_of_project"},
        {"review_cadence": "not_decided", "form": "informal"},
    ],
)
def test_an_end_of_project_review_comes_at_the_end_of_the_full_benefit_range(
    how: dict[str, str], full_benefit: str | None, months: int
) -> None:
    answers = {**how, "full_benefit": full_benefit} if full_benefit else how
    assert first_review_on(answers, POSTED) == add_months(POSTED, months)


def test_the_range_wins_over_an_old_number_of_months() -> None:
    answers = {"review_cadence": "end_of_project", "full_benefit_months": 9}
    assert first_review_on(answers, POSTED) == dt.date(2027, 10, 31)
    answers["full_benefit"] = "months_6_to_12"
    assert first_review_on(answers, POSTED) == dt.date(2028, 1, 31)


@pytest.mark.parametrize("months", [0, -3, True, "9", None])
def test_an_unusable_number_of_months_falls_back_to_the_default(months: object) -> None:
    answers = {"review_cadence": "end_of_project", "full_benefit_months": months}
    assert first_review_on(answers, POSTED) == dt.date(2027, 7, 31)


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"review_cadence": "quarterly"}, dt.date(2027, 4, 30)),
        ({"review_cadence": "not_decided", "form": "mou"}, dt.date(2027, 7, 31)),
        ({"review_cadence": "not_decided", "form": "formal"}, dt.date(2027, 4, 30)),
        (
            {"review_cadence": "end_of_project", "full_benefit": "months_6_to_12"},
            dt.date(2028, 1, 31),
        ),
    ],
)
def test_the_suggested_first_review_ignores_a_date_already_chosen(
    answers: dict[str, str], expected: dt.date
) -> None:
    chosen = {**answers, "first_review_date": "2027-02-14"}
    assert default_first_review(answers, POSTED) == expected
    assert default_first_review(chosen, POSTED) == expected
    assert first_review_on(chosen, POSTED) == dt.date(2027, 2, 14)


@pytest.mark.parametrize(
    ("cadence", "expected"),
    [
        ("quarterly", dt.date(2027, 8, 31)),
        ("six_monthly", dt.date(2027, 11, 30)),
        ("annual", dt.date(2028, 5, 31)),
        ("end_of_project", None),
    ],
)
def test_next_review_after_a_continue_or_adapt(cadence: str, expected: dt.date | None) -> None:
    assert next_review_on(cadence, dt.date(2027, 5, 31)) == expected


def test_next_review_refuses_a_raw_none_cadence() -> None:
    with pytest.raises(ValueError, match="unknown cadence"):
        next_review_on("none", dt.date(2027, 5, 31))


# --- reminder times ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "tz", "expected"),
    [
        (dt.date(2027, 1, 5), LONDON, utc(2027, 1, 5, 9)),  # GMT
        (dt.date(2027, 7, 6), LONDON, utc(2027, 7, 6, 8)),  # BST
        (dt.date(2027, 1, 5), NEW_YORK, utc(2027, 1, 5, 14)),  # EST
        (dt.date(2027, 7, 6), NEW_YORK, utc(2027, 7, 6, 13)),  # EDT
        (dt.date(2027, 1, 5), KOLKATA, utc(2027, 1, 5, 3, 30)),  # no DST
        (dt.date(2027, 7, 6), KOLKATA, utc(2027, 7, 6, 3, 30)),
        # The US has changed its clocks, the UK not yet: the two are 4 hours apart.
        (dt.date(2027, 3, 16), LONDON, utc(2027, 3, 16, 9)),
        (dt.date(2027, 3, 16), NEW_YORK, utc(2027, 3, 16, 13)),
        # Monday after the UK's spring change; Friday before and Monday after autumn's.
        (dt.date(2027, 3, 29), LONDON, utc(2027, 3, 29, 8)),
        (dt.date(2027, 10, 29), LONDON, utc(2027, 10, 29, 8)),
        (dt.date(2027, 11, 1), LONDON, utc(2027, 11, 1, 9)),
        # Sydney is in summer time in January: 09:00 there is 22:00 UTC the day before.
        (dt.date(2027, 1, 5), "Australia/Sydney", utc(2027, 1, 4, 22)),
    ],
)
def test_reminders_are_at_nine_local_time(day: dt.date, tz: str, expected: dt.datetime) -> None:
    moment = reminder_at(day, tz)
    assert moment == expected
    assert moment.tzinfo == dt.UTC
    assert local(moment, tz).time() == dt.time(9, 0)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2027, 3, 27), utc(2027, 3, 29, 8)),  # Saturday before the UK change
        (dt.date(2027, 3, 28), utc(2027, 3, 29, 8)),  # the Sunday of the change itself
        (dt.date(2027, 10, 30), utc(2027, 11, 1, 9)),  # Saturday before autumn's change
        (dt.date(2027, 7, 31), utc(2027, 8, 2, 8)),  # a month-end Saturday
        (dt.date(2028, 1, 1), utc(2028, 1, 3, 9)),  # a year-start Saturday
    ],
)
def test_a_weekend_due_date_moves_to_monday_morning(day: dt.date, expected: dt.datetime) -> None:
    assert reminder_at(day, LONDON) == expected
    assert local(expected, LONDON).strftime("%A %H:%M") == "Monday 09:00"


@pytest.mark.parametrize("tz", ["", None, "Mars/Olympus_Mons", "../../etc/passwd", "not a zone"])
def test_an_unknown_time_zone_falls_back_to_london(tz: str | None) -> None:
    assert DEFAULT_TZ == LONDON
    assert reminder_at(dt.date(2027, 7, 6), tz) == reminder_at(dt.date(2027, 7, 6), LONDON)
    assert is_working_time(utc(2027, 7, 6, 8), tz)


def test_naive_datetimes_are_refused() -> None:
    naive = dt.datetime(2027, 1, 4, 9)
    with pytest.raises(ValueError, match="time zone"):
        working_days_after(naive, LONDON, 1)
    with pytest.raises(ValueError, match="time zone"):
        deliverable_at(naive, utc(2027, 1, 4, 9), LONDON)


@pytest.mark.parametrize(
    ("moment", "tz", "days", "expected"),
    [
        (utc(2027, 1, 4, 9), LONDON, 1, utc(2027, 1, 5, 9)),  # Monday -> Tuesday
        (utc(2027, 1, 7, 9), LONDON, 3, utc(2027, 1, 12, 9)),  # Thursday -> next Tuesday
        (utc(2027, 1, 8, 16), LONDON, 1, utc(2027, 1, 11, 9)),  # Friday -> Monday
        (utc(2027, 1, 9, 12), LONDON, 1, utc(2027, 1, 11, 9)),  # Saturday -> Monday
        (utc(2027, 1, 4, 9), LONDON, 5, utc(2027, 1, 11, 9)),  # a whole week
        # Across the UK spring change: 09:00 stays 09:00 local (08:00 UTC after it).
        (utc(2027, 3, 25, 9), LONDON, 3, utc(2027, 3, 30, 8)),
        # Across the autumn change: back to 09:00 UTC.
        (utc(2027, 10, 28, 8), LONDON, 2, utc(2027, 11, 1, 9)),
        # Across the US spring change, two weeks before the UK's.
        (utc(2027, 3, 11, 14), NEW_YORK, 2, utc(2027, 3, 15, 13)),
        # 23:30 UTC Monday is already Tuesday 05:00 in Kolkata: count from Tuesday.
        (utc(2027, 1, 4, 23, 30), KOLKATA, 1, utc(2027, 1, 6, 3, 30)),
        # 02:00 UTC Tuesday is still Monday 21:00 in New York: count from Monday.
        (utc(2027, 1, 5, 2), NEW_YORK, 1, utc(2027, 1, 5, 14)),
        # Across a month and a year end.
        (utc(2027, 12, 30, 9), LONDON, 2, utc(2028, 1, 3, 9)),
        (utc(2028, 2, 28, 9), LONDON, 1, utc(2028, 2, 29, 9)),
    ],
)
def test_working_days_after(moment: dt.datetime, tz: str, days: int, expected: dt.datetime) -> None:
    assert working_days_after(moment, tz, days) == expected


# --- repeat and escalation -------------------------------------------------------------------


def test_policy_values() -> None:
    assert (REPEAT_AFTER_WORKING_DAYS, ESCALATE_AFTER_SENDS, ESCALATION_REPEAT_WORKING_DAYS) == (
        3,
        2,
        5,
    )


def test_the_send_sequence_reminder_repeat_then_escalations() -> None:
    """Unanswered from Monday 4 January 2027, in London."""
    sent = reminder_at(dt.date(2027, 1, 4), LONDON)
    sends = [sent]
    for count in range(1, 5):
        sends.append(next_nudge(count, sends[-1], LONDON))
    assert [local(moment, LONDON).strftime("%a %d %b %H:%M") for moment in sends] == [
        "Mon 04 Jan 09:00",  # reminder
        "Thu 07 Jan 09:00",  # repeat, 3 working days later
        "Thu 14 Jan 09:00",  # first escalation, 5 working days later
        "Thu 21 Jan 09:00",
        "Thu 28 Jan 09:00",
    ]
    assert [is_escalation(n) for n in range(1, 6)] == [False, False, True, True, True]


def test_a_repeat_late_on_friday_waits_for_the_working_week() -> None:
    sent_friday_late = utc(2027, 1, 8, 17)  # processed late after downtime
    assert next_nudge(1, sent_friday_late, LONDON) == utc(2027, 1, 13, 9)  # Wednesday


def test_nudges_follow_the_owner_across_a_dst_switch() -> None:
    sent = reminder_at(dt.date(2027, 3, 24), LONDON)  # Wednesday, GMT
    repeat = next_nudge(1, sent, LONDON)
    assert repeat == utc(2027, 3, 29, 8)  # Monday, BST
    assert local(repeat, LONDON).time() == dt.time(9, 0)


@pytest.mark.parametrize("bad", [0, -1])
def test_send_counts_start_at_one(bad: int) -> None:
    with pytest.raises(ValueError):
        next_nudge(bad, utc(2027, 1, 4, 9), LONDON)
    with pytest.raises(ValueError):
        is_escalation(bad)


@given(
    sends=st.integers(1, 20),
    last_sent=st.datetimes(
        dt.datetime(2026, 1, 1), dt.datetime(2030, 12, 31), timezones=st.just(dt.UTC)
    ),
    tz=st.sampled_from(ZONES),
)
def test_never_twice_in_a_local_day_and_always_on_a_working_morning(
    sends: int, last_sent: dt.datetime, tz: str
) -> None:
    following = next_nudge(sends, last_sent, tz)
    assert following > last_sent
    assert local(following, tz).date() > local(last_sent, tz).date()
    assert local(following, tz).weekday() < 5
    assert local(following, tz).time() == dt.time(9, 0)
    assert is_working_time(following, tz)


# --- snooze ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "period", "expected"),
    [
        (utc(2027, 1, 5, 10), "week", utc(2027, 1, 12, 9)),  # Tuesday -> Tuesday
        (utc(2027, 1, 5, 10), "month", utc(2027, 2, 5, 9)),  # Friday 5 February
        (utc(2027, 1, 29, 10), "month", utc(2027, 3, 1, 9)),  # -> Sat 27 Feb -> Monday
        (utc(2028, 1, 31, 10), "month", utc(2028, 2, 29, 9)),  # leap day, a Tuesday
        (utc(2027, 3, 24, 10), "week", utc(2027, 3, 31, 8)),  # now in summer time
        (utc(2027, 1, 9, 10), "week", utc(2027, 1, 18, 9)),  # snoozed on a Saturday
    ],
)
def test_snooze_comes_back_on_a_working_morning(
    now: dt.datetime, period: str, expected: dt.datetime
) -> None:
    assert snooze_until(now, LONDON, period) == expected


def test_snooze_counts_from_the_owners_date() -> None:
    # Thursday 22:00 UTC is already Friday in Kolkata: a week later is Friday there.
    assert snooze_until(utc(2027, 1, 7, 22), KOLKATA, "week") == utc(2027, 1, 15, 3, 30)


def test_unknown_snooze_period() -> None:
    assert SNOOZE_PERIODS == ("week", "month")
    with pytest.raises(ValueError, match="week, month"):
        snooze_until(utc(2027, 1, 5, 10), LONDON, "fortnight")


# --- working time and delivery ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "tz", "expected"),
    [
        (utc(2027, 1, 4, 9), LONDON, True),  # Monday 09:00
        (utc(2027, 1, 4, 8, 59), LONDON, False),
        (utc(2027, 1, 4, 17, 29), LONDON, True),
        (utc(2027, 1, 4, 17, 30), LONDON, False),
        (utc(2027, 7, 5, 8), LONDON, True),  # 09:00 BST
        (utc(2027, 7, 5, 16, 30), LONDON, False),  # 17:30 BST
        (utc(2027, 1, 9, 12), LONDON, False),  # Saturday
        (utc(2027, 1, 4, 9), NEW_YORK, False),  # 04:00 there
        (utc(2027, 1, 4, 14), NEW_YORK, True),
        (utc(2027, 1, 4, 3, 30), KOLKATA, True),
        (utc(2027, 1, 8, 20), KOLKATA, False),  # Saturday 01:30 there
    ],
)
def test_is_working_time(moment: dt.datetime, tz: str, expected: bool) -> None:
    assert is_working_time(moment, tz) is expected


def test_a_due_reminder_goes_now_in_working_hours() -> None:
    due = utc(2027, 1, 4, 9)
    assert deliverable_at(due, utc(2027, 1, 4, 9), LONDON) is None
    assert deliverable_at(due, utc(2027, 1, 6, 15), LONDON) is None  # catch-up, daytime


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2027, 1, 4, 23), utc(2027, 1, 5, 9)),  # Monday night -> Tuesday morning
        (utc(2027, 1, 5, 6), utc(2027, 1, 5, 9)),  # Tuesday early -> that morning
        (utc(2027, 1, 8, 18), utc(2027, 1, 11, 9)),  # Friday evening -> Monday
        (utc(2027, 1, 9, 11), utc(2027, 1, 11, 9)),  # Saturday -> Monday
    ],
)
def test_a_late_pass_waits_for_the_next_working_morning(
    now: dt.datetime, expected: dt.datetime
) -> None:
    assert deliverable_at(utc(2027, 1, 4, 9), now, LONDON) == expected


def test_a_future_due_time_is_not_deliverable_yet() -> None:
    now = utc(2027, 1, 4, 10)
    assert deliverable_at(utc(2027, 1, 4, 15), now, LONDON) == utc(2027, 1, 4, 15)
    assert deliverable_at(utc(2027, 1, 4, 20), now, LONDON) == utc(2027, 1, 5, 9)


def test_delivery_uses_the_owners_hours_not_londons() -> None:
    due = reminder_at(dt.date(2027, 1, 4), NEW_YORK)  # 14:00 UTC
    assert deliverable_at(due, utc(2027, 1, 4, 14), NEW_YORK) is None
    # 23:00 UTC is 18:00 in New York: too late there, so Tuesday 09:00 EST.
    assert deliverable_at(due, utc(2027, 1, 4, 23), NEW_YORK) == utc(2027, 1, 5, 14)


@given(
    due=st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2030, 12, 31), timezones=st.just(dt.UTC)),
    lag=st.timedeltas(dt.timedelta(0), dt.timedelta(days=10)),
    tz=st.sampled_from(ZONES),
)
def test_delivery_is_only_ever_in_working_time(
    due: dt.datetime, lag: dt.timedelta, tz: str
) -> None:
    now = due + lag
    later = deliverable_at(due, now, tz)
    if later is None:
        assert is_working_time(now, tz)
    else:
        assert later > now
        assert is_working_time(later, tz)
        assert later.tzinfo == dt.UTC


# --- public holidays -----------------------------------------------------------------------
# 2026: Christmas Day is a Friday, Boxing Day a Saturday (so Monday 28 December is a bank
# holiday in England in its place); 2027: Friday 26 March is Good Friday, Monday 29 March
# Easter Monday (England, not Scotland).

ENGLAND = holiday_calendar("GB-ENG")


def test_holiday_regions() -> None:
    assert dt.date(2026, 12, 28) in ENGLAND
    assert dt.date(2027, 3, 29) in ENGLAND
    assert dt.date(2027, 3, 29) not in holiday_calendar("gb-sct")
    assert dt.date(2026, 12, 25) not in holiday_calendar(None)
    with pytest.raises(ValueError, match="'XX' is not a known holiday region"):
        holiday_calendar("XX")
    with pytest.raises(ValueError, match="'GB-XYZ' is not a known holiday region"):
        holiday_calendar("GB-XYZ")


def test_a_reminder_due_over_christmas_waits_for_the_first_working_day() -> None:
    assert reminder_at(dt.date(2026, 12, 25), LONDON, ENGLAND) == utc(2026, 12, 29, 9)
    assert reminder_at(dt.date(2026, 12, 25), LONDON) == utc(2026, 12, 25, 9)  # no calendar


def test_a_pass_on_a_bank_holiday_holds_the_reminder_till_the_next_working_morning() -> None:
    due = utc(2027, 3, 25, 9)  # Thursday before Easter
    assert deliverable_at(due, utc(2027, 3, 25, 10), LONDON, ENGLAND) is None
    assert deliverable_at(due, utc(2027, 3, 26, 10), LONDON, ENGLAND) == utc(2027, 3, 30, 8)
    assert deliverable_at(due, utc(2027, 3, 26, 10), LONDON) is None  # weekends only


def test_working_days_skip_holidays() -> None:
    # Three working days after Wednesday 23 December 2026 in England: 24, 29, 30.
    assert working_days_after(utc(2026, 12, 23, 9), LONDON, 3, ENGLAND) == utc(2026, 12, 30, 9)
    assert next_nudge(1, utc(2026, 12, 23, 9), LONDON, ENGLAND) == utc(2026, 12, 30, 9)


@given(
    due=st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2030, 12, 31), timezones=st.just(dt.UTC)),
    lag=st.timedeltas(dt.timedelta(0), dt.timedelta(days=10)),
)
def test_delivery_never_falls_on_a_holiday(due: dt.datetime, lag: dt.timedelta) -> None:
    now = due + lag
    at = deliverable_at(due, now, LONDON, ENGLAND) or now
    assert local(at, LONDON).date() not in ENGLAND
    assert is_working_time(at, LONDON, ENGLAND)
