"""Building the bot: one WebClient (pointed at SLACK_API_URL), the flows, the services,
and the Bolt app with its listeners."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from flows import load_flow
from flows.schedule import holiday_calendar

from .access import ChannelMembers
from .conversations import Conversations
from .db import Database
from .messenger import Messenger, outcome_unknown
from .outbox import Outbox
from .recommendations import Recommendations
from .reviews import Reviews
from .scheduler import Scheduler
from .settings import Settings

if TYPE_CHECKING:
    from slack_bolt import App

log = logging.getLogger(__name__)


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


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """Everything the listeners and the command line act through."""

    db: Database
    conversations: Conversations
    recommendations: Recommendations
    reviews: Reviews
    scheduler: Scheduler
    outbox: Outbox


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
    transaction."""
    handlers: list[RetryHandler] = [RetryUnlessItMayHavePosted(max_retry_count=2)]
    if wait_out_rate_limits:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return WebClient(
        token=settings.bot_token,
        base_url=settings.api_url,
        timeout=15,
        retry_handlers=handlers,
    )


def build_services(settings: Settings, client: WebClient, db: Database | None = None) -> Services:
    """The services on a migrated database. Raises FlowDefinitionError for a bad flow file:
    better at start than halfway through somebody's check."""
    flows = {name: load_flow(name) for name in ("check", "review")}
    for name, roles in NEEDED_ROLES.items():
        flows[name].require(roles)
    database = db or Database(settings.database_url)
    database.upgrade()
    messenger = Messenger(client)
    outbox = Outbox(database, messenger, clock=utc_now)
    conversations = Conversations(
        database, messenger, flows, settings.partnership_channel, clock=utc_now, outbox=outbox
    )
    return Services(
        db=database,
        conversations=conversations,
        recommendations=Recommendations(conversations),
        reviews=Reviews(conversations, ChannelMembers(messenger)),
        scheduler=Scheduler(
            database,
            Messenger(make_client(settings, wait_out_rate_limits=False)),
            clock=utc_now,
            holidays=holiday_calendar(settings.review_holidays),
        ),
        outbox=outbox,
    )


def _not_token_unused(record: logging.LogRecord) -> bool:
    # Bolt reads SLACK_BOT_TOKEN from the environment even when given a client, then warns
    # that the token "will be unused"; the client carries that same token, so it is noise.
    return "`token` will be unused" not in record.getMessage()


def create_app(settings: Settings, services: Services | None = None) -> App:
    # Bolt and the listeners only here: `reminders run-due` builds the services alone.
    from slack_bolt import App

    from . import listeners

    client = make_client(settings)
    bolt_log = logging.getLogger("slack_bolt")
    if _not_token_unused not in bolt_log.filters:
        bolt_log.addFilter(_not_token_unused)
    app = App(
        signing_secret=settings.signing_secret or None,
        client=client,
        # Each listener's ack part runs inside the request; its work runs afterwards on
        # the pool below (see bot/listeners), so acks never queue behind slow work.
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(max_workers=16, thread_name_prefix="listener"),
        logger=bolt_log,
    )
    listeners.register(app, services or build_services(settings, client))

    @app.error
    def on_error(error: Exception) -> None:
        log.error("Unhandled error in a listener", exc_info=error)

    return app
