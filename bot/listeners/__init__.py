"""Bolt listeners, registered per kind: commands, actions, events."""

from slack_bolt import App

from ..checks import Checks
from ..db import Database
from . import actions, commands, events


def register(app: App, checks: Checks, db: Database) -> None:
    commands.register(app, checks, db)
    actions.register(app, checks)
    events.register(app, checks, db)
