"""Turning what a person typed or clicked into a stored answer, and back into words.

Stored answers are JSON-serialisable (str, int, list[str]; dates as ISO strings; None
for a skipped optional question) so a run can be saved between requests. A question
stores its answer under its own id, a group under each part's id: `parse_answer` returns
{answer id: value}. Every rejection is an AnswerError whose message is a short
re-prompt: what was wrong and what to type instead.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from flows.conditions import IN_PROGRESS, NOT_SURE
from flows.definition import MULTI_CHOICE_SEPARATORS, Option, Part, Question
from flows.errors import AnswerError

Answer = str | int | list[str] | None
# What a person gave: typed text, a clicked value, ticked values, or one value per part.
Raw = str | int | list[str] | dict[str, str]

# Typed ways of saying "I don't know" / "we're on it", for questions that offer them.
_SAID = {
    NOT_SURE: {
        "not sure",
        "unsure",
        "don't know",
        "dont know",
        "do not know",
        "not known",
        "no idea",
        "idk",
        "?",
        "??",
        "???",
        "not sure yet",
        "don't know yet",
        "unknown",
    },
    IN_PROGRESS: {"in progress", "under way", "underway", "being done", "ongoing", "started"},
}
NOT_DECIDED = "not_decided"
SKIP_WORDS = {"skip", "pass", "skip it", "none", "-", "n/a"}

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_NUMBERS = (
    {name.lower(): n for n, name in enumerate(MONTHS, start=1)}
    | {name[:3].lower(): n for n, name in enumerate(MONTHS, start=1)}
    | {"sept": 9}
)

_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_UK_NUMERIC_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})")
_WORDY_DATE = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{4})")
# Bounded length: int() of thousands of digits is slow (and refused from 4,300 digits).
_WHOLE_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3}){1,5}|\d{1,18})")
_SPLIT_CHOICES = re.compile(f"[{re.escape(MULTI_CHOICE_SEPARATORS)}]+")
_SPLIT_AND = re.compile(r"\s+(?:and|&)\s+")
_SHORTHAND = {"y": "yes", "n": "no"}


# Control characters (but tab and newline), zero-width and bidirectional-override marks:
# invisible in Slack, refused by Postgres (NUL), or able to reorder what others read.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def clean(text: str) -> str:
    """`text` without invisible characters; a Windows line end becomes a plain one."""
    return _INVISIBLE.sub("", text)


def _cleaned(raw: Raw) -> Raw:
    if isinstance(raw, str):
        return clean(raw)
    if isinstance(raw, list):
        return [clean(item) if isinstance(item, str) else item for item in raw]
    if isinstance(raw, dict):
        return {
            key: clean(value) if isinstance(value, str) else value for key, value in raw.items()
        }
    return raw


def parse_answer(question: Question, raw: Raw, *, today: dt.date) -> dict[str, Answer]:
    """Validate `raw` for `question`: {answer id: value to store}, or raise AnswerError."""
    raw = _cleaned(raw)
    if question.type == "group":
        return _parse_group(question, raw)
    if question.optional and isinstance(raw, str) and raw.strip().lower() in SKIP_WORDS:
        return {question.id: None}
    return {question.id: _PARSERS[question.type](question, raw, today)}


def parse_items(question: Question, raw: Raw) -> list[str]:
    """The items of a `list` answer: one per line or after a semicolon (or comma, where
    the question says so), with bullets and numbering taken off."""
    raw = _cleaned(raw)
    if isinstance(raw, list):
        pieces = [str(item) for item in raw]
    else:
        pattern = r"[\n;,]+" if question.split_on_commas else r"[\n;]+"
        pieces = re.split(pattern, str(raw))
    items = [_BULLET.sub("", piece).strip() for piece in pieces]
    items = [" ".join(item.split()) for item in items if item.strip(" .-•*")]
    if any(_normalise(item) in _SAID[NOT_SURE] for item in items):
        raise AnswerError(
            "Please name what you know so far; you can change it before posting. "
            + (question.hint or "")
        )
    limit = question.max_length
    long = next((item for item in items if limit is not None and len(item) > limit), None)
    if long is not None:
        raise AnswerError(f"Please keep each one to {limit:,} characters or fewer.")
    return items


def check_items(question: Question, items: list[str]) -> list[str]:
    """A whole `list` answer: within its minimum and maximum number of items."""
    low, high = question.min_items or 1, question.max_items
    if len(items) < low:
        if not items:
            raise AnswerError("Please type at least one. " + (question.hint or ""))
        raise AnswerError(
            f"That's {len(items)}; please give at least {low}, separated by "
            + ("commas." if question.split_on_commas else "new lines or semicolons.")
        )
    if high is not None and len(items) > high:
        raise AnswerError(f"That's {len(items)}; please keep to at most {high}.")
    return items


def display_answer(question: Question, value: Any) -> str:
    """A stored answer in words for a person: "Yes", "NHS, Private company", "1 March 2027".

    For a group, `value` is its {part: value} dict (see `Question.value_in`).
    """
    if question.type == "group" and isinstance(value, dict):
        return " · ".join(
            f"{part.label}: {display_part(part, value.get(part.id))}"
            for part in question.parts
            if part.id in value or not part.optional  # an optional part left out: say nothing
        )
    if value is None:
        return "Skipped" if question.optional else "Not answered"
    if question.type == "list" and isinstance(value, list):
        items = [str(item) for item in value]
        if question.first_item and items:
            items[0] = f"{items[0]} ({question.first_item})"
        # Items split on commas have none, so commas read best; others may have commas.
        # Counted aloud, so a person sees at once if "B and C" was taken as one.
        if question.split_on_commas:
            return ", ".join(items) + f" ({len(items)} in all)"
        return "; ".join(items)
    if question.type == "choice":
        return _label(question, value)
    if question.type == "multi_choice" and isinstance(value, list):
        return ", ".join(_label(question, item) for item in value)
    if question.type == "number" and isinstance(value, int) and question.unit:
        unit = question.unit.removesuffix("s") if value == 1 else question.unit
        return f"{value:,} {unit}"
    if question.type == "number" and isinstance(value, int):
        return f"{value:,}"
    if question.type == "date" and isinstance(value, str):
        try:
            return format_date(dt.date.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def format_date(day: dt.date) -> str:
    # Not strftime: its month names follow the process locale and "%-d" is not portable.
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def display_part(part: Part, value: Any) -> str:
    if value is None:
        return "Not answered"
    option = part.option(value)
    return option.label if option else str(value)


def _label(question: Question, value: Any) -> str:
    option = question.option(value)
    return option.label if option else str(value)


def _single_text(raw: Raw) -> str:
    """The one piece of text in `raw` (a one-item list counts, as a select sends that)."""
    if isinstance(raw, list):
        if len(raw) != 1 or not isinstance(raw[0], str):
            raise AnswerError("Please give just one answer.")
        raw = raw[0]
    return str(raw)


def _normalise(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").lower().split())


def _match_option(question: Question | Part, text: str) -> str | None:
    """The option value a typed or clicked `text` means: its value or label, any case, or
    a way of saying "not sure" or "in progress" where the question offers it."""
    return _match(question.options, text)


def _said(text: str) -> str:
    """Typed text as compared with options and ways of saying "not sure"."""
    # Phones type a curly apostrophe in "don't know"; a full stop is often added.
    return _normalise(text.replace("\u2019", "'")).rstrip(".!")


def _match(options: tuple[Option, ...], text: str) -> str | None:
    wanted = _said(text)
    values = {option.value for option in options}
    shorthand = _SHORTHAND.get(wanted)
    if shorthand and shorthand in values:
        wanted = shorthand
    for option in options:
        if wanted in (_normalise(option.value), _normalise(option.label)):
            return option.value
    for marker, said in _SAID.items():
        if wanted in said:
            if marker in values:
                return marker
            if marker == NOT_SURE and NOT_DECIDED in values:  # "not sure" how often: undecided
                return NOT_DECIDED
    return None


def _choices_list(question: Question | Part) -> str:
    return ", ".join(option.label for option in question.options)


def _parse_group(question: Question, raw: Raw) -> dict[str, Answer]:
    """A group's answer: a value per part, clicked (a dict) or typed in order ("6 to 12
    months; 12 to 24 months"), or one "not sure" for every part that offers it."""
    if isinstance(raw, dict):
        given = {part.id: raw.get(part.id) for part in question.parts}
    else:
        text = str(raw[0] if isinstance(raw, list) and raw else raw).strip()
        pieces = [piece.strip() for piece in re.split(r"[\n;]+", text) if piece.strip()]
        required = [part for part in question.parts if not part.optional]
        if len(pieces) == 1 and _said(pieces[0]) in _SAID[NOT_SURE]:
            # One "not sure" for them all; a part that can be left out is left out.
            given = {
                part.id: pieces[0]
                for part in question.parts
                if not part.optional or _match_option(part, pieces[0])
            }
            return _group_values(question, given)
        # Typed in order: every part, or just the ones that are not optional.
        parts = question.parts if len(pieces) == len(question.parts) else required
        if len(pieces) != len(parts):
            labels = "; ".join(part.label for part in question.parts)
            raise AnswerError(
                f"Please choose an answer for each ({labels}), then press *Continue*. "
                "Or type them in that order, separated by semicolons."
            )
        given = dict(zip((part.id for part in parts), pieces, strict=True))
    return _group_values(question, given)


