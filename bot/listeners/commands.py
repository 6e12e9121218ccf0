"""`/partnership [new|list|help|cancel]`: answered in the ack, any slow work done after."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from .. import blocks
from ..checks import Actor, Checks
from ..db import Database
from ..listing import recent_checks
from ..mrkdwn import clip, escape

USAGE = "Try `/partnership new`, `/partnership list`, `/partnership cancel` or `/partnership help`."
START = ("", "new", "start")


def register(app: App, checks: Checks, db: Database) -> None:
    def answer(ack: Ack, command: dict[str, Any]) -> None:
        sub, actor = _parse(command)
        if sub in START:
            ack(text="Let's check a partnership: I've sent you a direct message.")
        elif sub == "help":
            ack(**blocks.help_message(checks.flow).as_kwargs())
        elif sub == "list":
            ack(**blocks.list_message(recent_checks(db, actor)).as_kwargs())
        elif sub == "cancel":
            if checks.has_active(actor):
                ack(text="Cancelling your check in progress.")
            else:
                ack(text="You have no check in progress. Start one with `/partnership new`.")
        else:
            ack(text=f"I don't know `{clip(escape(sub), 50)}`. {USAGE}")

    def work(command: dict[str, Any]) -> None:
        sub, actor = _parse(command)
        if sub in START:
            checks.start(actor)
        elif sub == "cancel":
            checks.cancel_active(actor)

    app.command("/partnership")(ack=answer, lazy=[work])


def _parse(command: dict[str, Any]) -> tuple[str, Actor]:
    words = (command.get("text") or "").strip().split(maxsplit=1)
    actor = Actor(team_id=command["team_id"], user_id=command["user_id"])
    return (words[0].lower() if words else ""), actor
