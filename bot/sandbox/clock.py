"""The sandbox's clock: real time, moved on by a jump, so a review due in three months
can be tried in a minute. Every service of the bot reads the time from it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class MovableClock:
    def __init__(self) -> None:
        self._ahead = timedelta(0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._ahead

    @property
    def moved(self) -> bool:
        with self._lock:
            return self._ahead > timedelta(0)

    def jump_to(self, moment: datetime) -> None:
        """Run on from `moment` (never backwards: what was done stays done)."""
        with self._lock:
            self._ahead = max(self._ahead, moment - datetime.now(UTC))
