"""Bolt listeners, registered per kind: commands, actions, events.

Each listener is split in two (Bolt's "lazy listeners"): a tiny `ack` part that runs in
the HTTP request and answers Slack in milliseconds, and the real work, which runs after
on Bolt's thread pool. So the acknowledgement never waits behind other people's work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import App

from . import actions, commands, events

if TYPE_CHECKING:
    from bot.slack.app import Services


def register(app: App, services: Services) -> None:
    commands.register(app, services)
    actions.register(app, services)
    events.register(app, services)
