"""The Bolt app: the services' listeners behind Slack's signature check."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.settings import Settings
from bot.slack.services import Services, build_services, make_client

if TYPE_CHECKING:
    from slack_bolt import App


def _not_token_unused(record: logging.LogRecord) -> bool:
    # Bolt reads SLACK_BOT_TOKEN from the environment even when given a client, then warns
    # that the token "will be unused"; the client carries that same token, so it is noise.
    return "`token` will be unused" not in record.getMessage()


def create_app(settings: Settings, services: Services | None = None) -> App:
    # Bolt and the listeners only here: `reminders run-due` builds the services alone.
    from slack_bolt import App

    from bot.slack import listeners

    client = make_client(settings)
    bolt_log = logging.getLogger("slack_bolt")
    if _not_token_unused not in bolt_log.filters:
        bolt_log.addFilter(_not_token_unused)
    app = App(
        signing_secret=settings.signing_secret or None,
        client=client,
        # Each listener acknowledges inside the request and hands its work to the app's
        # pool (`Services.work`), so acks never queue behind slow work.
        process_before_response=True,
        logger=bolt_log,
    )
    listeners.register(app, services or build_services(settings, client))
    return app
