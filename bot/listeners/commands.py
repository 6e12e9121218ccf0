"""`/partnership [new|list|help|cancel]`: acknowledged at once, the work done after."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from .. import blocks
from ..checks import Actor, Checks
from ..db import Database
from ..listing import recent_checks
from ..mrkdwn import clip, escape

USAGE = "Try `/partnership new`, `/partnership list`, `/partnership cancel` or `/partnership help`."


def register(app: App, checks: Checks, db: Database) -> None:
    @app.command("/partnership")
    def partnership(ack: Ack, command: dict[str, Any]) -> None:
        actor = Actor(team_id=command["team_id"], user_id=command["user_id"])
        word = (command.get("text") or "").strip().split(maxsplit=1)
        sub = word[0].lower() if word else "new"
        if sub in ("new", "start"):
            ack(text="Let's check a partnership: I've sent you a direct message.")
            checks.start(actor)
        elif sub == "help":
            ack(**blocks.help_message(checks.flow).as_kwargs())
        elif sub == "list":
            ack(**blocks.list_message(recent_checks(db, actor)).as_kwargs())
        elif sub == "cancel":
            if not checks.has_active(actor):
                ack(text="You have no check in progress. Start one with `/partnership new`.")
                return
            ack(text="Cancelling your check in progress.")
            checks.cancel_active(actor)
        else:
            ack(text=f"I don't know `{clip(escape(sub), 50)}`. {USAGE}")
