"""Bolt listeners, registered per kind: commands, actions, events.

Each listener is split in two (Bolt's "lazy listeners"): a tiny `ack` part that runs in
the HTTP request and answers Slack in milliseconds, and the real work, which runs after
on Bolt's thread pool. So the acknowledgement never waits behind other people's work.
"""

from slack_bolt import App

from ..checks import Checks
from ..db import Database
from . import actions, commands, events


def register(app: App, checks: Checks, db: Database) -> None:
    commands.register(app, checks, db)
    actions.register(app, checks)
    events.register(app, checks, db)
