"""Plays Slack's side of the conversation with the bot: signed HTTP requests, as Slack sends.

Every request goes to the bot's real HTTP endpoint with Slack's headers and content
types and a v0 signature, so the bot's signature check, Bolt's parsing and the server
are all under test. Clicks and selections are only possible on elements that really are
in a message or view the fake recorded: a test cannot press a button the bot never
rendered, and the payload carries the message as the bot actually posted it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.sandbox import payloads
from bot.sandbox.fakeslack import FakeSlack

EVENTS_PATH = "/slack/events"

# What `urllib.parse.quote_plus` makes of each UTF-8 byte: itself if always safe, "+" for a
# space, else %XX.
_FORM_BYTES = [
    chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "_.-~") else f"%{b:02X}"
    for b in range(256)
]
_FORM_BYTES[ord(" ")] = "+"


def form_quote(text: str) -> str:
    """`quote_plus(text)`, several times faster: a press's payload carries the whole
    message, and quoting it byte by byte in Python was a sixth of a journey's CPU."""
    return "".join(map(_FORM_BYTES.__getitem__, text.encode("utf-8")))


@dataclass(frozen=True)
class _Asked:
    """Whom or what a picker offers, asked of the fake for each choice as it is made."""

    offers: Callable[[str], bool]

    def __contains__(self, choice: object) -> bool:
        return isinstance(choice, str) and self.offers(choice)


@dataclass
class DriverResponse:
    """The bot's HTTP answer to one request, plus what was sent (`payload`) for follow-ups."""

    status: int
    headers: dict[str, str]
    body: bytes
    payload: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class BotServer:
    """A running bot: its Bolt app, its settings and the base URL Slack would call."""

    app: Any
    settings: Any
    base_url: str
    services: Any = None


