"""The bot's own work pool, counted, so tests can wait for the bot to have nothing left to do.

Every listener acknowledges Slack inside the request and hands its work to the app's pool
(`Services.work`); once a test's requests have returned and that pool is empty, the bot
makes no more calls. Waiting for that is exact, where waiting for Slack to go quiet for a
while is a guess that costs the while.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class CountedPool(ThreadPoolExecutor):
    """A ThreadPoolExecutor that knows how many of its jobs are queued or running."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "work") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._busy = 0
        self._settled = threading.Condition()

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with self._settled:
            self._busy += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future[Any] | None) -> None:
        with self._settled:
            self._busy -= 1
            if not self._busy:
                self._settled.notify_all()

    def settle(self, timeout: float) -> bool:
        """Wait until no job is queued or running; False if some still were at `timeout`."""
        with self._settled:
            return self._settled.wait_for(lambda: not self._busy, timeout)


def with_counted_work(services: Any) -> tuple[Any, CountedPool]:
    """`services` (build_services' result) with its work pool replaced by a counted one of
    the same size; and that pool."""
    from bot.slack.services import WORK_THREADS

    pool = CountedPool(max_workers=WORK_THREADS)
    return replace(services, work=replace(services.work, pool=pool)), pool
