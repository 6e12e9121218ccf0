"""A Web API client that keeps its connections to Slack open between calls.

slack_sdk's WebClient opens a new connection (TCP, and TLS against the real Slack) for
every call, through urllib; a step makes two or three calls, so connecting was a good
part of its cost. This client keeps one connection per thread and host, and reuses it
while it is sound, with everything above the socket left to slack_sdk (retry handlers,
429s, parsing). Errors look as urllib raises them, so callers tell a refused connection
from a request whose outcome is unknown exactly as before (Messenger.outcome_unknown).

Reuse is safe for a post: a connection that the server closed while idle is noticed
before it is used (it reads as ready: the server's FIN) and replaced; a request that
could not even be sent on a reused connection never reached Slack and is sent once more
on a new one. What remains, a line dropping after the request left, is what a new
connection can meet too, and Messenger.post looks before posting again.
"""

from __future__ import annotations

import io
import select
import threading
import time
from http.client import HTTPConnection, HTTPSConnection
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient

# Idle connections older than this are closed rather than reused: a middlebox may have
# forgotten one without telling either end (load balancers keep idle ones for ~60 s).
MAX_IDLE_SECONDS = 30.0


class _Kept:
    """One open connection and when it was last used."""

    def __init__(self, connection: HTTPConnection) -> None:
        self.connection = connection
        self.used = time.monotonic()

    def sound(self) -> bool:
        """Still worth reusing: not idle too long, and nothing waiting to be read (an idle
        keep-alive connection becomes readable only when the server has closed it)."""
        sock = self.connection.sock
        if sock is None or time.monotonic() - self.used > MAX_IDLE_SECONDS:
            return False
        if not hasattr(select, "poll"):  # poll takes any descriptor; select only < 1024
            return not select.select([sock], [], [], 0)[0]
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return not poller.poll(0)


class KeepAliveWebClient(WebClient):
    """WebClient with per-thread keep-alive connections (no proxy support: with a proxy
    set it falls back to slack_sdk's own urllib request)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy is not None or parts.scheme not in ("http", "https"):
            return super()._perform_urllib_http_request_internal(url, req)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = dict(req.header_items())
        kept: dict[str, _Kept] = self._local.__dict__.setdefault("kept", {})
        key = f"{parts.scheme}://{parts.netloc}"

        reused = kept.pop(key, None)
        if reused is not None and not reused.sound():
            reused.connection.close()
            reused = None
        connection = reused.connection if reused else self._connect(parts.scheme, parts.netloc)
        try:
            connection.request("POST", path, body=req.data, headers=headers)
        except OSError as error:
            connection.close()
            if reused is None:
                raise URLError(error) from error
            # The server had closed it after all: nothing reached Slack, so send it anew.
            connection = self._connect(parts.scheme, parts.netloc)
            try:
                connection.request("POST", path, body=req.data, headers=headers)
            except OSError as again:
                connection.close()
                raise URLError(again) from again
        try:
            response = connection.getresponse()
            body = response.read()
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            kept[key] = _Kept(connection)
        if not 200 <= response.status < 300:
            raise HTTPError(url, response.status, response.reason, response.msg, io.BytesIO(body))
        charset = response.msg.get_content_charset() or "utf-8"
        return {"status": response.status, "headers": response.msg, "body": body.decode(charset)}

    def _connect(self, scheme: str, netloc: str) -> HTTPConnection:
        if scheme == "https":
            return HTTPSConnection(netloc, timeout=self.timeout, context=self.ssl)
        return HTTPConnection(netloc, timeout=self.timeout)
