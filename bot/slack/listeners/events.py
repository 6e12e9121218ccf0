"""Events API: messages in the bot's DM, and the App Home tab."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.core.conversations import Actor
from bot.core.listing import recent_checks
from bot.slack import blocks
from bot.storage.db import DatabaseUnavailable

from . import outage
from .acks import acknowledge
from .payload import as_text

if TYPE_CHECKING:
    from bot.slack.app import Services


def register(app: App, services: Services) -> None:
    def direct_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        # Edits, deletions, joins and bot posts (our own included) are not answers.
        channel, user = as_text(event.get("channel")), as_text(event.get("user"))
        in_dm = event.get("channel_type") == "im" or (channel or "").startswith("D")
        if not in_dm or event.get("subtype") or event.get("bot_id"):
            return
        team = as_text(body.get("team_id")) or as_text(event.get("team"))
        if not (channel and user and team):
            return
        text = as_text(event.get("text")) or ""
        try:
            services.conversations.on_message(
                Actor(team_id=team, user_id=user), channel, text, as_text(body.get("event_id"))
            )
        except DatabaseUnavailable:
            outage.tell(services.conversations.slack, user, outage.typed(text))

    def home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        user, team = as_text(event.get("user")), as_text(body.get("team_id"))
        if event.get("tab", "home") != "home" or not (user and team):
            return
        actor = Actor(team_id=team, user_id=user)
        try:
            checks = recent_checks(services.db, actor, services.conversations.check_flow)
        except DatabaseUnavailable:
            return  # the Home tab keeps what it showed; it is drawn again when next opened
        view = blocks.home_view(services.conversations.check_flow, checks)
        client.views_publish(user_id=actor.user_id, view=view)

    app.event("message")(ack=acknowledge, lazy=[direct_message])
    app.event("app_home_opened")(ack=acknowledge, lazy=[home_opened])
