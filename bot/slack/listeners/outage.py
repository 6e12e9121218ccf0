"""Telling a person plainly when the database did not answer: what did not happen, and
that they can do it again. Nothing was changed (the unit of work rolled back), so trying
again is always safe."""

from __future__ import annotations

import logging

from bot.slack.blocks import notice
from bot.slack.messenger import Messenger
from bot.slack.mrkdwn import clip, escape

log = logging.getLogger(__name__)

DOWN = "my database isn't answering just now, so nothing was changed"
PRESS = f":warning: That didn't go through: {DOWN}. Please press it again in a minute."
COMMAND = f":warning: I couldn't do that: {DOWN}. Please try again in a minute."
# A slash command's acknowledgement cannot wait: how long it gives the database.
ACK_PATIENCE = 1.5


def typed(text: str) -> str:
    return (
        f":warning: I couldn't save \u201c{clip(escape(text.strip()), 80)}\u201d: {DOWN}. "
        "Please send it again in a minute."
    )


def tell(slack: Messenger, user_id: str, text: str) -> None:
    """Say `text` in the person's DM (Slack itself is still there)."""
    log.warning("The database did not answer; told %s", user_id)
    slack.say(slack.open_dm(user_id), notice(text))
