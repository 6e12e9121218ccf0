"""A local fake of Slack's Web API that is as strict as Slack: the tests' and the sandbox's.

The bot under test talks to this fake over real HTTP through its ordinary `WebClient`
(`SLACK_API_URL` = `FakeSlack.api_url`), so everything between the bot's code and the
wire (slack_sdk serialisation, retry handlers, threads) is exercised. The fake rejects
what Slack rejects: malformed Block Kit (slack_sdk's own validators plus the documented
limits slack_sdk does not check), blocks without a text fallback, unknown channels,
channels the bot is not in, unknown threads; it answers 429 or any error on demand. It
keeps the workspace state (messages, threads, ephemerals, Home tabs) so tests assert on
what a user would actually see, not on mock call arguments.

It serves the Web API methods the bot calls (and Bolt's auth.test and Socket Mode's
apps.connections.open) and no others: `SERVED` lists them, and test_fakeslack checks it
against the bot's code. Any other method, and a response_url (the bot never answers
through one), is refused and counted in `errors`, so a bot that starts using one fails
its tests until the fake serves it, as strictly as the rest.

The bot does its work after acknowledging Slack's request, so tests wait for effects
with `wait_for(...)` rather than asserting immediately.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from bot.sandbox.blockkit import MAX_MESSAGE_BLOCKS, block_kit_errors, view_errors

MAX_MESSAGE_TEXT = 40_000

# The Web API methods the fake serves: those the bot calls, Bolt's auth.test at start and
# Socket Mode's apps.connections.open (test_fakeslack checks this against the bot's code).
SERVED = frozenset(
    {
        "apps.connections.open",
        "auth.test",
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "conversations.open",
        "conversations.list",
        "conversations.members",
        "conversations.history",
        "conversations.replies",
        "users.info",
        "views.publish",
    }
)

T = TypeVar("T")
# Special mentions that notify everyone in a channel, as they appear in message text.
_BROADCAST = re.compile(r"<!(channel|here|everyone)(\|[^>]*)?>")


class _Server(ThreadingHTTPServer):
    # Slack takes every connection: a burst of clients (40 people in the bench, several
    # threads in a test) never waits out a 1 s SYN retry for a slot in a queue of 5.
    request_queue_size = 128


class SlackError(Exception):
    """An API error answered as Slack does: HTTP 200 with `{"ok": false, "error": ...}`."""

    def __init__(self, error: str, messages: Iterable[str] = ()) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


@dataclass
class Call:
    """One request the bot made to the fake, kept so tests and failure dumps can see it."""

    method: str
    args: dict[str, Any]
    time: float
    status: int = 0
    response: dict[str, Any] = field(default_factory=dict)
    injected: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return None if self.ok else str(self.response.get("error", f"HTTP {self.status}"))


@dataclass
class Channel:
    id: str
    name: str
    members: set[str]
    bot_member: bool
    is_private: bool = False
    im_user: str | None = None

    @property
    def is_im(self) -> bool:
        return self.im_user is not None


def _clone(value: T) -> T:
    """A deep copy of JSON-shaped data (all the fake keeps), several times faster than
    `copy.deepcopy`: callers get their own copy and can never change the fake's state."""
    return json.loads(json.dumps(value))


# --------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------


