"""The Web API client keeps connections open, and reusing one never loses or repeats a call.

A small HTTP/1.1 server stands in for Slack here, since what matters is the connection:
which one each request came on, and what happens when the server closes an idle one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.error import URLError

import pytest
from slack_sdk.errors import SlackApiError

from bot.slack.keep_alive import KeepAliveWebClient


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[int, str, dict[str, Any]]] = []  # (client port, method, args)
        self.close_after_answer = False  # the server then closes each connection
        self.status = 200
        self.closed = threading.Semaphore(0)  # released as the server closes a connection

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"] or 0))
        args = json.loads(body) if body else {}
        self.server.requests.append((self.client_address[1], self.path, args))
        data = json.dumps({"ok": self.server.status == 200, "ts": "1.0", "channel": "C1"})
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data.encode())
        if self.server.close_after_answer:
            self.close_connection = True

    def finish(self) -> None:
        super().finish()
        self.connection.close()
        self.server.closed.release()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    server = Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def client(server: Server) -> KeepAliveWebClient:
    # No retry handlers: a call that fails here is not hidden by a retry.
    return KeepAliveWebClient(token="xoxb-test", base_url=server.url, timeout=5, retry_handlers=[])


def ports(server: Server) -> list[int]:
    return [port for port, _, _ in server.requests]


def test_calls_from_one_thread_share_a_connection_and_other_threads_get_their_own(
    server: Server,
) -> None:
    slack = client(server)
    for n in range(3):
        slack.chat_postMessage(channel="C1", text=f"hello {n}")
    other = threading.Thread(target=lambda: slack.chat_update(channel="C1", ts="1.0", text="x"))
    other.start()
    other.join()

    first, second, third, elsewhere = ports(server)
    assert first == second == third
    assert elsewhere != first
    assert [args["text"] for _, _, args in server.requests] == [
        "hello 0",
        "hello 1",
        "hello 2",
        "x",
    ]


def test_a_connection_the_server_closed_is_replaced_and_the_post_sent_once(
    server: Server,
) -> None:
    slack = client(server)
    server.close_after_answer = True
    slack.chat_postMessage(channel="C1", text="first")
    assert server.closed.acquire(timeout=5)
    slack.chat_postMessage(channel="C1", text="second")  # on a connection closed while idle

    assert [args["text"] for _, _, args in server.requests] == ["first", "second"]
    assert len(set(ports(server))) == 2


def test_slack_refusing_a_call_is_still_an_api_error(server: Server) -> None:
    server.status = 500
    with pytest.raises(SlackApiError):
        client(server).chat_postMessage(channel="C1", text="refused")
    server.status = 200
    client(server).chat_postMessage(channel="C1", text="fine")


def test_nothing_listening_is_a_refused_connection_as_urllib_reports_it(server: Server) -> None:
    url = server.url
    server.shutdown()
    server.server_close()
    with pytest.raises(URLError) as refused:
        KeepAliveWebClient(token="xoxb-test", base_url=url, timeout=5).auth_test()
    assert isinstance(refused.value.reason, ConnectionRefusedError)
