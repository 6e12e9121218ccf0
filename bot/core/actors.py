"""Who is acting, and on what: every lookup in the core is scoped by both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Actor:
    """A person in a workspace.

    `pressed_ts` is the message whose button was pressed, if it was a press: it lets a
    step close that message even before the bot has recorded posting it.
    """

    team_id: str
    user_id: str
    pressed_ts: str | None = None


@dataclass(frozen=True)
class Press:
    """What a button on a conversation's message carries: the conversation, the version
    of it the message shows (so an out-of-date press is refused), and its own payload."""

    conversation_id: int
    version: int
    payload: str = ""


class Membership(Protocol):
    def may_act(self, user_id: str, owner_id: str, channel: str | None) -> bool:
        """Whether `user_id` may act on a partnership of `owner_id` posted in `channel`:
        its owner, or a member of that channel."""
        ...