def _group_values(question: Question, given: dict[str, Any]) -> dict[str, Answer]:
    values: dict[str, Answer] = {}
    for part in question.parts:
        chosen = given.get(part.id)
        if chosen in (None, ""):
            if part.optional:
                continue
            raise AnswerError(f"Please choose an answer for *{part.label}* too.")
        value = _match_option(part, str(chosen))
        if value is None:
            raise AnswerError(
                f'For {part.label}, I didn\'t recognise "{_excerpt(str(chosen))}". '
                f"Please choose one of: {_choices_list(part)}."
            )
        values[part.id] = value
    return values


def _excerpt(text: str, limit: int = 60) -> str:
    """A short quote of what was typed, for a re-prompt (never the whole of a long paste)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parse_choice(question: Question, raw: Raw, _today: dt.date) -> str:
    text = _single_text(raw)
    value = _match_option(question, text)
    if value is None:
        if not text.strip():
            raise AnswerError(f"Please choose one of: {_choices_list(question)}.")
        choices = _choices_list(question)
        raise AnswerError(
            f'I didn\'t recognise "{_excerpt(text)}". Please choose one of: {choices}.'
        )
    return value


def _parse_multi_choice(question: Question, raw: Raw, _today: dt.date) -> list[str]:
    if isinstance(raw, list):
        parts = [str(item) for item in raw]
    else:
        parts = []
        for part in _SPLIT_CHOICES.split(str(raw)):
            # "NHS and housing" splits on "and", unless "and" is part of a label.
            whole = part.strip()
            if whole and _match_option(question, whole) is None:
                parts.extend(_SPLIT_AND.split(whole))
            else:
                parts.append(whole)
    parts = [part.strip() for part in parts if part.strip()]
    if not parts:
        raise AnswerError(
            f"Please choose at least one: {_choices_list(question)} (separate them with commas)."
        )
    chosen: set[str] = set()
    for part in parts:
        value = _match_option(question, part)
        if value is None:
            raise AnswerError(
                f'I didn\'t recognise "{_excerpt(part)}". Please choose from: '
                f"{_choices_list(question)} (separate them with commas)."
            )
        chosen.add(value)
    return [option.value for option in question.options if option.value in chosen]


def _parse_number(question: Question, raw: Raw, _today: dt.date) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    else:
        text = _single_text(raw).strip().lower()
        if question.unit:
            # "18 months" is a natural reply to "how many months".
            text = re.sub(rf"\s*{re.escape(question.unit.removesuffix('s').lower())}s?$", "", text)
        example = _example_number(question)
        if re.fullmatch(r"[+-]?[\d,]*\.\d+", text):
            raise AnswerError(f"Please type a whole number, like {example}.")
        if not _WHOLE_NUMBER.fullmatch(text):
            raise AnswerError(f"Please type a number, like {example}.")
        value = int(text.replace(",", ""))
    low, high = question.min, question.max
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            raise AnswerError(f"Please type a number from {low:,} to {high:,}.")
        if low is not None:
            raise AnswerError(f"Please type a number of at least {low:,}.")
        raise AnswerError(f"Please type a number no more than {high:,}.")
    return value


def _example_number(question: Question) -> int:
    example = 12
    if question.min is not None:
        example = max(example, question.min)
    if question.max is not None:
        example = min(example, question.max)
    return example


def _parse_date(question: Question, raw: Raw, today: dt.date) -> str:
    text = " ".join(_single_text(raw).strip().lower().split())
    day = _read_date(text)
    if question.min_days_from_today is not None:
        earliest = today + dt.timedelta(days=question.min_days_from_today)
        if day < earliest:
            if question.min_days_from_today == 0:
                raise AnswerError(
                    f"{format_date(day)} is in the past. Please give a date from today "
                    f"({format_date(today)}) onwards."
                )
            raise AnswerError(f"Please give a date on or after {format_date(earliest)}.")
    if question.max_days_from_today is not None:
        latest = today + dt.timedelta(days=question.max_days_from_today)
        if day > latest:
            raise AnswerError(
                f"{format_date(day)} is too far ahead. Please give a date no later than "
                f"{format_date(latest)}."
            )
    return day.isoformat()


def _read_date(text: str) -> dt.date:
    """Read 2027-03-01, 1 March 2027, 1 Mar 2027 or 01/03/2027 (UK order: day first)."""
    formats = "Please type a date like 1 March 2027 or 01/03/2027."
    if match := _ISO_DATE.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _UK_NUMERIC_DATE.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
        if year < 100:
            year += 2000
    elif match := _WORDY_DATE.fullmatch(text):
        month_name = match.group(2)
        if month_name not in _MONTH_NUMBERS:
            raise AnswerError(f'I don\'t know the month "{month_name}". {formats}')
        day, month, year = int(match.group(1)), _MONTH_NUMBERS[month_name], int(match.group(3))
    else:
        raise AnswerError(formats)
    if not 1 <= month <= 12:
        raise AnswerError(f"There is no month {month}. Dates go day/month/year, like 01/03/2027.")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise AnswerError(
            f"There is no {day} {MONTHS[month - 1]} {year}. Please check the day and month."
        ) from None


def _parse_text(question: Question, raw: Raw, _today: dt.date) -> str:
    if isinstance(raw, list):
        raise AnswerError("Please type your answer as text.")
    text = str(raw).strip()
    if question.type == "short_text":
        text = " ".join(text.split())  # one line: it is shown in headings and lists
    if not text:
        raise AnswerError("Please type an answer; it can't be empty.")
    limit = question.max_length
    if limit is not None and len(text) > limit:
        raise AnswerError(f"That's {len(text):,} characters; please keep it to {limit:,} or fewer.")
    return text


def _parse_list(question: Question, raw: Raw, _today: dt.date) -> list[str]:
    return check_items(question, parse_items(question, raw))


# "- ", "• ", "1. ", "(2) ", "3 - " before an item; not the "7-" of "7-day discharge".
_BULLET = re.compile(r"^\s*(?:[-•*]+\s*|\(?\d{1,2}[.)]\s+|\d{1,2}\s+-\s+)")

_PARSERS: dict[str, Callable[[Question, Raw, dt.date], Answer]] = {
    "choice": _parse_choice,
    "multi_choice": _parse_multi_choice,
    "number": _parse_number,
    "date": _parse_date,
    "short_text": _parse_text,
    "long_text": _parse_text,
    "list": _parse_list,
}
