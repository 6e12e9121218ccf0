"""What the sandbox's page shows one person: their conversations, the messages (and the
ephemerals meant for them) in the one they look at, an open thread, their Home tab, the
clock, and every call Slack refused, read from the fake Slack as Slack's client reads it.

The page renders this JSON; it never sees the fake's bookkeeping (edit history, metadata).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.sandbox.fakeslack import FakeSlack
from bot.sandbox.workspace import CHANNEL_ID, CHANNEL_NAME, PEOPLE

SHOWN_REFUSALS = 10  # the newest refused calls, on the page


def screen(
    fake: FakeSlack,
    clock: Callable[[], datetime],
    clock_moved: bool,
    user: str,
    channel: str | None,
    thread_ts: str | None,
) -> dict[str, Any]:
    names = {p.id: p.real_name for p in PEOPLE} | {fake.bot_user_id: "Partnership Check"}
    dm = fake.dm_channel(user)
    looking_at = channel if channel in (dm, CHANNEL_ID) else None

    def shown(message: dict[str, Any]) -> dict[str, Any]:
        author = message["user"]
        return {
            "ts": message["ts"],
            "author": names.get(author, author),
            "is_bot": author == fake.bot_user_id,
            "text": message["text"],
            "blocks": message.get("blocks") or [],
            "reply_count": message.get("reply_count", 0),
            "edited": bool(message.get("edited")),
            "ephemeral": bool(message.get("ephemeral")),
        }

    def place(thread: str | None) -> list[dict[str, Any]]:
        if looking_at is None:
            return []
        messages = fake.messages(looking_at, thread)
        ephemerals = [
            e for e in fake.ephemerals(user, looking_at) if (e.get("thread_ts") or None) == thread
        ]
        return [shown(m) for m in sorted([*messages, *ephemerals], key=lambda m: _ts(m["ts"]))]

    thread = None
    if looking_at is not None and thread_ts:
        parent = fake.message(looking_at, thread_ts)
        if parent is not None:
            thread = {"parent": shown(parent), "replies": place(thread_ts)}
    return {
        "now": clock().isoformat(),
        "clock_moved": clock_moved,
        "me": user,
        "people": [{"id": p.id, "name": p.real_name} for p in PEOPLE],
        "conversations": [
            {"id": dm, "name": "Partnership Check", "kind": "dm"},
            {"id": CHANNEL_ID, "name": CHANNEL_NAME, "kind": "channel"},
        ],
        "channel": looking_at,
        "messages": place(None),
        "thread": thread,
        "home": fake.home_view(user),
        "refused": [
            {
                "method": call.method,
                "error": call.error,
                "details": call.response.get("response_metadata", {}).get("messages", []),
            }
            for call in fake.errors[-SHOWN_REFUSALS:]
        ],
    }


def _ts(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)
