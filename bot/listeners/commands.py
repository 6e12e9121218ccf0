"""`/partnership [new|list|review P-12|cancel|help]`: answered in the ack, work done after."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App

from .. import blocks
from ..conversations import Actor
from ..listing import recent_checks
from ..mrkdwn import clip, escape

if TYPE_CHECKING:
    from ..slack_app import Services

USAGE = (
    "Try `/partnership new`, `/partnership list`, `/partnership review P-12`, "
    "`/partnership cancel` or `/partnership help`."
)
START = ("", "new", "start")


def register(app: App, services: Services) -> None:
    conversations = services.conversations

    def answer(ack: Ack, command: dict[str, Any]) -> None:
        sub, rest, actor = _parse(command)
        if sub in START:
            ack(text="Let's check a partnership: I've sent you a direct message.")
        elif sub == "help":
            ack(**blocks.help_message(conversations.check_flow).as_kwargs())
        elif sub == "list":
            ack(**blocks.list_message(recent_checks(services.db, actor)).as_kwargs())
        elif sub == "review":
            problem = services.reviews.problem_with(actor, rest)
            ack(text=escape(problem) if problem else "Starting the review in our direct messages.")
        elif sub == "cancel":
            if conversations.has_active(actor):
                ack(text="Cancelling your check in progress.")
            else:
                ack(text="You have no check in progress. Start one with `/partnership new`.")
        else:
            ack(text=f"I don't know `{clip(escape(sub), 50)}`. {USAGE}")

    def work(command: dict[str, Any]) -> None:
        sub, rest, actor = _parse(command)
        if sub in START:
            conversations.start_check(actor)
        elif sub == "cancel":
            conversations.cancel_active(actor)
        elif sub == "review" and services.reviews.problem_with(actor, rest) is None:
            # Refusals were answered in the ack; what remains (busy with another) goes to the DM.
            problem = services.reviews.start_by_reference(actor, rest)
            if problem:
                dm = conversations.slack.open_dm(actor.user_id)
                conversations.slack.say(dm, blocks.notice(escape(problem)))

    app.command("/partnership")(ack=answer, lazy=[work])


def _parse(command: dict[str, Any]) -> tuple[str, str, Actor]:
    words = (command.get("text") or "").strip().split(maxsplit=1)
    actor = Actor(team_id=command["team_id"], user_id=command["user_id"])
    sub = words[0].lower() if words else ""
    return sub, (words[1] if len(words) > 1 else ""), actor
