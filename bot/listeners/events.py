"""Events API: messages in the bot's DM, and the App Home tab."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_sdk import WebClient

from .. import blocks
from ..conversations import Actor
from ..listing import recent_checks
from .acks import acknowledge
from .payload import as_text

if TYPE_CHECKING:
    from ..slack_app import Services


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
        services.conversations.on_message(
            Actor(team_id=team, user_id=user),
            channel,
            as_text(event.get("text")) or "",
            as_text(body.get("event_id")),
        )

    def home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        user, team = as_text(event.get("user")), as_text(body.get("team_id"))
        if event.get("tab", "home") != "home" or not (user and team):
            return
        actor = Actor(team_id=team, user_id=user)
        view = blocks.home_view(
            services.conversations.check_flow, recent_checks(services.db, actor)
        )
        client.views_publish(user_id=actor.user_id, view=view)

    app.event("message")(ack=acknowledge, lazy=[direct_message])
    app.event("app_home_opened")(ack=acknowledge, lazy=[home_opened])
