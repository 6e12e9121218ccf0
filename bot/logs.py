"""Logging set-up that never writes a Slack token, whichever library logs it."""

from __future__ import annotations

import logging
import re

TOKEN = re.compile(r"xox[abpres]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if TOKEN.search(message):
            record.msg, record.args = TOKEN.sub("xox*-[redacted]", message), None
        return True


class OneLine(logging.Filter):
    """A message never spans lines, so text from a request or from Slack cannot start a
    log line of its own and pass for one the bot wrote (tracebacks are kept apart)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "\n" in message or "\r" in message:
            record.msg = message.replace("\r", "\\r").replace("\n", "\\n")
            record.args = None
        return True


# Libraries that narrate every step at INFO (alembic's plugins at each start, transitions
# at each answer): kept at WARNING unless LOG_LEVEL is DEBUG.
CHATTY = ("alembic", "transitions")
SLACK_SDK_CLIENT = "slack_sdk.web.base_client"  # the logger of slack_sdk's Web API client


def configure(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    handler.addFilter(OneLine())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    # slack_sdk decides whether to format a debug line of every request (its whole body)
    # from its logger's own level, and an unset level counts as DEBUG there: set it, so
    # the line is only built when it can be written.
    logging.getLogger(SLACK_SDK_CLIENT).setLevel(level)
