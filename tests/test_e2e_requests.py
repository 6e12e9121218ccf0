"""Requests Slack would never send, at the bot's real HTTP endpoint: oversized, unsigned,
badly signed, malformed once signed, and fuzzed. None may get a 5xx or a traceback, fill
memory or write a request's body to the log; Slack's own requests still work after them.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
import logging
import os
import random
import socket
import time
import urllib.parse
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sandbox.fakeslack import FakeSlack
from bot.slack.http_server import MAX_BODY
from tests.conftest import ALICE, SIGNING_SECRET
from tests.e2e_support import BOTH_DATABASES, Journey, mrkdwn_texts, press_payload, proposal
from tests.proposer import GOOD
from tests.slack_driver import BotServer, DriverResponse, SlackDriver, serve

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def signed(slack: SlackDriver, body: bytes, content_type: str = FORM) -> DriverResponse:
    """POST `body` signed with the app's secret, whatever bytes it holds."""
    timestamp = str(int(time.time()))
    digest = hmac.new(
        SIGNING_SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256
    ).hexdigest()
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
    }
    return slack.raw(body, headers)


def interaction(slack: SlackDriver, payload: Any) -> DriverResponse:
    return signed(slack, urlencode({"payload": json.dumps(payload)}).encode())


def get(base_url: str, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(base_url + path, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


@pytest.fixture
def journey(slack: SlackDriver, fake_slack: FakeSlack) -> Journey:
    return Journey(slack, fake_slack, ALICE)


def test_an_oversized_body_is_refused_unread_and_never_logged(
    slack: SlackDriver, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "SECRET-" + "x" * 100
    body = (f"payload={secret}" + "y" * (4 * MAX_BODY)).encode()
    with caplog.at_level(logging.DEBUG):
        status = _status_of_oversized(slack.url, body)
    assert status == 413
    assert all("SECRET-" not in record.getMessage() for record in caplog.records)


def _status_of_oversized(url: str, body: bytes) -> int:
    """POST `body` over a plain socket and read the status line. The server answers 413
    and closes without reading the rest, so the sending may fail half-way (a broken
    pipe); the answer is read all the same, as a client that keeps reading would."""
    address = urllib.parse.urlsplit(url)
    head = (
        f"POST {address.path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        f"Content-Type: {FORM}\r\nX-Slack-Signature: v0=00\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head + body)
        answer = sock.recv(64)
    return int(answer.split()[1])


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": ""},
        {"X-Slack-Request-Timestamp": "1" * 40, "X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=bad"},
    ],
)
@pytest.mark.parametrize("body", [b"payload=%FF", b"\xff\xfe\x00", b"command=%2Fpartnership"])
def test_unsigned_requests_are_refused_before_anything_reads_them(
    slack: SlackDriver,
    caplog: pytest.LogCaptureFixture,
    headers: dict[str, str],
    body: bytes,
) -> None:
    with caplog.at_level(logging.DEBUG):
        response = slack.raw(body, {"Content-Type": FORM, **headers})
    assert response.status == 401
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert all("%FF" not in r.getMessage() for r in caplog.records)


DEEP = "[" * 50_000 + "]" * 50_000


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"payload=%FF", FORM),
        (b"\xff\xfe", FORM),
        (b"payload=not-json", FORM),
        (urlencode({"payload": DEEP}).encode(), FORM),
        (urlencode({"payload": "[]"}).encode(), FORM),
        (urlencode({"payload": json.dumps({"type": "block_actions"})}).encode(), FORM),
        (
            urlencode(
                {"payload": json.dumps({"type": "block_actions", "user": {"id": ALICE}})}
            ).encode(),
            FORM,
        ),
        (
            urlencode(
                {
                    "payload": json.dumps(
                        {"type": "block_actions", "user": {"id": ALICE}, "actions": []}
                    )
                }
            ).encode(),
            FORM,
        ),
        (
            urlencode(
                {
                    "payload": json.dumps(
                        {"type": "block_actions", "user": {"id": ALICE}, "actions": [{}]}
                    )
                }
            ).encode(),
            FORM,
        ),
        (urlencode({"command": "/partnership", "team_id": "T000TEST"}).encode(), FORM),
        (b"hello=world", FORM),
        (json.dumps({"type": "event_callback", "event": None}).encode(), JSON),
        (json.dumps({"type": "event_callback"}).encode(), JSON),
        (DEEP.encode(), JSON),
        (b"{not json", JSON),
        (b"[]", JSON),
    ],
)
def test_signed_but_malformed_requests_get_400_never_500(
    slack: SlackDriver, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    with caplog.at_level(logging.DEBUG):
        response = signed(slack, body, content_type)
    assert response.status == 400, response.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_the_health_and_readiness_checks(bot_server: BotServer, fake_slack: FakeSlack) -> None:
    assert get(bot_server.base_url, "/healthz") == (200, "ok")
    assert get(bot_server.base_url, "/readyz") == (200, "ready")
    assert get(bot_server.base_url, "/slack/nowhere")[0] == 404


def test_readiness_fails_while_the_database_cannot_be_reached(bot_server: BotServer) -> None:
    from bot.storage.db import Database

    unreachable = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    try:
        with serve(bot_server.app, ready=unreachable.is_reachable) as base_url:
            assert get(base_url, "/healthz") == (200, "ok")
            assert get(base_url, "/readyz") == (503, "database unreachable")
    finally:
        unreachable.close()


# --- fuzzing: signed payloads with parts changed, removed or replaced -------------------------

JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


def mutate(payload: dict[str, Any], seed: int, junk: Any) -> Any:
    """`payload` with one part (chosen by `seed`) removed or replaced by `junk`."""
    chooser = random.Random(seed)
    mutated = copy.deepcopy(payload)
    path = chooser.choice(_paths(mutated)[1:])
    parent = mutated
    for step in path[:-1]:
        parent = parent[step]
    if chooser.random() < 0.3 and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = junk
    return mutated


def _bases(slack: SlackDriver, fake: FakeSlack, message: dict[str, Any]) -> list[Any]:
    """What Slack sends, to mutate: a press on an answer, a DM reply, a slash command."""
    press = press_payload(slack, fake, ALICE, message, action_id="answer_1")
    event = {
        "type": "event_callback",
        "team_id": slack.team_id,
        "api_app_id": slack.api_app_id,
        "event_id": "Ev0FUZZ",
        "event": {
            "type": "message",
            "channel": fake.dm_channel(ALICE),
            "channel_type": "im",
            "user": ALICE,
            "text": "not sure",
            "ts": "1700000000.000100",
        },
    }
    command = {
        "team_id": slack.team_id,
        "channel_id": fake.dm_channel(ALICE),
        "user_id": ALICE,
        "command": "/partnership",
        "text": "review P-1",
        "response_url": fake.new_response_url(),
        "trigger_id": fake.new_trigger_id(),
    }
    return [press, event, command]


@pytest.fixture
def bases(slack: SlackDriver, fake_slack: FakeSlack) -> list[Any]:
    """The requests to mutate, read once with ALICE's check at a question with buttons
    (a mutation may still be a valid press, and answer it)."""
    journey = Journey(slack, fake_slack, ALICE)
    return _bases(slack, fake_slack, journey.run_to(GOOD, "lighter_route"))


@settings(
    # FUZZ_EXAMPLES=20000 for a deep run by hand; CI runs a few hundred.
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(kind=st.integers(0, 2), seed=st.integers(0, 10**6), junk=JUNK)
def test_fuzzed_requests_never_get_a_5xx_or_a_traceback(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    bases: list[Any],
    kind: int,
    seed: int,
    junk: Any,
) -> None:
    mutated = mutate(bases[kind], seed, junk)
    with caplog.at_level(logging.WARNING):
        if kind == 0:
            response = interaction(slack, mutated)
        elif kind == 1:
            response = signed(slack, json.dumps(mutated).encode(), JSON)
        else:
            form = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in mutated.items()}
            response = signed(slack, urlencode(form).encode())
        fake_slack.wait_idle(quiet=0.1)
    assert response.status < 500, response.text
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert not tracebacks, tracebacks[0].getMessage()


# --- text that is not what it looks like ---------------------------------------------------


@BOTH_DATABASES
def test_invisible_and_control_characters_are_taken_out_and_the_check_still_posts(
    slack: SlackDriver, fake_slack: FakeSlack, database: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    answers = proposal(
        name="Falls\x00 team\u202e",
        problem="Falls at home\r\nand long waits\u200b.",
    )
    post = alice.post(alice.complete(answers))
    assert post["text"].startswith("P-1 Falls team:"), post["text"]
    assert "\x00" not in json.dumps(post) and "\u202e" not in json.dumps(post)
    assert "*Problem:* Falls at home\nand long waits." in "\n".join(mrkdwn_texts(post["blocks"]))


def test_a_name_of_only_invisible_characters_is_refused_with_a_reason(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    question = alice.start()
    seen = alice.count()
    slack.dm(ALICE, "\u200b\u200d\x00 ")
    notice = alice.wait_notice(seen, "can't be empty")
    assert "Please type an answer" in notice["text"]
    assert alice.current(question)["blocks"] == question["blocks"], "the question is still open"
