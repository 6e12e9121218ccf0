"""The one place that says what went wrong: a domain error in, what the person is told out.

Listeners' work runs on the app's pool after the ack (see `Work`), so Bolt's error
handler does not see it; both end here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot.core.actors import Actor
from bot.core.notifier import Notifier
from bot.slack.mrkdwn import clip, escape
from bot.storage.db import Database, DatabaseUnavailable

log = logging.getLogger(__name__)

DOWN = "my database isn't answering just now, so nothing was changed"
PRESS = f":warning: That didn't go through: {DOWN}. Please press it again in a minute."
COMMAND = f":warning: I couldn't do that: {DOWN}. Please try again in a minute."
# A slash command's acknowledgement cannot wait: how long it gives the database.
ACK_PATIENCE = 1.5
# Slack's refusals that say the person acting cannot be reached (a forged or departed
# user), not that a call was wrong. Others (invalid_blocks, or a channel the bot cannot
# post in, which each listener tells the person about) are bugs here, logged as such.
UNREACHABLE = frozenset(
    {"user_not_found", "users_not_found", "user_disabled", "account_inactive", "cannot_dm_bot"}
)


def typed(text: str) -> str:
    """What a person is told when their typed reply could not be saved."""
    return (
        f":warning: I couldn't save \u201c{clip(escape(text.strip()), 80)}\u201d: {DOWN}. "
        "Please send it again in a minute."
    )


@dataclass(frozen=True)
class Work:
    """Runs a listener's work after its ack, on the app's own pool, and says plainly what
    did not happen if it fails: nothing was changed (the unit of work rolled back), so
    trying again is always safe."""

    pool: Executor
    notify: Notifier
    db: Database

    def later(self, actor: Actor | None, work: Callable[[], object], failed: str = PRESS) -> None:
        self.pool.submit(self._run, actor, work, failed)

    def _run(self, actor: Actor | None, work: Callable[[], object], failed: str) -> None:
        try:
            self.db.retry_on_disconnect(work)
        except Exception as error:  # every failure is said or logged here
            self.report(error, actor, failed)

    def report(self, error: Exception, actor: Actor | None, failed: str = PRESS) -> None:
        if isinstance(error, DatabaseUnavailable) and actor is not None:
            log.warning("The database did not answer; told %s", actor.user_id)
            try:
                self.notify.note(self.notify.dm_of(actor.user_id), failed)
            except Exception:
                log.exception("Could not tell %s", actor.user_id)
            return
        if isinstance(error, SlackApiError) and error.response.get("error") in UNREACHABLE:
            # Not a bug of ours: Slack will not let us reach the person, so no one can be
            # told (whatever was saved stays saved).
            log.warning("Slack refused to reach them: %s", error.response.get("error"))
            return
        log.error("Unhandled error in a listener", exc_info=error)
