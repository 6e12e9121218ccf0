"""Helpers for the sandbox's tests: a sandbox on free ports, and its page's HTTP API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.sandbox.run import Sandbox
from bot.settings import Settings


@contextmanager
def sandbox_in(tmp_path: Path) -> Iterator[Sandbox]:
    """The sandbox with its own database in `tmp_path`, its page on a free port."""
    box = Sandbox(Settings(sandbox_database_url=f"sqlite:///{tmp_path / 'sandbox.sqlite3'}"), 0)
    try:
        yield box
    finally:
        box.stop()


def request(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    call = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(call, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code, dict(refused.headers), refused.read()


def post(box: Sandbox, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, _, answer = request(
        box.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    assert status == 200, answer
    return json.loads(answer)  # type: ignore[no-any-return]


def state(box: Sandbox, user: str, channel: str = "", thread: str = "") -> dict[str, Any]:
    query = f"user={user}&channel={channel}&thread={thread}"
    status, _, answer = request(f"{box.url}/state?{query}")
    assert status == 200
    return json.loads(answer)  # type: ignore[no-any-return]