class FakeSlack:
    """Slack's Web API on 127.0.0.1 with a workspace's worth of state, for one test.

    All state is guarded by one re-entrant lock, and every change notifies waiters, so
    `wait_for` wakes as soon as the bot's background work lands.
    """

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        team_id: str = "T000TEST",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0APP",
    ) -> None:
        self.bot_token = bot_token
        # Socket Mode: apps.connections.open takes this app-level token, never the bot's,
        # and hands out `socket_url` (a test's own websocket server).
        self.app_token: str | None = None
        self.socket_url: str | None = None
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._last_ts_us = 0
        self._channels: dict[str, Channel] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        # (channel, thread_ts or None) -> ts of its messages, oldest first: a channel's top
        # level or one thread is read without looking at any other message.
        self._places: dict[tuple[str, str | None], list[str]] = {}
        # (channel, ts) -> the message as JSON (no reply_count), made when first read and
        # dropped when it changes: each read is one json.loads, not a deep copy.
        self._frozen: dict[tuple[str, str], str] = {}
        # channel -> a condition notified only when something shown in that channel
        # changes, for `wait_for(..., channel=...)`: a person waiting for their DM is not
        # woken by everybody else's.
        self._channel_changed: dict[str, threading.Condition] = {}
        self._calls_by_method: dict[str, list[Call]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._home_views: dict[str, dict[str, Any]] = {}
        self._injected: dict[str, list[tuple[int, dict[str, Any], dict[str, str], Any]]] = {}
        # Calls Slack carries out but whose answer never reaches the bot (see `answer_lost`).
        self._drops: list[tuple[str, Callable[[dict[str, Any]], bool], threading.Event]] = []
        self._last_activity = time.monotonic()
        # In-process bots' `settle(timeout)`, for `wait_idle` (see `attend`).
        self._bots: list[Callable[[float], bool]] = []
        self.calls: list[Call] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.add_user(bot_user_id, real_name="Partnership bot", name="partnership-bot", is_bot=True)
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "apps.connections.open": self._apps_connections_open,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "conversations.open": self._conversations_open,
            "conversations.list": self._conversations_list,
            "conversations.members": self._conversations_members,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
            "views.publish": self._views_publish,
        }
        assert set(self._methods) == SERVED

    # ---- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeSlack:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeSlack is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        """What the bot gets as SLACK_API_URL; WebClient appends the method name."""
        return f"{self.base_url}/api/"

    # ---- workspace set-up ------------------------------------------------------------

    def add_channel(
        self,
        id: str,
        name: str,
        members: Iterable[str] = (),
        bot_member: bool = True,
        is_private: bool = False,
    ) -> None:
        with self._changed:
            self._channels[id] = Channel(id, name, set(members), bot_member, is_private)
            self._changed.notify_all()

    def add_user(
        self,
        id: str,
        tz: str = "Europe/London",
        real_name: str | None = None,
        name: str | None = None,
        is_bot: bool = False,
    ) -> None:
        ZoneInfo(tz)  # fail fast on a typo in a test's time zone
        with self._changed:
            self._users[id] = {
                "id": id,
                "name": name or id.lower(),
                "real_name": real_name or id,
                "tz": tz,
                "is_bot": is_bot,
            }
            self._changed.notify_all()

    def dm_channel(self, user: str) -> str:
        """The ID of `user`'s DM with the bot ("D" + user ID), opening it if needed."""
        with self._changed:
            return self._open_dm(user).id

    # ---- failure injection -----------------------------------------------------------

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and `Retry-After`."""
        body = {"ok": False, "error": "ratelimited"}
        self._inject(method, times, (429, body, {"Retry-After": str(retry_after)}))

    def fail(
        self,
        method: str,
        error: str = "internal_error",
        times: int = 1,
        status: int = 200,
        matches: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` (that `matches`, if given) with
        `error` (and HTTP `status`)."""
        self._inject(method, times, (status, {"ok": False, "error": error}, {}), matches)

    def _inject(
        self,
        method: str,
        times: int,
        answer: tuple[int, dict, dict[str, str]],
        matches: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        with self._changed:
            self._injected.setdefault(method, []).extend([(*answer, matches)] * times)

    @contextmanager
    def held(
        self,
        method: str,
        matches: Callable[[dict[str, Any]], bool] = lambda args: True,
        *,
        lost: bool = False,
    ) -> Iterator[threading.Event]:
        """Hold Slack's answer to the first `method` call that `matches` until the block
        exits; yields an Event set once that call has arrived.

        Slack shows a message as soon as it stores it, before the poster hears back: so
        the call is handled (the message is there for people to act on) and only its
        answer waits. With `lost`, the call is neither handled nor stored, and is answered
        `request_timeout` as if it never reached Slack (a failure the test made, so
        `errors` leaves it out): for killing a poster mid-post. While the answer is held
        the fake's lock is released (a condition wait), so everything else goes on.
        """
        original = self._methods[method]
        arrived, release = threading.Event(), threading.Event()

        def hold(args: dict[str, Any]) -> dict[str, Any]:
            if arrived.is_set() or not matches(args):
                return original(args)
            arrived.set()
            if lost:
                self.calls[-1].injected = True  # this call, appended under the lock we hold
            result = {} if lost else original(args)
            self._changed.notify_all()
            self._changed.wait_for(release.is_set, timeout=60)
            if lost:
                raise SlackError("request_timeout")
            return result

        self._methods[method] = hold
        try:
            yield arrived
        finally:
            release.set()
            with self._changed:
                self._changed.notify_all()
            self._methods[method] = original

    @contextmanager
    def answer_lost(
        self, method: str, matches: Callable[[dict[str, Any]], bool] = lambda args: True
    ) -> Iterator[threading.Event]:
        """Carry out the first `method` call that `matches` (a post is stored and shown)
        but drop the connection instead of answering, as when the network fails after
        Slack accepted a request: the caller cannot know it worked. Yields an Event set
        once that call was carried out."""
        done = threading.Event()
        with self._changed:
            self._drops.append((method, matches, done))
        try:
            yield done
        finally:
            with self._changed:
                self._drops = [d for d in self._drops if d[2] is not done]

    # ---- handles the driver issues with each simulated user action ----------------------

    def new_trigger_id(self) -> str:
        """A trigger_id as Slack puts in a command or action (the bot opens no modal, so
        the fake serves nothing that takes one)."""
        with self._changed:
            return f"{next(self._ids)}.{int(time.time())}.fake{next(self._ids):06x}"

    def new_response_url(self) -> str:
        """A response_url as Slack puts in a command or action. The bot never answers
        through one: a request to it is refused and counted in `errors`."""
        with self._changed:
            return f"{self.base_url}/response/R{next(self._ids):08d}"

    def add_user_message(
        self, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """Record a message a person wrote (the driver's DMs; a colleague in a thread)."""
        with self._changed:
            ch = self._resolve_channel(channel)
            if thread_ts is not None:
                self._thread_parent(ch.id, thread_ts)
            return self._public(self._store(ch.id, user, text, [], thread_ts))

    def command_reply(self, channel: str, user: str, reply: dict[str, Any]) -> Call:
        """Show the bot's answer to a slash command (the JSON body of its HTTP response) to
        `user` alone, as Slack does, and as strictly as chat.postEphemeral: recorded as a
        call of "command.response", refused (and so in `errors`) when malformed."""
        with self._changed:
            call = Call("command.response", _clone(reply), time.time(), status=200)
            self.calls.append(call)
            self._calls_by_method.setdefault(call.method, []).append(call)
            try:
                where = self._resolve_channel(channel)
                text, blocks = self._content(reply, MAX_MESSAGE_BLOCKS)
                self._add_ephemeral(where.id, user, text, blocks, None)
                call.response = {"ok": True}
            except SlackError as refused:
                call.response = refused.body()
            self._last_activity = time.monotonic()
            self._changed.notify_all()
            return call

    # ---- inspection ------------------------------------------------------------------

    def messages(
        self,
        channel: str,
        thread_ts: str | None = None,
        bot_only: bool = False,
        after: int = 0,
    ) -> list[dict[str, Any]]:
        """Current top-level messages of `channel` (or replies in `thread_ts`), oldest first;
        only the bot's with `bot_only`, and only those after the first `after`.

        Each is a dict with channel, ts, user, text, blocks, thread_ts (None for
        top-level), reply_count, bot_id (the bot's own), edited and history (earlier
        versions, after chat.update). Blocks carry the block_ids Slack fills in.
        """
        with self._changed:
            return [self._public(m) for m in self._in_place(channel, thread_ts, bot_only)[after:]]

    def count_messages(
        self, channel: str, thread_ts: str | None = None, bot_only: bool = False
    ) -> int:
        """How many messages `messages(...)` would return (copies nothing): a mark to read
        or wait for only the newer ones with `after`."""
        with self._changed:
            return len(self._in_place(channel, thread_ts, bot_only))

    def _in_place(
        self, channel: str, thread_ts: str | None, bot_only: bool
    ) -> list[dict[str, Any]]:
        cid = self._resolve_channel(channel).id
        found = [self._messages[(cid, ts)] for ts in self._places.get((cid, thread_ts), [])]
        return [m for m in found if m["user"] == self.bot_user_id] if bot_only else found

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The current version of one message, or None if it does not exist (any more)."""
        with self._changed:
            found = self._messages.get((self._resolve_channel(channel).id, ts))
            return self._public(found) if found else None

    def broadcast_mentions(self) -> list[dict[str, Any]]:
        """The bot's messages that would ping a whole channel (<!channel>, <!here>, ...).

        Slack does not refuse these, it notifies everyone; user text put into mrkdwn
        unescaped (a partnership named "<!channel>") ends up here.
        """
        with self._changed:
            return [
                _clone(m) if m.get("ephemeral") else self._public(m)
                for m in list(self._messages.values()) + self._ephemerals
                if m["user"] == self.bot_user_id
                and _BROADCAST.search(json.dumps([m["text"], m["blocks"]]))
            ]

    def wire_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The message as Slack puts it in a block_actions payload (for the driver)."""
        with self._changed:
            found = self._messages.get((self._resolve_channel(channel).id, ts))
            return self._wire(found) if found else None

    def user_ids(self) -> list[str]:
        """Everyone in the workspace but the bot: whom a users_select offers."""
        with self._lock:
            return [user for user in self._users if user != self.bot_user_id]

    def user(self, user_id: str) -> dict[str, Any]:
        """A user as added (id, name, real_name, tz, is_bot); KeyError if unknown."""
        with self._changed:
            return _clone(self._users[user_id])

    def channel_info(self, channel: str) -> dict[str, Any]:
        """A conversation as conversations.info describes it; SlackError if unknown."""
        with self._changed:
            return self._channel_info(self._resolve_channel(channel))

    def has_conversation(self, channel_id: str, public_only: bool = False) -> bool:
        """Whether `channel_id` is a conversation of the workspace (a DM counts unless
        `public_only`), as a conversations_select / channels_select would offer."""
        with self._changed:
            try:
                channel = self._resolve_channel(channel_id)
            except SlackError:
                return False
            public = not (channel.is_private or channel.is_im)
            return channel.id == channel_id and (public or not public_only)

    def ephemerals(self, user: str, channel: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages shown to `user` (and still shown), oldest first."""
        with self._changed:
            return [
                _clone(e)
                for e in self._ephemerals
                if e["recipient"] == user and (channel is None or e["channel"] == channel)
            ]

    def ephemeral(self, ts: str) -> dict[str, Any] | None:
        """One ephemeral message by its message_ts, while it is still shown."""
        with self._changed:
            return next((_clone(e) for e in self._ephemerals if e["ts"] == ts), None)

    def home_view(self, user: str) -> dict[str, Any] | None:
        """The Home tab last published for `user` (with id and hash), or None."""
        with self._changed:
            return _clone(self._home_views.get(user))

    def calls_to(self, method: str, after: int = 0) -> list[Call]:
        """The calls of `method`, oldest first (from the `after`-th on: a mark taken with
        `len(calls_to(method))` reads only the newer ones)."""
        with self._changed:
            return self._calls_by_method.get(method, [])[after:]

    @property
    def errors(self) -> list[Call]:
        """Calls Slack would have rejected, excluding failures a test injected."""
        with self._changed:
            return [c for c in self.calls if not c.ok and not c.injected]

    def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 30.0,
        message: str = "",
        channel: str | None = None,
    ) -> T:
        """Wait until `predicate()` is truthy and return its value.

        The predicate runs under the fake's lock whenever the fake's state changes (and
        every 50 ms, for conditions on the bot's own database). A KeyError or IndexError
        inside it counts as "not yet". On timeout, raises AssertionError with a dump of
        the workspace and the bot's recent calls, including every rejected one.

        With `channel`, for a predicate that reads only what is shown in that channel
        (its messages, threads and ephemerals), it runs only when that channel changes:
        each person waiting on their own DM is woken by their own messages alone.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            changed, poll = self._changed, 0.05
            if channel is not None:
                cid = self._resolve_channel(channel).id
                changed = self._channel_changed.setdefault(cid, threading.Condition(self._lock))
                poll = 0.5  # a safety net only: every change there notifies
            while True:
                try:
                    result = predicate()
                except (KeyError, IndexError):
                    result = None
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"{message or 'condition'} not met within {timeout}s\n{self.dump()}"
                    )
                changed.wait(min(remaining, poll))

    def attend(self, settle: Callable[[float], bool]) -> Callable[[], None]:
        """Have `wait_idle` wait for an in-process bot's own work: `settle(timeout)` returns
        True once the bot has nothing queued or running. Returns the call that stops
        attending to it (when that bot stops)."""
        with self._changed:
            self._bots.append(settle)
        return lambda: self._bots.remove(settle)

    def wait_idle(self, quiet: float = 0.5, timeout: float = 30.0) -> None:
        """Wait until the bot has nothing left to do.

        For asserting that something did NOT happen (no second post after a retried
        event): wait for the bot to be done, then look. With the bots in this process
        attended to (`attend`), that is when their work pools are empty (the test's own
        requests have returned by then: each listener hands its work over before it
        answers); otherwise, when the bot made no call for `quiet` seconds. Calls are
        handled under the fake's lock, so none is half-done while this holds it.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            bots = list(self._bots)
        if bots:
            for settle in bots:  # not under the lock: the work being waited for needs it
                if not settle(max(0.0, deadline - time.monotonic())):
                    raise AssertionError(f"the bot still busy after {timeout}s\n{self.dump()}")
            return
        with self._changed:
            while time.monotonic() - self._last_activity < quiet:
                if time.monotonic() > deadline:
                    raise AssertionError(f"Slack API still busy after {timeout}s\n{self.dump()}")
                self._changed.wait(0.02)

    def dump(self) -> str:
        """A readable picture of the workspace and the recent calls, for failure messages."""
        with self._changed:
            lines = ["--- rejected calls ---"]
            lines += [
                f"  {c.method} -> {c.error} {c.response.get('response_metadata', '')}"
                for c in self.calls
                if not c.ok
            ] or ["  (none)"]
            lines.append("--- messages ---")
            for (cid, ts), m in sorted(self._messages.items(), key=lambda kv: _ts_key(kv[0][1])):
                where = f"{cid} thread {m['thread_ts']}" if m["thread_ts"] else cid
                lines.append(f"  [{where}] {ts} <{m['user']}> {_short(m['text'])}")
            lines.append("--- ephemerals ---")
            lines += [
                f"  [{e['channel']} to {e['recipient']}] {_short(e['text'])}"
                for e in self._ephemerals
            ]
            lines.append("--- home tabs ---")
            lines += [f"  home {u}: {len(v['blocks'])} blocks" for u, v in self._home_views.items()]
            lines.append("--- last calls ---")
            lines += [
                f"  {c.method} {c.status} {'ok' if c.ok else c.error} {_short(json.dumps(c.args))}"
                for c in self.calls[-25:]
            ]
            return "\n".join(lines)

    # ---- HTTP entry points (called by _Handler) -----------------------------------------

    def handle_api(
        self, method: str, authorization: str | None, args: dict[str, Any] | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._changed:
            # The parsed arguments are this call's own (nothing else holds them, and the
            # methods below copy what they keep), so the record needs no copy of them.
            call = Call(method=method, args=args if args is not None else {}, time=time.time())
            self.calls.append(call)
            self._calls_by_method.setdefault(method, []).append(call)
            try:
                injected = self._injected.get(method) or []
                chosen = next(
                    (i for i, a in enumerate(injected) if a[3] is None or a[3](args or {})), None
                )
                if chosen is not None:
                    status, body, headers, _ = injected.pop(chosen)
                    call.injected = True
                else:
                    status, headers = 200, {}
                    body = self._dispatch(method, authorization, args)
                call.status, call.response = status, body  # built for this call alone
                drop = next((d for d in self._drops if d[0] == method and d[1](args or {})), None)
                if drop is not None and body.get("ok"):
                    self._drops.remove(drop)
                    drop[2].set()
                    call.injected = True  # a failure the test made: `errors` leaves it out
                    raise _AnswerLost
                return status, body, headers
            finally:
                self._last_activity = time.monotonic()
                self._changed.notify_all()

    def refuse(self, path: str) -> dict[str, Any]:
        """A request to anything but the Web API (a response_url, say): recorded as a
        rejected call, so it shows in `errors`, and answered 404."""
        with self._changed:
            body = {"ok": False, "error": "not_found"}
            self.calls.append(Call(path, {}, time.time(), status=404, response=body))
            self._last_activity = time.monotonic()
            self._changed.notify_all()
            return body

    def _dispatch(
        self, method: str, authorization: str | None, args: dict[str, Any] | None
    ) -> dict[str, Any]:
        try:
            if args is None:
                raise SlackError("invalid_json")
            handler = self._methods.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            args = dict(args)  # the record keeps what was sent, token and all
            token = args.pop("token", None)
            if authorization:
                scheme, _, token = authorization.partition(" ")
                if scheme.lower() != "bearer":
                    raise SlackError("not_authed")
            if not token:
                raise SlackError("not_authed")
            if method == "apps.connections.open":
                if token.startswith("xoxb-"):
                    raise SlackError("not_allowed_token_type")
                if token != self.app_token:
                    raise SlackError("invalid_auth")
            elif token != self.bot_token:
                raise SlackError("invalid_auth")
            return {"ok": True, **handler(args)}
        except SlackError as e:
            return e.body()

    # ---- API methods ---------------------------------------------------------------

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.socket_url is None:
            raise SlackError("internal_error")
        return {"url": self.socket_url}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"{self.base_url}/",
            "team": "Fake workspace",
            "user": self._users[self.bot_user_id]["name"],
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable_channel(args.get("channel"))
        text, blocks = self._content(args, MAX_MESSAGE_BLOCKS)
        thread_ts = args.get("thread_ts") or None
        if thread_ts is not None:
            self._thread_parent(channel.id, str(thread_ts))
        metadata = _metadata(args.get("metadata"))
        message = self._store(channel.id, self.bot_user_id, text, blocks, thread_ts)
        if metadata is not None:
            message["metadata"] = metadata
            self._frozen.pop((channel.id, message["ts"]), None)
        return {"channel": channel.id, "ts": message["ts"], "message": self._wire(message)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        message = self._messages.get((channel.id, str(args.get("ts"))))
        if message is None:
            raise SlackError("message_not_found")
        if message["user"] != self.bot_user_id:
            raise SlackError("cant_update_message")
        if "text" not in args and "blocks" not in args:
            raise SlackError("no_text")
        # Like Slack: blocks left out are kept; blocks given need their own text fallback.
        blocks = message["blocks"]
        if "blocks" in args:
            blocks = self._blocks(args["blocks"], MAX_MESSAGE_BLOCKS)
        text = message["text"]
        if "text" in args or ("blocks" in args and blocks):
            text = self._text(args, bool(blocks))
        self._edit(message, text, blocks)
        return {
            "channel": channel.id,
            "ts": message["ts"],
            "text": text,
            "message": self._wire(message),
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable_channel(args.get("channel"))
        user = args.get("user")
        if not user or user not in self._users:
            raise SlackError("user_not_found")
        in_channel = user == channel.im_user if channel.is_im else user in channel.members
        if not in_channel:
            raise SlackError("user_not_in_channel")
        text, blocks = self._content(args, MAX_MESSAGE_BLOCKS)
        ephemeral = self._add_ephemeral(channel.id, user, text, blocks, args.get("thread_ts"))
        return {"message_ts": ephemeral["ts"]}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 1:
            raise SlackError("fake_unsupported", ["FakeSlack opens 1:1 DMs only"])
        if users[0] not in self._users:
            raise SlackError("user_not_found")
        already_open = f"D{users[0]}" in self._channels
        channel = self._open_dm(users[0])
        return {"no_op": already_open, "already_open": already_open, "channel": {"id": channel.id}}

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        types = set(str(args.get("types") or "public_channel").split(","))
        visible = [
            c
            for c in self._channels.values()
            if (c.is_im and "im" in types)
            or (not c.is_im and not c.is_private and "public_channel" in types)
            or (not c.is_im and c.is_private and c.bot_member and "private_channel" in types)
        ]
        page, next_cursor = _paged(visible, args, 1000)
        return {
            "channels": [self._channel_info(c) for c in page],
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        """Members of a channel the bot can see (a private one only if it is in it), paged
        as Slack pages them."""
        channel = self._resolve_channel(args.get("channel"))
        if channel.is_private and not channel.bot_member:
            raise SlackError("channel_not_found")
        members = sorted(channel.members | ({self.bot_user_id} if channel.bot_member else set()))
        page, next_cursor = _paged(members, args, 1000)
        return {"members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """A channel's top-level messages, newest first (Slack's order), as the bot may
        read them: it must be in the channel; metadata only when asked for."""
        channel = self._readable_channel(args.get("channel"))
        top = [self._messages[(channel.id, ts)] for ts in self._places.get((channel.id, None), [])]
        return self._page(list(reversed(top)), args)

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent, then its replies, oldest first."""
        channel = self._readable_channel(args.get("channel"))
        parent = self._thread_parent(channel.id, str(args.get("ts") or ""))
        replies = [
            self._messages[(channel.id, ts)]
            for ts in self._places.get((channel.id, parent["ts"]), [])
        ]
        return self._page([parent, *replies], args)

    def _readable_channel(self, ref: Any) -> Channel:
        channel = self._resolve_channel(ref)
        if not (channel.is_im or channel.bot_member):
            raise SlackError("not_in_channel")
        return channel

    def _page(self, messages: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        found, next_cursor = _paged(messages, args, 999)
        page = []
        for message in found:
            wire = self._wire(message)
            if not with_metadata:
                wire.pop("metadata", None)
            page.append(wire)
        return {
            "messages": page,
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(str(args.get("user")))
        if user is None:
            raise SlackError("user_not_found")
        offset = datetime.now(ZoneInfo(user["tz"])).utcoffset()
        return {
            "user": {
                "id": user["id"],
                "team_id": self.team_id,
                "name": user["name"],
                "real_name": user["real_name"],
                "deleted": False,
                "is_bot": user["is_bot"],
                "tz": user["tz"],
                "tz_label": user["tz"],
                "tz_offset": int(offset.total_seconds()) if offset else 0,
                "profile": {"real_name": user["real_name"], "display_name": user["name"]},
            }
        }

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args.get("user_id")
        if not user or user not in self._users:
            raise SlackError("user_not_found")
        view = self._view_arg(args, "home")
        current = self._home_views.get(user)
        if args.get("hash") and (current is None or current["hash"] != args["hash"]):
            raise SlackError("hash_conflict")
        view_id = current["id"] if current else f"V{next(self._ids):08d}"
        self._home_views[user] = self._stored_view(view, view_id)
        return {"view": _clone(self._home_views[user])}

    # ---- helpers (called with the lock held) --------------------------------------------

    def _resolve_channel(self, ref: Any) -> Channel:
        """A channel by ID, `#name` or name, or a user ID meaning the DM (as Slack allows)."""
        if not ref or not isinstance(ref, str):
            raise SlackError("channel_not_found")
        if ref in self._channels:
            return self._channels[ref]
        if ref.startswith("D") and ref[1:] in self._users:
            return self._open_dm(ref[1:])
        if ref in self._users and ref != self.bot_user_id:
            return self._open_dm(ref)
        name = ref.removeprefix("#")
        for channel in self._channels.values():
            if channel.name == name and not channel.is_im:
                return channel
        raise SlackError("channel_not_found")

    def _writable_channel(self, ref: Any) -> Channel:
        channel = self._resolve_channel(ref)
        if not channel.bot_member:
            raise SlackError("not_in_channel")
        return channel

    def _open_dm(self, user: str) -> Channel:
        if user not in self._users:
            raise SlackError("user_not_found")
        channel_id = f"D{user}"
        if channel_id not in self._channels:
            self._channels[channel_id] = Channel(channel_id, channel_id, {user}, True, True, user)
        return self._channels[channel_id]

    def _channel_info(self, channel: Channel) -> dict[str, Any]:
        if channel.is_im:
            return {"id": channel.id, "is_im": True, "user": channel.im_user, "is_open": True}
        return {
            "id": channel.id,
            "name": channel.name,
            "is_channel": not channel.is_private,
            "is_group": channel.is_private,
            "is_im": False,
            "is_private": channel.is_private,
            "is_archived": False,
            "is_member": channel.bot_member,
            "num_members": len(channel.members) + int(channel.bot_member),
        }

    def _thread_parent(self, channel_id: str, thread_ts: str) -> dict[str, Any]:
        parent = self._messages.get((channel_id, thread_ts))
        if parent is None or parent["thread_ts"] is not None:
            raise SlackError("thread_not_found")
        return parent

    def _content(self, args: dict[str, Any], limit: int) -> tuple[str, list[dict[str, Any]]]:
        """The text and blocks of a new message, enforcing Slack's and the spec's rules."""
        blocks = self._blocks(args["blocks"], limit) if "blocks" in args else []
        return self._text(args, bool(blocks)), blocks

    def _text(self, args: dict[str, Any], has_blocks: bool) -> str:
        text = args.get("text")
        text = "" if text is None else str(text)
        if len(text) > MAX_MESSAGE_TEXT:
            raise SlackError("msg_too_long")
        if not text.strip():
            raise SlackError("missing_text_fallback" if has_blocks else "no_text")
        return text

    def _blocks(self, raw: Any, limit: int) -> list[dict[str, Any]]:
        if isinstance(raw, str):
            try:
                raw = json.loads(raw) if raw else []  # new objects: the fake's own
            except json.JSONDecodeError:
                raise SlackError("invalid_blocks_format") from None
        else:
            raw = _clone(raw)  # a list inside the call's arguments, which its record keeps
        if not isinstance(raw, list):
            raise SlackError("invalid_blocks_format")
        errors = block_kit_errors(raw, limit)
        if errors:
            raise SlackError("invalid_blocks", errors)
        return self._with_block_ids(raw)

    def _with_block_ids(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Fill in missing block_ids as Slack does, so actions can name their block (in
        place: `blocks` are the fake's own copy)."""
        taken = {b.get("block_id") for b in blocks}
        for block in blocks:
            while "block_id" not in block:
                candidate = f"fk{next(self._ids):x}"
                if candidate not in taken:
                    block["block_id"] = candidate
        return blocks

    def _view_arg(self, args: dict[str, Any], kind: str) -> dict[str, Any]:
        view: Any = args.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except json.JSONDecodeError:
                raise SlackError("invalid_arguments", ["view is not valid JSON"]) from None
        errors = view_errors(view)
        if not errors and view["type"] != kind:
            errors = [f"[ERROR] must be {kind} here [json-pointer:/view/type]"]
        if errors:
            raise SlackError("invalid_arguments", errors)
        return view

    def _stored_view(self, view: dict[str, Any], view_id: str) -> dict[str, Any]:
        stored = _clone(view)
        stored["blocks"] = self._with_block_ids(stored["blocks"])
        stored.update(
            id=view_id,
            hash=f"{int(time.time())}.{next(self._ids):08x}",
            team_id=self.team_id,
            app_id=self.app_id,
            bot_id=self.bot_id,
            state={"values": {}},
        )
        return stored

    def _next_ts(self) -> str:
        self._last_ts_us = max(time.time_ns() // 1000, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _store(
        self, channel_id: str, user: str, text: str, blocks: list[Any], thread_ts: str | None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "channel": channel_id,
            "ts": self._next_ts(),
            "user": user,
            "text": text,
            "blocks": blocks,
            "thread_ts": thread_ts,
            "history": [],
        }
        if user == self.bot_user_id:
            message.update(bot_id=self.bot_id, app_id=self.app_id)
        self._messages[(channel_id, message["ts"])] = message
        self._places.setdefault((channel_id, thread_ts), []).append(message["ts"])
        self._touch(channel_id)
        return message

    def _edit(self, message: dict[str, Any], text: str, blocks: list[Any]) -> None:
        message["history"].append({"text": message["text"], "blocks": message["blocks"]})
        message.update(
            text=text, blocks=blocks, edited={"user": self.bot_user_id, "ts": self._next_ts()}
        )
        self._frozen.pop((message["channel"], message["ts"]), None)
        self._touch(message["channel"])

    def _add_ephemeral(
        self, channel_id: str, user: str, text: str, blocks: list[Any], thread_ts: Any
    ) -> dict[str, Any]:
        ephemeral = {
            "type": "message",
            "ephemeral": True,
            "channel": channel_id,
            "ts": self._next_ts(),
            "recipient": user,
            "user": self.bot_user_id,
            "text": text,
            "blocks": blocks,
            "thread_ts": thread_ts or None,
        }
        self._ephemerals.append(ephemeral)
        self._touch(channel_id)
        return ephemeral

    def _touch(self, channel_id: str) -> None:
        """Wake whoever waits on any change, and whoever waits on this channel."""
        self._changed.notify_all()
        waiting = self._channel_changed.get(channel_id)
        if waiting is not None:
            waiting.notify_all()

    def _copy(self, message: dict[str, Any]) -> dict[str, Any]:
        """A copy of a stored message, from its JSON made once per version."""
        key = (message["channel"], message["ts"])
        frozen = self._frozen.get(key)
        if frozen is None:
            frozen = self._frozen[key] = json.dumps(message)
        return json.loads(frozen)

    def _public(self, message: dict[str, Any]) -> dict[str, Any]:
        public = self._copy(message)
        if message["thread_ts"] is None:
            public["reply_count"] = len(self._places.get((message["channel"], message["ts"]), []))
        return public

    def _wire(self, message: dict[str, Any]) -> dict[str, Any]:
        """A message as Slack's API and payloads show it (no fake bookkeeping)."""
        wire = self._copy(message)
        del wire["channel"], wire["history"]
        wire["team"] = self.team_id
        if wire["thread_ts"] is None:
            del wire["thread_ts"]
        return wire


class _AnswerLost(Exception):
    """The call was carried out; its answer must not be sent (see `answer_lost`)."""


_EVENT_TYPE = re.compile(r"^[a-z0-9_]{1,255}$")


def _metadata(raw: Any) -> dict[str, Any] | None:
    """Message metadata as chat.postMessage takes it (a JSON object or its text)."""
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise SlackError("invalid_metadata_format") from None
    if (
        not isinstance(raw, dict)
        or set(raw) != {"event_type", "event_payload"}
        or not isinstance(raw["event_type"], str)
        or not _EVENT_TYPE.match(raw["event_type"])
        or not isinstance(raw["event_payload"], dict)
    ):
        raise SlackError("invalid_metadata_format")
    return _clone(raw)


def _paged(items: list[T], args: dict[str, Any], max_limit: int) -> tuple[list[T], str]:
    """The page of `items` that `limit` and `cursor` ask for, and the next page's cursor
    ("" after the last), as Slack pages a list."""
    try:
        limit = min(max(int(args.get("limit") or 100), 1), max_limit)
        cursor = args.get("cursor") or ""
        offset = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
    except ValueError:
        raise SlackError("invalid_cursor") from None
    more = offset + limit < len(items)
    next_cursor = base64.b64encode(f"offset:{offset + limit}".encode()).decode() if more else ""
    return items[offset : offset + limit], next_cursor


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)


def _short(text: str, limit: int = 160) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Handler(BaseHTTPRequestHandler):
    """Routes `/api/<method>` (arguments parsed as Slack accepts them); refuses the rest."""

    fake: FakeSlack
    protocol_version = "HTTP/1.1"
    # An answer is written as headers, then body: with Nagle's algorithm on, a client
    # that keeps its connection open would wait out the delayed ACK (40 ms) for each.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self._route()

    def do_GET(self) -> None:
        self._route()

    def _route(self) -> None:
        try:
            self._serve()
        except Exception as e:  # a bug in the fake must fail the test loudly, not hang it
            traceback.print_exc()
            self._send(500, {"ok": False, "error": f"fake_slack_bug: {e!r}"}, {})

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if url.path.startswith("/api/"):
            args = self._args(url.query, raw, content_type)
            method = url.path.removeprefix("/api/")
            try:
                status, body, headers = self.fake.handle_api(
                    method, self.headers.get("Authorization"), args
                )
            except _AnswerLost:
                self.close_connection = True  # no answer: the caller sees the line drop
                with suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._send(status, body, headers)
        else:
            self._send(404, self.fake.refuse(url.path), {})

    @staticmethod
    def _args(query: str, raw: bytes, content_type: str) -> dict[str, Any] | None:
        """Query string, then form or JSON body; None for a JSON body that is not an object."""
        args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        if content_type == "application/json":
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                return None
            if not isinstance(body, dict):
                return None
            args.update(body)
        elif raw:
            args.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        return args

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging; `FakeSlack.calls` is the record."""
