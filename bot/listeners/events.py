"""Events API: messages in the bot's DM, and the App Home tab."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_sdk import WebClient

from .. import blocks
from ..conversations import Actor
from ..listing import recent_checks
from .acks import acknowledge

if TYPE_CHECKING:
    from ..slack_app import Services


def register(app: App, services: Services) -> None:
    def direct_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        # Edits, deletions, joins and bot posts (our own included) are not answers.
        in_dm = event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D")
        if not in_dm or event.get("subtype") or event.get("bot_id"):
            return
        if "user" not in event:
            return
        actor = Actor(team_id=body.get("team_id") or event.get("team", ""), user_id=event["user"])
        services.conversations.on_message(
            actor, event["channel"], event.get("text") or "", body.get("event_id")
        )

    def home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        actor = Actor(team_id=body.get("team_id", ""), user_id=event["user"])
        view = blocks.home_view(
            services.conversations.check_flow, recent_checks(services.db, actor)
        )
        client.views_publish(user_id=actor.user_id, view=view)

    app.event("message")(ack=acknowledge, lazy=[direct_message])
    app.event("app_home_opened")(ack=acknowledge, lazy=[home_opened])
