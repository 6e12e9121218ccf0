"""Bolt listeners, registered per kind: commands, actions, events.

A middleware reads who acted and what the press carries once (`payload.read_payload`).
Each listener acknowledges Slack in the request, in milliseconds, and hands the real
work to the app's pool (`errors.Work`), where a failure is said to the person or logged;
`@app.error` covers what fails before that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.slack.services import Services


def register(app: App, services: Services) -> None:
    # Imported here: the command line's other commands never load Bolt.
    from slack_bolt import BoltContext

    from bot.slack.listeners import actions, commands, events
    from bot.slack.listeners.payload import read_payload

    app.middleware(read_payload)
    commands.register(app, services)
    actions.register(app, services)
    events.register(app, services)

    @app.error
    def on_error(error: Exception, context: BoltContext) -> None:
        services.work.report(error, context.get("actor"))
