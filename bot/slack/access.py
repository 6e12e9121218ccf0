"""Who may act on a posted partnership: its owner and the members of the channel where it
was posted (reviews are a shared duty of the people who can see the recommendation).
Anyone else is told nothing about it, not even its name.

Membership comes from Slack (`conversations.members`) and is kept for a minute, so a
burst of presses costs one call, and someone who leaves a channel loses access quickly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bot.slack.messenger import Messenger

MEMBERS_TTL = 60.0  # seconds


class ChannelMembers:
    def __init__(self, messenger: Messenger, clock: Callable[[], float] = time.monotonic) -> None:
        self.slack = messenger
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    def may_act(self, user_id: str, owner_id: str, channel: str | None) -> bool:
        """Whether `user_id` may review, snooze or end a partnership owned by `owner_id`
        and posted in `channel`."""
        return user_id == owner_id or (channel is not None and user_id in self.members(channel))

    def members(self, channel: str) -> frozenset[str]:
        now = self.clock()
        with self._lock:
            cached = self._cache.get(channel)
        if cached is not None and now - cached[0] < MEMBERS_TTL:
            return cached[1]
        members = self.slack.members(channel)  # outside the lock: a slow call blocks nobody
        with self._lock:
            self._cache[channel] = (now, members)
        return members
