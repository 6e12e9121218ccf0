"""What people and buttons name things by: a partnership's reference as typed (`P-12`,
`p12`), and a row id as the bot wrote it into a button or a block."""

from __future__ import annotations

import re

_REFERENCE = re.compile(r"^p-?(\d{1,9})$", re.IGNORECASE)


def parse_reference(text: str) -> int | None:
    """The number of a partnership reference as typed ("P-12", "p12"), or None."""
    found = _REFERENCE.match(text.strip())
    return int(found.group(1)) if found else None


# The largest row id the database holds (a 4-byte integer): a forged larger one names
# nothing, and must not reach a query that Postgres would refuse.
MAX_ID = 2**31 - 1


def row_id(text: object) -> int | None:
    """A row id as the bot wrote it (digits only, in range), or None."""
    if not isinstance(text, str) or not text.isdecimal() or len(text) > 10:
        return None
    number = int(text)
    return number if number <= MAX_ID else None
