"""Posting once: the protocol shared by recommendations and review results.

1. Claim: in one unit of work, record what is posted and mark it "posting" (a second
   press, or a second process, finds the claim and is told it is already on its way).
2. Post, outside any unit of work, tagged so the post can be found again.
3. Complete (record where it went) or, if Slack refused, release the claim and say why.
   If nobody can tell whether it was posted, the claim stays: `settle` looks for the
   post by its tag once the claim is older than any post can take, and completes or
   releases it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bot.core.actors import Actor, Press
from bot.core.errors import PostRefused, PostUnknown, Stale
from bot.core.steps import Steps
from bot.storage.db import Database
from bot.storage.models import Partnership, Review
from bot.storage.store import AlreadyClaimed

log = logging.getLogger(__name__)
Claim = TypeVar("Claim")
Stuck = TypeVar("Stuck")
Where = dict[str, str]  # {"channel", "ts"} of a post


def claim(
    steps: Steps, actor: Actor, press: Press, take: Callable[[], Claim], already: str
) -> Claim | None:
    """Take the claim; None (the presser told why) if the summary pressed is out of date
    or `already` posted or being posted."""
    try:
        return take()
    except Stale:  # discarded or changed since this summary was shown
        steps.stale(actor, press.conversation_id)
    except (AlreadyClaimed, IntegrityError, StaleDataError):
        steps.stale(actor, press.conversation_id, already)
    return None


def post(
    send: Callable[[], Where], refused: Callable[[PostRefused], None], what: str
) -> Where | None:
    """Where the post went; None if Slack refused it (`refused` releases the claim and
    says why) or did not answer (the claim stays for `settle`)."""
    try:
        return send()
    except PostRefused as error:
        refused(error)
    except PostUnknown:
        log.warning("%s: no answer from Slack; it will be looked for", what)
    return None


def release(db: Database, model: type[Partnership | Review], row_id: int) -> None:
    """Give up a claim: nothing was posted, so the next press (or pass) may post it."""
    with db.session() as session:
        session.execute(update(model).where(model.id == row_id).values(post_state="unposted"))


def settle(
    stuck: Iterable[Stuck],
    find: Callable[[Stuck], Where | None],
    complete: Callable[[Stuck, Where], None],
    release: Callable[[Stuck], None],
) -> None:
    """Claims left in flight: found by their tag, completed; not there, released (the
    person is asked to press again); Slack not answering, left for the next time."""
    for item in stuck:
        try:
            found = find(item)
        except PostUnknown:
            continue
        if found is not None:
            complete(item, found)
        else:
            release(item)
