"""HTTP mode: a Bolt app behind a small front door, served by waitress.

The front door answers before Bolt sees a request: the body is capped (Slack's are
small, so a larger one is refused without being read), the signature is checked on the
raw bytes, and a signed payload that is not shaped like Slack's is answered 400 instead
of reaching a listener; one that is, is handed to Bolt as read here. So no request can
fill memory or the log, and a malformed one never gets a 500. Only `POST /slack/events`,
`GET /healthz` (the process lives) and `GET /readyz` (the database answers) are served.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from waitress.server import create_server

EVENTS_PATH = "/slack/events"
# Slack's requests are a few kilobytes (a block_actions payload with its message is the
# largest); anything near this is not from Slack.
MAX_BODY = 512 * 1024

# Slack's rule: a request signed longer ago than this may be a replay.
SIGNATURE_MAX_AGE = 5 * 60

log = logging.getLogger(__name__)
Wsgi = Callable[..., Iterable[bytes]]


def make_wsgi_app(app: App, signing_secret: str, ready: Callable[[], bool] | None = None) -> Wsgi:
    secret = signing_secret.encode()

    def wsgi(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path == "/healthz" and method == "GET":
            return _answer(start_response, "200 OK", "ok")
        if path == "/readyz" and method == "GET":
            if ready is None or ready():
                return _answer(start_response, "200 OK", "ready")
            return _answer(start_response, "503 Service Unavailable", "database unreachable")
        if path != EVENTS_PATH:
            return _answer(start_response, "404 Not Found", "not found")
        if method != "POST":
            return _answer(start_response, "405 Method Not Allowed", "POST only")
        length = environ.get("CONTENT_LENGTH") or ""
        if not length.isdigit():
            return _answer(start_response, "411 Length Required", "length required")
        if int(length) > MAX_BODY:
            return _answer(start_response, "413 Content Too Large", "too large")
        body = environ["wsgi.input"].read(int(length))
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not is_signed(secret, body, timestamp, signature):
            log.info("Refused a request with no valid Slack signature (%d bytes)", len(body))
            return _answer(start_response, "401 Unauthorized", "invalid signature")
        payload = read_payload(body, environ.get("CONTENT_TYPE", ""))
        if isinstance(payload, str):
            log.warning("Refused a signed request that Slack would not send: %s", payload)
            return _answer(start_response, "400 Bad Request", "malformed request")
        # Bolt is handed the body read here, not the bytes to read again: its "socket_mode"
        # is how it takes a request already parsed and verified (the signature was checked
        # above, on the raw bytes). A press carries its whole message, so parsing it twice
        # was a fair part of a press's cost.
        try:
            request = BoltRequest(
                body=payload,
                query=environ.get("QUERY_STRING", ""),
                headers=_headers(environ),
                mode="socket_mode",
            )
            response = app.dispatch(request)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            # Bolt reading a field of an unexpected type (a signed request that is not
            # shaped as Slack's): one line, no traceback, no body.
            log.warning("Refused a signed request Bolt could not read (%s)", type(error).__name__)
            return _answer(start_response, "400 Bad Request", "malformed request")
        answer = WsgiHttpResponse(response.status, response.headers, response.body)
        start_response(answer.status, answer.get_headers())
        return answer.get_body()

    return wsgi


def create_http_server(
    app: App,
    *,
    signing_secret: str,
    ready: Callable[[], bool] | None = None,
    host: str = "0.0.0.0",
    port: int = 3000,
    threads: int = 32,
) -> Any:
    """A waitress server for `app`; call `.run()` to serve and `.close()` to stop.

    32 threads: every request is acknowledged in milliseconds and slow work runs on
    Bolt's own pool, so the threads here only read and verify requests. waitress itself
    refuses a body over MAX_BODY before buffering it.
    """
    return create_server(
        make_wsgi_app(app, signing_secret, ready),
        host=host,
        port=port,
        threads=threads,
        ident="partnership-check",
        max_request_body_size=MAX_BODY,
    )


def is_signed(secret: bytes, body: bytes, timestamp: str, signature: str) -> bool:
    """Slack's v0 signature over the raw bytes, made in the last five minutes.

    Done here on bytes, not with slack_sdk's verifier, which decodes the body first and
    so raises (a 500) on a body that is not UTF-8 instead of refusing it.
    """
    if not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs(time.time() - int(timestamp)) > SIGNATURE_MAX_AGE:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def read_payload(body: bytes, content_type: str) -> dict[str, Any] | str:
    """A signed body as Bolt reads it, or why it is not a request Slack sends.

    Checks only what the listeners rely on, so a real request is never refused: a form
    with a JSON `payload` (interactions) or a slash command, or a JSON body (events).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    try:
        if content_type.startswith("application/json"):
            event = json.loads(text)
            return _event_problem(event) or event
        form = parse_qs(text, keep_blank_values=True, errors="strict")
        if "payload" in form:
            interaction = json.loads(form["payload"][-1])
            return _interaction_problem(interaction) or interaction
        if "command" in form:
            missing = [key for key in ("command", "user_id", "team_id") if not form.get(key)]
            if missing:
                return f"a command without {missing[0]}"
            return {key: values[-1] for key, values in form.items()}  # as Bolt reads a form
    except (ValueError, RecursionError) as error:  # bad JSON, escapes or nesting
        return f"unreadable ({type(error).__name__})"
    return "neither an event, an interaction nor a command"


def _headers(environ: dict[str, Any]) -> dict[str, str | Sequence[str]]:
    """The request's headers by lower-case name, as Bolt's WSGI adapter gives them."""
    headers: dict[str, str | Sequence[str]] = {
        key[5:].lower().replace("_", "-"): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if key in environ:
            headers[key.lower().replace("_", "-")] = environ[key]
    return headers


def _event_problem(body: object) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        return "an event body without a type"
    if body["type"] != "event_callback":
        return None  # url_verification and others: Bolt knows them
    event = body.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return "an event_callback without an event"
    return None


# Fields Slack always sends as objects, when it sends them at all.
_OBJECTS = ("team", "user", "channel", "container", "message", "view", "state", "enterprise")


def _interaction_problem(payload: object) -> str | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        return "an interaction without a type"
    wrong = [
        key
        for key in _OBJECTS
        if payload.get(key) is not None and not isinstance(payload[key], dict)
    ]
    if wrong:
        return f"an interaction whose {wrong[0]} is not an object"
    user = payload.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return "an interaction without a user"
    if payload["type"] == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            return "block_actions without actions"
        if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            return "an action without an action_id"
    return None


def _answer(start_response: Callable, status: str, text: str) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
    return [text.encode()]
