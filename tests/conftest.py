"""Fixtures that run the real bot behind its real HTTP server against a strict fake Slack.

`fake_slack` is the workspace (Web API fake), `bot_server` the bot as deployed (Bolt app
behind waitress, configured through `Settings`), `slack` the people using it (signed
requests). Nothing here talks to the real Slack.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from bot.sandbox.fakeslack import FakeSlack
from tests.slack_driver import BotServer, SlackDriver

# Property tests check behaviour, not speed: on a busy CI machine a slow example (a
# holiday calendar filled in for a new year, say) must not fail on Hypothesis's deadline.
settings.register_profile("project", deadline=None)
settings.load_profile("project")

BOT_TOKEN = "xoxb-test"
SIGNING_SECRET = "test-secret"
TEAM_ID = "T000TEST"
PARTNERS = "C0PARTNERS"
ELSEWHERE = "C0NOBOT"
ALICE = "U0ALICE"
BOB = "U0BOB"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres: run against the database in TEST_DATABASE_URL (skipped without it)"
    )


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A started fake workspace: #partnerships (bot in it), #elsewhere (bot not), two people."""
    with FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM_ID, bot_user_id="U0BOT") as fake:
        fake.add_user(ALICE, tz="Europe/London", real_name="Alice Example", name="alice")
        fake.add_user(BOB, tz="America/New_York", real_name="Bob Example", name="bob")
        fake.add_channel(PARTNERS, "partnerships", members=[ALICE, BOB], bot_member=True)
        fake.add_channel(ELSEWHERE, "elsewhere", members=[ALICE, BOB], bot_member=False)
        yield fake


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite file; for tests marked `postgres`, a fresh schema in TEST_DATABASE_URL.

    The SQLite file is already at the newest migration (a copy of one migrated once per
    test process), so the bot's upgrade at start finds nothing to do; a Postgres schema
    starts empty, so every Postgres variant still has the bot migrate a new database at
    its start (as do test_storage, test_clean_start and test_app_cli). Without
    TEST_DATABASE_URL the Postgres variants are skipped, saying why.
    """
    from tests import databases

    kind = "postgres" if request.node.get_closest_marker("postgres") else "sqlite"
    with databases.database_url(kind, tmp_path, migrated=True) as url:
        yield url


@pytest.fixture
def bot_server(fake_slack: FakeSlack, database_url: str) -> Iterator[BotServer]:
    """The real bot (`create_app(settings)`) served by the real HTTP server on a free port.

    Its services are exposed too, so tests can run a reminder pass at a chosen time.
    """
    from tests.e2e_support import running_bot

    with running_bot(fake_slack, database_url) as bot:
        yield bot


@pytest.fixture
def slack(bot_server: BotServer, fake_slack: FakeSlack) -> SlackDriver:
    """Signed requests to the running bot, as Slack sends them."""
    return SlackDriver(bot_server.base_url, SIGNING_SECRET, fake_slack, team_id=TEAM_ID)
