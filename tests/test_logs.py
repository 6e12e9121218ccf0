"""Logging set-up: what the bot's configuration does to the libraries' loggers."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot import logs


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure() replaces the root handlers: put back pytest's after each test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    names = (*logs.CHATTY, logs.SLACK_SDK_CLIENT)
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    root.handlers[:], root.level = handlers, level
    for name, before in levels.items():
        logging.getLogger(name).setLevel(before)


@pytest.mark.parametrize("level", ["INFO", "WARNING", "DEBUG"])
def test_slack_sdk_builds_its_request_lines_only_when_they_can_be_written(
    restored_logging: None, level: str
) -> None:
    """slack_sdk formats a debug line of every request's body when its logger's own level
    is DEBUG or unset; at the bot's level it is set, so it builds none at INFO."""
    logs.configure(level)
    client_logger = logging.getLogger(logs.SLACK_SDK_CLIENT)
    assert client_logger.level == logging.getLevelName(level)
    assert (client_logger.level <= logging.DEBUG) == (level == "DEBUG")
