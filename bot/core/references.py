"""A partnership's reference as people type it: `P-12` or `p12`."""

from __future__ import annotations

import re

_REFERENCE = re.compile(r"^p-?(\d{1,9})$", re.IGNORECASE)


def parse_reference(text: str) -> int | None:
    """The number of a partnership reference as typed ("P-12", "p12"), or None."""
    found = _REFERENCE.match(text.strip())
    return int(found.group(1)) if found else None
