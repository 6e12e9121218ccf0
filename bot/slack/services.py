"""The bot's services, built once: one WebClient (pointed at SLACK_API_URL), the flows,
the database, the core's services and the notifier they tell people through."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.core.condition_actions import ConditionActions
from bot.core.lookups import Runs
from bot.core.partners import Partners
from bot.core.recommendations import Recommendations
from bot.core.reviews import Reviews
from bot.core.scheduler import Scheduler, SchedulerThread
from bot.core.starting import Starting
from bot.core.steps import Steps
from bot.settings import Settings
from bot.slack.access import ChannelMembers
from bot.slack.keep_alive import KeepAliveWebClient
from bot.slack.listeners.errors import Work
from bot.slack.messenger import Messenger, outcome_unknown
from bot.slack.outbox import Outbox
from bot.slack.presenter import SlackNotifier
from bot.storage.db import Database
from flows import load_flow
from flows.schedule import holiday_calendar
from flows.views import check_topics

# The answers the bot acts on, by role, in each flow it runs (see flows.definition.ROLES).
NEEDED_ROLES = {
    "check": (
        "name",
        "organisations",
        "problem",
        "form",
        "review_cadence",
        "first_review_date",
        "full_benefit",
    ),
    "review": ("decision", "adapts"),
}
# The check's answers a partner's questionnaire shows (flows.definition.Question.shows).
SHOWN_TO_PARTNERS = ("objectives",)


# Threads that run listeners' work after the ack. Their work is mostly waiting on Slack
# and the database, but all of them share one GIL: past a few, more threads only queue
# for it, which costs CPU and delays the acks (measured on Postgres, 40 people at once:
# with 16, acks took 21-33 ms at the median; with 8, 7-8 ms). Slack's own rate limits
# (chat.update about 50 a minute per workspace) cap a workspace at a step or two a second
# long before 8 threads waiting on ~250 ms of Slack calls a step would.
WORK_THREADS = 8


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """Everything the listeners and the command line act through."""

    db: Database
    runs: Runs  # the flows, and the clock every service reads the date from
    notify: SlackNotifier
    steps: Steps
    starting: Starting
    recommendations: Recommendations
    reviews: Reviews
    partners: Partners
    conditions: ConditionActions
    scheduler: Scheduler
    outbox: Outbox
    work: Work  # listeners' work, after the ack

    def scheduler_thread(self) -> SchedulerThread:
        """The reminder pass every minute, with the chores that settle what a stopped
        process left half done (posts in flight, replies waiting in the outbox)."""
        return SchedulerThread(
            self.scheduler,
            chores=[self.recommendations.recover, self.reviews.recover, self.outbox.drain],
        )


class RetryUnlessItMayHavePosted(ConnectionErrorRetryHandler):
    """Retries a dropped connection only where repeating the request cannot post twice:
    any request that changes nothing (reads, updates), or any that never reached Slack (a
    refused connection). A post whose outcome is unknown is left to Messenger.post, which
    looks for it before posting again."""

    POSTS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage"})

    def _can_retry(
        self, *, state: Any, request: Any, response: Any = None, error: Any = None
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        method = request.url.rstrip("/").rsplit("/", 1)[-1]
        return method not in self.POSTS or not outcome_unknown(error)


def make_client(settings: Settings, wait_out_rate_limits: bool = True) -> WebClient:
    """A Web API client that retries dropped connections where that is safe and, unless
    told not to, waits out Slack's 429s (Retry-After), so a busy channel delays a post
    instead of losing it. The scheduler waits them out itself, outside its database
    transaction. Its connections to Slack are kept open between calls (keep_alive.py)."""
    handlers: list[RetryHandler] = [RetryUnlessItMayHavePosted(max_retry_count=2)]
    if wait_out_rate_limits:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return KeepAliveWebClient(
        token=settings.bot_token,
        base_url=settings.api_url,
        timeout=15,
        retry_handlers=handlers,
    )


def build_services(
    settings: Settings,
    client: WebClient,
    db: Database | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Services:
    """The services on a migrated database. Raises FlowDefinitionError for a bad flow file:
    better at start than halfway through somebody's check. `clock` is what every step,
    post, review and reminder pass takes the time from (the sandbox's can be moved on)."""
    flows = {name: load_flow(name) for name in ("check", "review", "partner")}
    for name, roles in NEEDED_ROLES.items():
        flows[name].require(roles)
    flows["check"].require(q.shows for q in flows["partner"].questions if q.shows)
    check_topics(flows["check"], flows["partner"])
    database = db or Database(settings.database_url)
    database.upgrade()
    messenger = Messenger(client)
    outbox = Outbox(database, messenger, clock=utc_now)
    notify = SlackNotifier(messenger, outbox)
    runs = Runs(flows, clock=clock)
    steps = Steps(database, notify, runs, settings.partnership_channel)
    starting = Starting(steps)
    holidays = holiday_calendar(settings.review_holidays)
    partners = Partners(steps, starting, holidays)
    members = ChannelMembers(messenger)
    # The scheduler's own client waits out no 429: it does that itself, between units of work.
    scheduler_notify = SlackNotifier(Messenger(make_client(settings, False)), outbox)
    return Services(
        db=database,
        runs=runs,
        notify=notify,
        steps=steps,
        starting=starting,
        recommendations=Recommendations(steps, starting),
        reviews=Reviews(steps, starting, members),
        partners=partners,
        conditions=ConditionActions(steps, members, partners.redraw),
        scheduler=Scheduler(
            database,
            scheduler_notify,
            clock=lambda: runs.clock(),
            holidays=holidays,
            chasers=[partners.chase],
        ),
        outbox=outbox,
        work=Work(
            ThreadPoolExecutor(max_workers=WORK_THREADS, thread_name_prefix="work"),
            notify,
            database,
        ),
    )
