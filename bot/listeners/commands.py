"""`/partnership [new|list|review P-12|recheck P-12|cancel|help]`: answered in the ack,
work done after. The subcommands themselves are listed in bot/subcommands.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App

from .. import blocks
from ..conversations import Actor
from ..db import DatabaseUnavailable
from ..listing import recent_checks
from ..mrkdwn import clip, escape
from ..subcommands import BY_WORD, usage
from . import outage

if TYPE_CHECKING:
    from ..slack_app import Services


def register(app: App, services: Services) -> None:
    conversations, reviews = services.conversations, services.reviews

    def answer(ack: Ack, command: dict[str, Any]) -> None:
        try:
            with services.db.patience(outage.ACK_PATIENCE):
                reply(ack, command)
        except DatabaseUnavailable:
            ack(text=outage.COMMAND)

    def reply(ack: Ack, command: dict[str, Any]) -> None:
        sub, rest, actor = _parse(command)
        if sub == "new":
            ack(text="Let's check a partnership: I've sent you a direct message.")
        elif sub == "help":
            ack(**blocks.help_message(conversations.check_flow).as_kwargs())
        elif sub == "list":
            checks = recent_checks(services.db, actor, conversations.check_flow)
            ack(**blocks.list_message(checks).as_kwargs())
        elif sub == "review":
            problem = reviews.problem_with(actor, rest)
            ack(text=escape(problem) if problem else "Starting the review in our direct messages.")
        elif sub == "recheck":
            problem = services.recommendations.recheck_problem(actor, rest)
            ack(
                text=escape(problem) if problem else "Starting the re-check in our direct messages."
            )
        elif sub == "cancel":
            if conversations.has_active(actor):
                ack(text="Cancelling your check in progress.")
            else:
                ack(text="You have no check in progress. Start one with `/partnership new`.")
        else:
            ack(text=f"I don't know `{clip(escape(sub), 50)}`. {usage()}")

    def work(command: dict[str, Any]) -> None:
        try:
            act(command)
        except DatabaseUnavailable:
            outage.tell(conversations.slack, command["user_id"], outage.COMMAND)

    def act(command: dict[str, Any]) -> None:
        sub, rest, actor = _parse(command)
        if sub == "new":
            conversations.start_check(actor)
        elif sub == "cancel":
            conversations.cancel_active(actor)
        elif sub == "review" and reviews.problem_with(actor, rest) is None:
            # Refusals were answered in the ack; what remains (busy with another) goes to the DM.
            problem = reviews.start_by_reference(actor, rest)
            if problem:
                dm = conversations.slack.open_dm(actor.user_id)
                conversations.slack.say(dm, blocks.notice(escape(problem)))
        elif sub == "recheck" and services.recommendations.recheck_problem(actor, rest) is None:
            services.recommendations.start_recheck(actor, rest)

    app.command("/partnership")(ack=answer, lazy=[work])


def _parse(command: dict[str, Any]) -> tuple[str, str, Actor]:
    """(subcommand name, the rest, who): the name as in the table, whatever alias was typed."""
    words = (command.get("text") or "").strip().split(maxsplit=1)
    actor = Actor(team_id=command["team_id"], user_id=command["user_id"])
    typed = words[0].lower() if words else ""
    sub = BY_WORD[typed].name if typed in BY_WORD else typed
    return sub, (words[1] if len(words) > 1 else ""), actor
