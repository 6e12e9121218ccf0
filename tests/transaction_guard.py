"""A check that the bot never calls Slack inside a unit of work.

A call to Slack can take seconds (or 15 s when it does not answer): made inside a unit
of work, it would hold the rows it locked, or SQLite's single write lock, for that long.
`guard(services)` wraps every Web API client the services use; a call made while the
calling thread has a unit of work open is recorded, and the fixtures fail the test.

There are no exceptions: the reminder scheduler and the outbox drain claim what they
post in one unit of work, post with none open, and record the post in another.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from bot.storage.db import Database


class TransactionGuard:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.violations: list[str] = []

    def wrap(self, client: Any) -> None:
        call: Callable[..., Any] = client.api_call
        if getattr(call, "guarded", False):
            return

        def api_call(api_method: str, *args: Any, **kwargs: Any) -> Any:
            if self.db.in_unit_of_work:
                stack = "".join(traceback.format_stack(limit=12))
                self.violations.append(f"{api_method} inside a unit of work:\n{stack}")
            return call(api_method, *args, **kwargs)

        api_call.guarded = True  # type: ignore[attr-defined]
        client.api_call = api_call


def guard(services: Any) -> TransactionGuard:
    """Watch every Web API client of `services` (build_services' result)."""
    watch = TransactionGuard(services.db)
    for notifier in (services.notify, services.scheduler.notify):
        watch.wrap(notifier.slack.client)
    watch.wrap(services.outbox.slack.client)
    return watch
