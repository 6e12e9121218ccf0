"""Events API: messages in the bot's DM, and the App Home tab. Acknowledged at once; the
work runs after, on the app's pool."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core.actors import Actor
from bot.core.listing import recent_checks
from bot.core.lookups import first_delivery
from bot.slack import blocks
from bot.slack.listeners import errors
from bot.slack.listeners.payload import as_text
from bot.slack.mrkdwn import unescape
from bot.storage.db import DatabaseUnavailable
from flows.answers import clean

if TYPE_CHECKING:
    from bot.slack.services import Services

# Words typed in the DM that are commands, not answers.
NEW, HELP, RESUME = ("new", "start"), ("help",), ("resume", "continue")


def register(app: App, services: Services) -> None:
    steps, starting = services.steps, services.starting

    def reply(actor: Actor, channel: str, text: str, event_id: str | None) -> None:
        word = clean(text).strip().lower()
        if word not in (*NEW, *HELP, *RESUME):
            steps.typed(actor, channel, text, event_id)
        elif not first_delivery(services.db, event_id, actor.team_id):
            return  # Slack's retry of one already handled
        elif word in NEW:
            starting.check(actor)
        elif word in HELP:
            steps.help_here(actor, channel)
        elif not starting.current(actor):
            services.notify.nothing_in_progress(channel)

    def direct_message(ack: Ack, event: dict[str, Any], body: dict[str, Any]) -> None:
        ack()
        # Edits, deletions, joins and bot posts (our own included) are not answers.
        channel, user = as_text(event.get("channel")), as_text(event.get("user"))
        in_dm = event.get("channel_type") == "im" or (channel or "").startswith("D")
        if not in_dm or event.get("subtype") or event.get("bot_id"):
            return
        team = as_text(body.get("team_id")) or as_text(event.get("team"))
        if not (channel and user and team):
            return
        text = unescape(as_text(event.get("text")) or "")
        actor = Actor(team_id=team, user_id=user)
        event_id = as_text(body.get("event_id"))
        services.work.later(
            actor, lambda: reply(actor, channel, text, event_id), failed=errors.typed(text)
        )

    def home_opened(
        ack: Ack, event: dict[str, Any], body: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        user, team = as_text(event.get("user")), as_text(body.get("team_id"))
        if event.get("tab", "home") != "home" or not (user and team):
            return
        actor = Actor(team_id=team, user_id=user)

        def publish() -> None:
            try:
                checks = recent_checks(services.db, actor, steps.runs.check_flow)
            except DatabaseUnavailable:
                return  # the Home tab keeps what it showed; it is drawn again when next opened
            view = blocks.home_view(steps.runs.check_flow, checks)
            client.views_publish(user_id=actor.user_id, view=view)

        services.work.later(actor, publish)

    app.event("message")(direct_message)
    app.event("app_home_opened")(home_opened)
