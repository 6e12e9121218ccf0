"""The database goes away for a while (a restart, a failover): nothing is lost, nothing is
done twice, and nobody is left guessing. The bot reaches Postgres through a proxy the test
can cut, as a network or a restarting server would.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.sandbox.fakeslack import FakeSlack
from bot.settings import Settings
from bot.slack.app import create_app
from bot.slack.services import build_services, make_client
from bot.storage.db import Database
from tests.conftest import ALICE, BOT_TOKEN, PARTNERS, SIGNING_SECRET, TEAM_ID
from tests.e2e_support import Journey, ack_blocks, mrkdwn_texts, question_id
from tests.ports import port_nobody_is_handed
from tests.proposer import GOOD
from tests.slack_driver import SlackDriver, serve
from tests.test_e2e_requests import get

pytestmark = pytest.mark.postgres


class Cuttable:
    """A TCP proxy to Postgres that can be cut (connections refused, open ones dropped)
    and restored on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = port_nobody_is_handed()  # free again while cut: see tests.ports
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        assert self._listener is not None
        _close(self._listener)  # shutdown first: close alone leaves accept() accepting
        self._listener = None
        with self._lock:
            for connection in self._open:
                _close(connection)
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.target)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(connection: socket.socket) -> None:
    with suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()


@contextmanager
def bot_behind(proxy: Cuttable, fake: FakeSlack, url: str, patience: float) -> Iterator[Any]:
    """The bot, its database reached through `proxy`; yields (base URL, driver)."""
    parts = urlsplit(url)
    proxied = urlunsplit(parts._replace(netloc=f"postgres@127.0.0.1:{proxy.port}"))
    settings = Settings(
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        api_url=fake.api_url,
        database_url=proxied,
        partnership_channel=PARTNERS,
    )
    db = Database(proxied, patience=patience)
    services = build_services(settings, make_client(settings), db)
    app = create_app(settings, services)
    try:
        with serve(app, ready=db.is_reachable) as base_url:
            yield base_url, SlackDriver(base_url, SIGNING_SECRET, fake, team_id=TEAM_ID)
    finally:
        db.close()


@pytest.fixture
def proxy(database_url: str) -> Iterator[Cuttable]:
    parts = urlsplit(database_url)
    cuttable = Cuttable((parts.hostname or "127.0.0.1", parts.port or 5432))
    yield cuttable
    if cuttable._listener is not None:
        cuttable.cut()


def test_an_answer_sent_while_the_database_restarts_is_kept(
    fake_slack: FakeSlack, database_url: str, proxy: Cuttable
) -> None:
    with bot_behind(proxy, fake_slack, database_url, patience=30) as (base_url, slack):
        alice = Journey(slack, fake_slack, ALICE)
        question = alice.start()
        assert question_id(question) == "name"
        proxy.cut()
        assert get(base_url, "/healthz") == (200, "ok")
        assert get(base_url, "/readyz") == (503, "database unreachable")
        seen = alice.count()
        slack.dm(ALICE, GOOD["name"])
        time.sleep(2)  # the database is away for a while: through three of the bot's retries
        assert alice.count() == seen, "nothing is said while it waits"
        proxy.restore()
        following = alice.wait_for_prompt(seen)
        assert question_id(following) == "organisations", "the answer was kept"
        assert get(base_url, "/readyz") == (200, "ready")
        fake_slack.wait_idle()
        assert not [m for m in alice.bot_messages() if ":warning:" in m["text"]]


def test_an_outage_longer_than_the_bot_waits_is_said_plainly_and_nothing_is_half_done(
    fake_slack: FakeSlack, database_url: str, proxy: Cuttable
) -> None:
    with bot_behind(proxy, fake_slack, database_url, patience=2) as (_, slack):
        alice = Journey(slack, fake_slack, ALICE)
        alice.start()
        proxy.cut()
        seen = alice.count()
        slack.dm(ALICE, GOOD["name"])
        told = alice.wait_notice(seen, "database isn't answering")
        assert "I couldn't save \u201cIntegrated discharge team\u201d" in told["text"]
        assert "send it again in a minute" in told["text"]

        started = time.monotonic()
        ack = slack.command(ALICE, "list")
        assert ack.status == 200 and time.monotonic() - started < 2.8, "Slack's 3 s"
        assert "database isn't answering" in ack_blocks(ack)["text"]

        proxy.restore()
        seen = alice.count()
        slack.dm(ALICE, GOOD["name"])  # sent again, as asked
        assert question_id(alice.wait_for_prompt(seen)) == "organisations"
        listed = mrkdwn_texts(ack_blocks(slack.command(ALICE, "list"))["blocks"])
        assert "Integrated discharge team" in "\n".join(listed)
