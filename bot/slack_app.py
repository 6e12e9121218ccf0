"""Building the Bolt app: one WebClient (pointed at SLACK_API_URL), the flow, the listeners."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from flows import load_flow

from . import listeners
from .checks import Checks
from .db import Database
from .settings import Settings

log = logging.getLogger(__name__)


def make_client(settings: Settings) -> WebClient:
    """A Web API client that waits out Slack's 429s (Retry-After) and retries dropped
    connections, so a busy channel delays a post instead of losing it."""
    return WebClient(
        token=settings.bot_token,
        base_url=settings.api_url,
        timeout=15,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


def create_app(settings: Settings, db: Database | None = None) -> App:
    """The Bolt app, its database migrated to the newest schema.

    Raises FlowDefinitionError when the flow definitions are invalid: better at start than
    halfway through somebody's check.
    """
    flow = load_flow("check")
    database = db or Database(settings.database_url)
    database.upgrade()
    app = App(
        signing_secret=settings.signing_secret or None,
        client=make_client(settings),
        # Each listener's ack part runs inside the request; its work runs afterwards on
        # the pool below (see bot/listeners), so acks never queue behind slow work.
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(max_workers=32, thread_name_prefix="listener"),
        logger=logging.getLogger("slack_bolt"),
    )
    checks = Checks(database, app.client, flow, settings.partnership_channel)
    listeners.register(app, checks, database)

    @app.error
    def on_error(error: Exception) -> None:
        log.error("Unhandled error in a listener", exc_info=error)

    return app
