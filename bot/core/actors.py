"""Who is acting, and on what: every lookup in the core is scoped by both."""

from __future__ import annotations

from dataclasses import dataclass


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
