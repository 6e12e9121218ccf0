"""The sandbox's page: a small HTTP server on 127.0.0.1 that serves the page, what it
shows (`GET /state`), and takes what people do on it (`POST /act`, `POST /clock/next`).

It answers only requests addressed to itself (the Host header names 127.0.0.1 or
localhost and its port: no other site's page can reach it through DNS tricks), and
takes only JSON posts (which a page elsewhere cannot send here without asking first).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
MAX_BODY = 64 * 1024
PAGE_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/sandbox.js": ("sandbox.js", "text/javascript; charset=utf-8"),
    "/sandbox.css": ("sandbox.css", "text/css; charset=utf-8"),
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

# query -> the page's JSON; body -> {"ok": ..., "problem"/"note": ...}
Show = Callable[[dict[str, str]], dict[str, Any]]
Act = Callable[[dict[str, Any]], dict[str, Any]]


class PageServer(ThreadingHTTPServer):
    daemon_threads = True
    # A browser opens several connections at once; on a busy machine a queue of 5 would
    # leave some waiting out a SYN retry of a second or more.
    request_queue_size = 64

    def __init__(self, port: int, show: Show, act: Act, jump: Callable[[], dict[str, Any]]) -> None:
        super().__init__((HOST, port), _Handler)
        self.show, self.act, self.jump = show, act, jump
        self.thread = threading.Thread(target=self.serve_forever, name="sandbox-page", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    def allowed_hosts(self) -> set[str]:
        port = self.server_address[1]
        return {f"{HOST}:{port}", f"localhost:{port}"}


class _Handler(BaseHTTPRequestHandler):
    server: PageServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if not self._addressed_here():
            return
        url = urlsplit(self.path)
        if url.path in PAGE_FILES:
            name, content_type = PAGE_FILES[url.path]
            self._send(200, (files("bot.sandbox") / "page" / name).read_bytes(), content_type)
        elif url.path == "/favicon.ico":
            self._send(204, b"", "text/plain; charset=utf-8")
        elif url.path == "/state":
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            self._json(200, self.server.show(query))
        else:
            self._send(404, b"not found", "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        if not self._addressed_here():
            return
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        length = self.headers.get("Content-Length") or ""
        if content_type != "application/json":
            self._send(415, b"JSON only", "text/plain; charset=utf-8")
            return
        if not length.isdigit() or int(length) > MAX_BODY:
            self._send(413, b"too large", "text/plain; charset=utf-8")
            return
        try:
            body = json.loads(self.rfile.read(int(length)) or b"{}")
        except ValueError:
            self._json(400, {"ok": False, "problem": "That was not JSON."})
            return
        path = urlsplit(self.path).path
        try:
            if path == "/act" and isinstance(body, dict):
                self._json(200, self.server.act(body))
            elif path == "/clock/next":
                self._json(200, self.server.jump())
            else:
                self._send(404, b"not found", "text/plain; charset=utf-8")
        except Exception:  # a bug in the sandbox: said on the page, logged once
            log.exception("The sandbox failed to do what the page asked")
            self._json(500, {"ok": False, "problem": "The sandbox failed; its log says why."})

    def _addressed_here(self) -> bool:
        if self.headers.get("Host") in self.server.allowed_hosts():
            return True
        self._send(403, b"not addressed to the sandbox", "text/plain; charset=utf-8")
        return False

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("page: " + format, *args)
