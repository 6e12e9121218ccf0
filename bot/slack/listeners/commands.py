"""`/partnership [new|list|review P-12|recheck P-12|cancel|help]`: answered in the ack,
work done after. The subcommands themselves are listed in bot/slack/subcommands.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App

from bot.core.conversations import Actor
from bot.core.listing import recent_checks
from bot.slack import blocks
from bot.slack.mrkdwn import clip, escape
from bot.slack.subcommands import BY_WORD, usage
from bot.storage.db import DatabaseUnavailable

from . import outage

if TYPE_CHECKING:
    from bot.slack.app import Services


# What the acknowledgement says (Slack shows it at once), and the work done after it.
Reply = dict[str, Any]


def register(app: App, services: Services) -> None:
    conversations, reviews = services.conversations, services.reviews
    recommendations = services.recommendations

    def started(problem: str | None, what: str) -> Reply:
        return {
            "text": escape(problem) if problem else f"Starting the {what} in our direct messages."
        }

    def cancel_reply(actor: Actor, _rest: str) -> Reply:
        if conversations.has_active(actor):
            return {"text": "Cancelling your check in progress."}
        return {"text": "You have no check in progress. Start one with `/partnership new`."}

    def list_reply(actor: Actor, _rest: str) -> Reply:
        checks = recent_checks(services.db, actor, conversations.check_flow)
        return blocks.list_message(checks).as_kwargs()

    # One entry per subcommand of bot/slack/subcommands.py (a test asks each of them).
    replies: dict[str, Callable[[Actor, str], Reply]] = {
        "new": lambda _a, _r: {
            "text": "Let's check a partnership: I've sent you a direct message."
        },
        "list": list_reply,
        "review": lambda a, r: started(reviews.problem_with(a, r), "review"),
        "recheck": lambda a, r: started(recommendations.recheck_problem(a, r), "re-check"),
        "cancel": cancel_reply,
        "help": lambda _a, _r: blocks.help_message(conversations.check_flow).as_kwargs(),
    }

    def review(actor: Actor, rest: str) -> None:
        if reviews.problem_with(actor, rest) is None:  # refusals were said in the ack
            problem = reviews.start_by_reference(actor, rest)
            if problem:  # what remains (busy with another review) goes to the DM
                dm = conversations.slack.open_dm(actor.user_id)
                conversations.slack.say(dm, blocks.notice(escape(problem)))

    def recheck(actor: Actor, rest: str) -> None:
        if recommendations.recheck_problem(actor, rest) is None:
            recommendations.start_recheck(actor, rest)

    works: dict[str, Callable[[Actor, str], None]] = {
        "new": lambda a, _r: conversations.start_check(a),
        "review": review,
        "recheck": recheck,
        "cancel": lambda a, _r: conversations.cancel_active(a),
    }

    def answer(ack: Ack, command: dict[str, Any]) -> None:
        sub, rest, actor = _parse(command)
        reply = replies.get(sub)
        if reply is None:
            ack(text=f"I don't know `{clip(escape(sub), 50)}`. {usage()}")
            return
        try:
            with services.db.patience(outage.ACK_PATIENCE):
                ack(**reply(actor, rest))
        except DatabaseUnavailable:
            ack(text=outage.COMMAND)

    def work(command: dict[str, Any]) -> None:
        sub, rest, actor = _parse(command)
        if (act := works.get(sub)) is None:
            return
        try:
            act(actor, rest)
        except DatabaseUnavailable:
            outage.tell(conversations.slack, actor.user_id, outage.COMMAND)

    app.command("/partnership")(ack=answer, lazy=[work])


def _parse(command: dict[str, Any]) -> tuple[str, str, Actor]:
    """(subcommand name, the rest, who): the name as in the table, whatever alias was typed."""
    words = (command.get("text") or "").strip().split(maxsplit=1)
    actor = Actor(team_id=command["team_id"], user_id=command["user_id"])
    typed = words[0].lower() if words else ""
    sub = BY_WORD[typed].name if typed in BY_WORD else typed
    return sub, (words[1] if len(words) > 1 else ""), actor
