"""`/partnership [new|list|review P-12|recheck P-12|cancel|help]`: answered in the ack,
work done after on the app's pool. The subcommands themselves are listed in
bot/slack/subcommands.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App

from bot.core.actors import Actor
from bot.core.listing import recent_checks
from bot.slack import blocks
from bot.slack.listeners import errors
from bot.slack.mrkdwn import clip, escape
from bot.slack.subcommands import BY_WORD, usage
from bot.storage.db import DatabaseUnavailable

if TYPE_CHECKING:
    from bot.slack.services import Services


# What the acknowledgement says (Slack shows it at once), and the work done after it.
Reply = dict[str, Any]


def register(app: App, services: Services) -> None:
    steps, starting, reviews = services.steps, services.starting, services.reviews
    recommendations = services.recommendations
    flow = steps.runs.check_flow

    def started(problem: str | None, what: str) -> Reply:
        return {
            "text": escape(problem) if problem else f"Starting the {what} in our direct messages."
        }

    def cancel_reply(actor: Actor, _rest: str) -> Reply:
        if starting.has_active(actor):
            return {"text": "Cancelling your check in progress."}
        return {"text": "You have no check in progress. Start one with `/partnership new`."}

    def list_reply(actor: Actor, _rest: str) -> Reply:
        return blocks.list_message(recent_checks(services.db, actor, flow)).as_kwargs()

    # One entry per subcommand of bot/slack/subcommands.py (a test asks each of them).
    replies: dict[str, Callable[[Actor, str], Reply]] = {
        "new": lambda _a, _r: {
            "text": "Let's check a partnership: I've sent you a direct message."
        },
        "list": list_reply,
        "review": lambda a, r: started(reviews.problem_with(a, r), "review"),
        "recheck": lambda a, r: started(recommendations.recheck_problem(a, r), "re-check"),
        "cancel": cancel_reply,
        "help": lambda _a, _r: blocks.help_message(flow).as_kwargs(),
    }

    def review(actor: Actor, rest: str) -> None:
        if reviews.problem_with(actor, rest) is None:  # refusals were said in the ack
            problem = reviews.start_by_reference(actor, rest)
            if problem:  # what remains (busy with another review) goes to the DM
                services.notify.note(services.notify.dm_of(actor.user_id), escape(problem))

    def recheck(actor: Actor, rest: str) -> None:
        if recommendations.recheck_problem(actor, rest) is None:
            recommendations.start_recheck(actor, rest)

    works: dict[str, Callable[[Actor, str], None]] = {
        "new": lambda a, _r: starting.check(a),
        "review": review,
        "recheck": recheck,
        "cancel": lambda a, _r: steps.cancel_active(a),
    }

    def command(ack: Ack, command: dict[str, Any]) -> None:
        sub, rest, actor = _parse(command)
        reply = replies.get(sub)
        if reply is None:
            ack(text=f"I don't know `{clip(escape(sub), 50)}`. {usage()}")
            return
        try:
            with services.db.patience(errors.ACK_PATIENCE):
                answer = services.db.retry_on_disconnect(lambda: reply(actor, rest))
            ack(**answer)
        except DatabaseUnavailable:
            ack(text=errors.COMMAND)
            return
        if (act := works.get(sub)) is not None:
            services.work.later(actor, lambda: act(actor, rest), failed=errors.COMMAND)

    app.command("/partnership")(command)


def _parse(command: dict[str, Any]) -> tuple[str, str, Actor]:
    """(subcommand name, the rest, who): the name as in the table, whatever alias was typed."""
    words = (command.get("text") or "").strip().split(maxsplit=1)
    actor = Actor(team_id=command["team_id"], user_id=command["user_id"])
    typed = words[0].lower() if words else ""
    sub = BY_WORD[typed].name if typed in BY_WORD else typed
    return sub, (words[1] if len(words) > 1 else ""), actor
