"""What the core raises when a step cannot be taken, and what a notifier raises when a
post did not go as planned. The adapter says each in words (bot/slack/listeners/errors.py)."""

from __future__ import annotations


class Stale(Exception):
    """The press or message no longer applies: answered already, or another step won."""


class Refused(Exception):
    """A step that can't be taken just now; the message says why."""


class PostRefused(Exception):
    """The post was refused (no such channel, not a member, 429...): nothing was posted."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after  # set when the refusal was a rate limit


class PostUnknown(Exception):
    """Posted or not, nobody can tell now (no answer, even to a look): the claim stays and
    the post is looked for later, never blindly repeated."""
