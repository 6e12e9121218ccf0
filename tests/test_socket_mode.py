"""Socket Mode as an admin runs it: `python app.py` with an app-level token connects out to
Slack's websocket, answers a slash command over it, and does the work on the Web API."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from bot.sandbox.fakeslack import FakeSlack
from tests.conftest import ALICE, TEAM_ID
from tests.proposer import FLOW, question_in
from tests.test_app_cli import ROOT, clean_env

APP_TOKEN = "xapp-1-socket-test"


class FakeSocketMode:
    """Slack's Socket Mode endpoint: says hello, sends envelopes, collects the acks."""

    def __init__(self, envelopes: list[dict[str, Any]]) -> None:
        self.envelopes = envelopes
        self.acks: queue.Queue[dict[str, Any]] = queue.Queue()
        self.done = threading.Event()
        self.server = serve(self._handle, "127.0.0.1", 0)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link"

    def _handle(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1}))
        for envelope in self.envelopes:
            connection.send(json.dumps(envelope))
            self.acks.put(json.loads(connection.recv(timeout=30)))
        try:
            while not self.done.is_set():
                connection.recv(timeout=0.5)
        except (TimeoutError, ConnectionClosed):
            pass

    def __enter__(self) -> FakeSocketMode:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.done.set()
        self.server.shutdown()


def slash_command(user: str, text: str) -> dict[str, Any]:
    return {
        "envelope_id": "env-1",
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": {
            "token": "unused",
            "team_id": TEAM_ID,
            "team_domain": "fake",
            "channel_id": f"D{user}",
            "channel_name": "directmessage",
            "user_id": user,
            "user_name": "alice",
            "command": "/partnership",
            "text": text,
            "api_app_id": "A0APP",
            "is_enterprise_install": "false",
            "response_url": "http://127.0.0.1:9/unused",
            "trigger_id": "1.2.3",
        },
    }


@pytest.fixture
def socket_bot(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[FakeSocketMode]:
    with FakeSocketMode([slash_command(ALICE, "new")]) as socket:
        fake_slack.app_token, fake_slack.socket_url = APP_TOKEN, socket.url
        env = clean_env(
            SLACK_BOT_TOKEN=fake_slack.bot_token,
            SLACK_APP_TOKEN=APP_TOKEN,
            SLACK_API_URL=fake_slack.api_url,
            DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
            PARTNERSHIP_CHANNEL="C0PARTNERS",
        )
        log = (tmp_path / "bot.log").open("w")
        bot = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")], env=env, cwd=tmp_path, stdout=log, stderr=log
        )
        try:
            yield socket
        finally:
            bot.terminate()
            bot.wait(timeout=10)
            log.close()


def test_socket_mode_acks_over_the_socket_and_starts_the_check(
    socket_bot: FakeSocketMode, fake_slack: FakeSlack
) -> None:
    ack = socket_bot.acks.get(timeout=30)
    assert ack["envelope_id"] == "env-1"
    assert "sent you a direct message" in ack["payload"]["text"]
    opened = fake_slack.calls_to("apps.connections.open")
    assert opened and opened[0].ok
    first = fake_slack.wait_for(
        lambda: next(
            (
                m
                for m in fake_slack.messages(fake_slack.dm_channel(ALICE))
                if question_in(m) is FLOW.questions[0]
            ),
            None,
        ),
        timeout=30,
        message="the first question in Alice's DM",
    )
    assert FLOW.questions[0].id == "name"
    assert first["text"] == "About the proposal: What is the partnership called?"
    assert fake_slack.errors == []


def test_an_app_token_slack_refuses_is_reported_without_a_traceback(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    fake_slack.app_token = APP_TOKEN
    env = clean_env(
        SLACK_BOT_TOKEN=fake_slack.bot_token,
        SLACK_APP_TOKEN="xapp-1-revoked",
        SLACK_API_URL=fake_slack.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Slack refused to start the bot" in result.stderr and "invalid_auth" in result.stderr
    assert "Traceback" not in result.stderr and "xapp-1-revoked" not in result.stderr