class SlackDriver:
    """Sends the bot what Slack would send when people use it."""

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        fake: FakeSlack,
        team_id: str = "T000TEST",
        api_app_id: str = "A0APP",
    ) -> None:
        self.url = base_url.rstrip("/") + EVENTS_PATH
        self.fake = fake
        self.team_id = team_id
        self.api_app_id = api_app_id
        self._verifier = SignatureVerifier(signing_secret)
        self._events: dict[str, bytes] = {}
        # selections made so far, per container, as Slack keeps them in `state.values`
        self._state: dict[tuple[str, ...], dict[str, dict[str, Any]]] = {}
        # what the pickers offer: everyone and every conversation in the fake workspace (a
        # DM too), the public channels for a channels picker
        self._users = _Asked(self._is_user)
        self._conversations = _Asked(fake.has_conversation)
        self._channels = _Asked(lambda channel: fake.has_conversation(channel, public_only=True))

    # ---- transport ---------------------------------------------------------------------

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Slack's signature headers for `body` (now, or at `timestamp` for stale tests)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = self._verifier.generate_signature(timestamp=ts, body=body.decode("utf-8"))
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}

    def raw(self, body: bytes, headers: dict[str, str]) -> DriverResponse:
        """POST exactly `body` with exactly `headers` (no signing): for hostile requests."""
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return DriverResponse(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as e:
            with e:  # close the connection, or the server keeps the channel open
                return DriverResponse(e.code, dict(e.headers), e.read())

    def _send(
        self,
        body: bytes,
        content_type: str,
        payload: dict[str, Any],
        extra_headers: dict[str, str] | None = None,
    ) -> DriverResponse:
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **self.sign(body),
            **(extra_headers or {}),
        }
        response = self.raw(body, headers)
        response.payload = payload
        return response

    def _interactive(self, payload: dict[str, Any]) -> DriverResponse:
        body = b"payload=" + form_quote(json.dumps(payload)).encode("ascii")
        return self._send(body, payloads.FORM, payload)

    # ---- slash commands and events -------------------------------------------------------

    def command(
        self, user: str, text: str = "", command: str = "/partnership", channel: str | None = None
    ) -> DriverResponse:
        """`user` types `command text` in `channel` (default: their DM with the bot)."""
        channel_id = channel or self.fake.dm_channel(user)
        info = self.fake.user(user)
        form = {
            "token": "unused-verification-token",
            "team_id": self.team_id,
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": self._channel_name(channel_id),
            "user_id": user,
            "user_name": info["name"],
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self.fake.new_response_url(),
            "trigger_id": self.fake.new_trigger_id(),
        }
        return self._send(urlencode(form).encode("utf-8"), payloads.FORM, form)

    def event(
        self,
        event: dict[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> DriverResponse:
        """Deliver an Events API `event_callback`; a known `event_id` replays it verbatim.

        Slack redelivers the same body (new signature) with `X-Slack-Retry-Num` and
        `X-Slack-Retry-Reason` when the bot did not answer 2xx within 3 seconds.
        """
        event_id = event_id or f"Ev{uuid.uuid4().hex[:10].upper()}"
        if event_id not in self._events:
            envelope = {
                "token": "unused-verification-token",
                "team_id": self.team_id,
                "api_app_id": self.api_app_id,
                "event": event,
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(time.time()),
                "authorizations": [
                    {
                        "enterprise_id": None,
                        "team_id": self.team_id,
                        "user_id": self.fake.bot_user_id,
                        "is_bot": True,
                        "is_enterprise_install": False,
                    }
                ],
                "is_ext_shared_channel": False,
                "event_context": f"4-{uuid.uuid4().hex}",
            }
            self._events[event_id] = json.dumps(envelope).encode("utf-8")
        body = self._events[event_id]
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self._send(body, payloads.JSON, json.loads(body), headers)

    def dm(
        self,
        user: str,
        text: str,
        event_id: str | None = None,
        retry_num: int | None = None,
        thread_ts: str | None = None,
    ) -> DriverResponse:
        """`user` writes `text` in their DM with the bot (recorded in the fake, then sent).

        Pass the same `event_id` with `retry_num=1..3` to replay a delivery as Slack's
        retries do; the message is recorded once.
        """
        if event_id is not None and event_id in self._events:
            return self.event({}, event_id=event_id, retry_num=retry_num)
        channel = self.fake.dm_channel(user)
        # Slack's client escapes &, < and > in what people type, in the text of the
        # message and of its event (the rich_text block keeps it as typed).
        typed = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        message = self.fake.add_user_message(channel, user, typed, thread_ts)
        event = {
            "client_msg_id": str(uuid.uuid4()),
            "type": "message",
            "text": typed,
            "user": user,
            "ts": message["ts"],
            "blocks": [
                {
                    "type": "rich_text",
                    "block_id": uuid.uuid4().hex[:5],
                    "elements": [
                        {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                    ],
                }
            ],
            "team": self.team_id,
            "channel": channel,
            "event_ts": message["ts"],
            "channel_type": "im",
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        return self.event(event, event_id=event_id, retry_num=retry_num)

    def home_opened(self, user: str) -> DriverResponse:
        """`user` opens the bot's Home tab (carrying the current view, as Slack does)."""
        dm = self.fake.dm_channel(user)
        return self.event(payloads.home_opened(user, dm, self.fake.home_view(user)))

    # ---- interactivity on messages ---------------------------------------------------------

    def press(
        self,
        user: str,
        message: dict[str, Any],
        action_id: str | None = None,
        text: str | None = None,
        value: str | None = None,
    ) -> DriverResponse:
        """`user` clicks a button in `message` chosen by action_id, button text and/or value.

        `message` is a dict from `fake.messages()` / `fake.ephemerals()`; the button
        is looked up in the message's CURRENT version. AssertionError if no button (or
        more than one) matches, so tests cannot click what the bot did not render.
        """
        return self.pressing(user, message, action_id, text, value)()

    def pressing(
        self,
        user: str,
        message: dict[str, Any],
        action_id: str | None = None,
        text: str | None = None,
        value: str | None = None,
    ) -> Callable[[], DriverResponse]:
        """`press`, with the button looked up now and the click sent when called: presses
        raced with `at_once` are all on the message as shown before any of them (a thread
        that starts late would otherwise look for its button after the bot changed it)."""
        current, container = self._message_context(user, message)
        block_id, button = self._find(current["blocks"], "button", action_id, text, value)
        action = payloads.press(block_id, button)
        return lambda: self._message_action(user, current, container, action)

    def select_in_block(
        self, user: str, message: dict[str, Any], block_id: str, value: str | list[str]
    ) -> DriverResponse:
        """`user` picks `value` in the one select/radio/picker of block `block_id` (for
        elements that share an action_id across blocks, such as a group's radio buttons)."""
        return self.selecting_in_block(user, message, block_id, value)()

    def selecting_in_block(
        self, user: str, message: dict[str, Any], block_id: str, value: str | list[str]
    ) -> Callable[[], DriverResponse]:
        """`select_in_block`, looked up now and sent when called (see `pressing`)."""
        current, container = self._message_context(user, message)
        matches = [
            (b, e) for b, e in payloads.interactive_elements(current["blocks"]) if b == block_id
        ]
        assert len(matches) == 1, f"block {block_id!r} has {len(matches)} elements"
        action = self._selection(*matches[0], value)
        return lambda: self._message_action(user, current, container, action)

    def select(
        self, user: str, message: dict[str, Any], action_id: str, value: str | list[str]
    ) -> DriverResponse:
        """`user` picks `value` in the select/checkboxes/picker `action_id` of `message`.

        `value` is an option value (static_select, radio_buttons, overflow), a list of
        them (multi_static_select, checkboxes), a conversation, channel or user ID
        (and lists for the multi_ kinds) or an ISO date for a datepicker. It must be one
        the element offers, else AssertionError.
        """
        current, container = self._message_context(user, message)
        block_id, element = self._find(current["blocks"], None, action_id, None, None)
        action = self._selection(block_id, element, value)
        return self._message_action(user, current, container, action)

    def _message_context(
        self, user: str, message: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        channel, ts = message["channel"], message["ts"]
        if message.get("ephemeral"):
            current = self.fake.ephemeral(ts)
            assert current is not None, f"ephemeral {ts} is no longer shown"
            assert current["recipient"] == user, f"{user} cannot see an ephemeral for another user"
        else:
            current = self.fake.wire_message(channel, ts)
            assert current is not None, f"message {channel}/{ts} does not exist (deleted?)"
            if channel.startswith("D"):
                assert channel == self.fake.dm_channel(user), f"{user} cannot see DM {channel}"
        container = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": bool(message.get("ephemeral")),
        }
        if current.get("thread_ts"):
            container["thread_ts"] = current["thread_ts"]
        return current, container

    def _message_action(
        self,
        user: str,
        current: dict[str, Any],
        container: dict[str, Any],
        action: dict[str, Any],
    ) -> DriverResponse:
        channel, ts, ephemeral = (
            container["channel_id"],
            container["message_ts"],
            container["is_ephemeral"],
        )
        state = self._remember(("message", channel, ts), current["blocks"], action)
        payload = {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": self.api_app_id,
            "token": "unused-verification-token",
            "container": container,
            "trigger_id": self.fake.new_trigger_id(),
            "team": {"id": self.team_id, "domain": "fake"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": self._channel_name(channel)},
            "state": {"values": state},
            "response_url": self.fake.new_response_url(),
            "actions": [action],
        }
        if not ephemeral:  # Slack leaves the message out for ephemeral containers
            payload["message"] = current
        return self._interactive(payload)

    # ---- Home tab ------------------------------------------------------------------------------

    def press_home(
        self,
        user: str,
        action_id: str | None = None,
        text: str | None = None,
        value: str | None = None,
    ) -> DriverResponse:
        """`user` clicks a button in their published Home tab."""
        view = self.fake.home_view(user)
        assert view is not None, f"no Home tab published for {user}"
        block_id, button = self._find(view["blocks"], "button", action_id, text, value)
        return self._view_action(user, view, payloads.press(block_id, button))

    def select_home(self, user: str, action_id: str, value: str | list[str]) -> DriverResponse:
        """`user` picks `value` in a select of their Home tab (see `select`)."""
        view = self.fake.home_view(user)
        assert view is not None, f"no Home tab published for {user}"
        block_id, element = self._find(view["blocks"], None, action_id, None, None)
        return self._view_action(user, view, self._selection(block_id, element, value))

    def _view_action(
        self, user: str, view: dict[str, Any], action: dict[str, Any]
    ) -> DriverResponse:
        view["state"] = {"values": self._remember(("view", view["id"]), view["blocks"], action)}
        payload = {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": self.api_app_id,
            "token": "unused-verification-token",
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": self.fake.new_trigger_id(),
            "team": {"id": self.team_id, "domain": "fake"},
            "enterprise": None,
            "is_enterprise_install": False,
            "view": view,
            "actions": [action],
        }
        return self._interactive(payload)

    # ---- helpers ---------------------------------------------------------------------------

    def _channel_name(self, channel_id: str) -> str:
        info = self.fake.channel_info(channel_id)
        return "directmessage" if info["is_im"] else info["name"]

    def _is_user(self, user: str) -> bool:
        try:
            self.fake.user(user)
        except KeyError:
            return False
        return True

    def _user(self, user: str) -> dict[str, Any]:
        name = self.fake.user(user)["name"]
        return {"id": user, "username": name, "name": name, "team_id": self.team_id}

    def _find(
        self,
        blocks: list[dict[str, Any]],
        kind: str | None,
        action_id: str | None,
        text: str | None,
        value: str | None,
    ) -> tuple[str, dict[str, Any]]:
        candidates = [
            (block_id, e)
            for block_id, e in payloads.interactive_elements(blocks)
            if (kind is None or e["type"] == kind)
            and (action_id is None or e.get("action_id") == action_id)
            and (text is None or e.get("text", {}).get("text") == text)
            and (value is None or e.get("value") == value)
        ]
        wanted = {"type": kind, "action_id": action_id, "text": text, "value": value}
        wanted = {k: v for k, v in wanted.items() if v is not None}
        available = [
            {k: e.get(k) for k in ("type", "action_id", "value")}
            | {"text": e.get("text", {}).get("text")}
            for _, e in payloads.interactive_elements(blocks)
        ]
        assert candidates, f"no element matching {wanted}; the message has {available}"
        assert len(candidates) == 1, f"{len(candidates)} elements match {wanted}: {available}"
        return candidates[0]

    def _selection(
        self, block_id: str, element: dict[str, Any], value: str | list[str]
    ) -> dict[str, Any]:
        """The action Slack sends when `value` is chosen in `element`: a choice the element
        does not offer fails the test, as a press on a button the bot never drew does."""
        try:
            return payloads.selection(
                block_id, element, value, self._conversations, self._users, self._channels
            )
        except payloads.NotOffered as refused:
            raise AssertionError(str(refused)) from refused

    def _remember(
        self, container: tuple[str, ...], blocks: list[dict[str, Any]], action: dict[str, Any]
    ) -> dict[str, dict[str, Any]]:
        """Keep selections like Slack's client does and return the container's state.values.

        Only selections in elements still present in the container survive (the bot
        may have replaced the message since).
        """
        state = self._state.setdefault(container, {})
        key = payloads.SELECTION_KEYS.get(action["type"])
        if key is not None:
            state.setdefault(action["block_id"], {})[action["action_id"]] = {
                "type": action["type"],
                key: action[key],
            }
        present = {(b, e.get("action_id")) for b, e in payloads.interactive_elements(blocks)}
        return {
            block_id: {a: v for a, v in actions.items() if (block_id, a) in present}
            for block_id, actions in state.items()
            if any((block_id, a) in present for a in actions)
        }


@contextmanager
def serve(
    app: Any, signing_secret: str | None = None, ready: Callable[[], bool] | None = None
) -> Iterator[str]:
    """Serve a Bolt app with the bot's production HTTP server in a thread; yield its URL.

    On exit, lets waitress finish the requests in flight, closes the server from its
    own loop thread (closing from another thread leaves the loop asleep in select()
    for up to a second), then waits for Bolt's listener pool, so that no listener still
    runs against a fake Slack that the next teardown is about to stop.
    """
    from bot.slack.http_server import create_http_server
    from tests.conftest import SIGNING_SECRET

    server = create_http_server(
        app, signing_secret=signing_secret or SIGNING_SECRET, ready=ready, host="127.0.0.1", port=0
    )
    thread = threading.Thread(target=server.run, name="bot-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.task_dispatcher.shutdown()
        try:
            server.trigger.pull_trigger(server.close)
        except OSError:
            # The loop has already stopped and closed its trigger (seen once in ~1,000
            # runs at teardown): there is nothing left to wake, so close what remains.
            with suppress(OSError):
                server.close()
        thread.join(timeout=5)
        runner = getattr(app, "_listener_runner", None)
        executor = getattr(runner, "listener_executor", None)
        if executor is not None:
            executor.shutdown(wait=True)
