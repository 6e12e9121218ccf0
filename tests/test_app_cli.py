"""`python app.py` as an operator runs it: configuration errors, HTTP mode, migrations, logs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sandbox.fakeslack import FakeSlack
from tests.conftest import ALICE, PARTNERS
from tests.ports import port_nobody_is_handed
from tests.proposer import FLOW, Proposer, question_in
from tests.slack_driver import SlackDriver

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "xoxb-cli-secret-token"
SECRET = "cli-secret"


def run_app(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def clean_env(**values: str) -> dict[str, str]:
    """The process environment without any Slack or database settings, plus `values`."""
    names = ("SLACK_", "DATABASE_URL", "SANDBOX_", "PARTNERSHIP_CHANNEL", "PORT", "LOG_LEVEL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(names)}
    env["PYTHONPATH"] = str(ROOT)
    return {**env, **values}


def test_serve_without_credentials_says_what_to_set_and_exits_non_zero(tmp_path: Path) -> None:
    """`python app.py serve` is the real Slack only (plain `python app.py` with no Slack
    credentials at all starts the sandbox: tests/test_sandbox_cli.py)."""
    result = run_app("serve", env=clean_env(), cwd=tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr and "SLACK_SIGNING_SECRET" in result.stderr
    assert "slack-app-manifest.yml" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) <= 8


def test_a_bot_token_without_an_app_token_or_signing_secret_says_what_to_set(
    tmp_path: Path,
) -> None:
    """Half a configuration is a mistake to explain, not a reason to start the sandbox."""
    result = run_app(env=clean_env(SLACK_BOT_TOKEN=TOKEN), cwd=tmp_path)
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr and "SLACK_APP_TOKEN" in result.stderr
    assert "Sandbox" not in result.stdout and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("PORT", "eighty", "PORT must be a number"),
        ("PARTNERSHIP_CHANNEL", "partnerships channel", "PARTNERSHIP_CHANNEL must be"),
        ("SLACK_BOT_TOKEN", "xapp-wrong-kind", "SLACK_BOT_TOKEN should start with 'xoxb-'"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of"),
    ],
)
def test_invalid_settings_are_named(tmp_path: Path, name: str, value: str, complaint: str) -> None:
    env = clean_env(**{"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, name: value})
    result = run_app(env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert complaint in result.stderr
    assert "Traceback" not in result.stderr


def test_settings_are_read_from_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=not-a-port\n")
    result = run_app(env=clean_env(), cwd=tmp_path)
    assert result.returncode == 2 and "PORT must be a number" in result.stderr


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    result = run_app("db", "upgrade", env=clean_env(DATABASE_URL=url), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert (tmp_path / "ops.sqlite3").exists()


def test_an_unreachable_database_is_reported_without_a_traceback(tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = run_app("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "Cannot use the database" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def http_bot(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`python app.py` in HTTP mode on a free port, logging at DEBUG to a file."""
    port = port_nobody_is_handed()
    log = tmp_path / "bot.log"
    env = clean_env(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        PARTNERSHIP_CHANNEL=PARTNERS,
        PORT=str(port),
        LOG_LEVEL="DEBUG",
    )
    fake_slack.bot_token = TOKEN
    with log.open("w") as out:
        bot = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")], env=env, cwd=tmp_path, stdout=out, stderr=out
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                        assert response.read() == b"ok"
                        break
                except OSError:
                    assert bot.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "the bot did not start"
                    time.sleep(0.1)
            yield base, log
        finally:
            bot.terminate()
            bot.wait(timeout=10)


def test_http_mode_serves_signed_requests_and_never_logs_the_token(
    http_bot: tuple[str, Path], fake_slack: FakeSlack
) -> None:
    base, log = http_bot
    slack = SlackDriver(base, SECRET, fake_slack, team_id="T000TEST")
    message = Proposer(slack, fake_slack, ALICE).start()
    first = question_in(message)
    assert first is not None and first.id == "name"
    # The first tip, "About the proposal", is not assessed: its heading has no tip count.
    assert message["text"] == f"About the proposal: {first.text}"
    assert FLOW.questions[0] is first

    forged = SlackDriver(base, "not-the-secret", fake_slack, team_id="T000TEST")
    assert forged.command(ALICE, "new").status == 401
    assert fake_slack.errors == []
    assert TOKEN not in log.read_text()
    assert "xoxb-" not in log.read_text().replace("xox*-[redacted]", "")
    # A clean start: no warning an operator would have to look into.
    assert [line for line in log.read_text().splitlines() if " WARNING " in line] == []


def test_a_token_slack_refuses_is_reported_without_a_traceback(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    env = clean_env(
        SLACK_BOT_TOKEN="xoxb-revoked-long-ago",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
    )
    result = run_app(env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "Slack refused to start the bot" in result.stderr
    assert "invalid_auth" in result.stderr and "SLACK_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr
    assert "xoxb-revoked-long-ago" not in result.stderr
