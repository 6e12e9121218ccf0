"""HTTP mode: Bolt's WSGI adapter served by waitress, a production multi-threaded server.

Only `POST /slack/events` (and a `GET /healthz` for load balancers) is served; Bolt checks
every request's signature before any listener runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

EVENTS_PATH = "/slack/events"


def make_wsgi_app(app: App) -> Callable[..., Iterable[bytes]]:
    handler = SlackRequestHandler(app, path=EVENTS_PATH)

    def wsgi(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        return handler(environ, start_response)

    return wsgi


def create_http_server(app: App, host: str = "0.0.0.0", port: int = 3000, threads: int = 32):
    """A waitress server for `app`; call `.run()` to serve and `.close()` to stop.

    32 threads: every request is acknowledged in milliseconds and slow work runs on
    Bolt's own pool, so the threads here only parse and verify requests.
    """
    return create_server(
        make_wsgi_app(app), host=host, port=port, threads=threads, ident="partnership-check"
    )
