"""A clean start, as an operator runs the bot: from cron or systemd in another directory,
with a placeholder token, without a network, several instances at once, and for months.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from sqlalchemy import func, select

from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.models import ProcessedEvent
from tests.slack_driver import BotServer

ROOT = Path(__file__).resolve().parents[1]


def run_app(
    *args: str, cwd: Path, app: Path = ROOT / "app.py", **env: str
) -> subprocess.CompletedProcess[str]:
    """`python app.py ...` with only `env` set (no Slack or database settings inherited)."""
    names = ("SLACK_", "DATABASE_URL", "PARTNERSHIP_CHANNEL", "PORT", "LOG_LEVEL", "REVIEW_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(names)}
    return subprocess.run(
        [sys.executable, str(app), *args],
        env={**base, "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """A copy of the bot's entry point in a directory of its own (as deployed), so that
    its `.env` and default database can be looked for beside it."""
    home = tmp_path / "srv" / "partnership-check"
    home.mkdir(parents=True)
    shutil.copy(ROOT / "app.py", home / "app.py")
    return home


def test_run_from_elsewhere_it_reads_the_env_beside_app_py_and_its_database(
    installed: Path, tmp_path: Path
) -> None:
    (installed / ".env").write_text("SLACK_BOT_TOKEN=xoxb-beside-app\nLOG_LEVEL=INFO\n")
    elsewhere = tmp_path / "cron"
    elsewhere.mkdir()
    result = run_app("db", "upgrade", cwd=elsewhere, app=installed / "app.py")
    assert result.returncode == 0, result.stderr
    database = installed / "partnership-check.sqlite3"
    assert database.is_file(), "the default database lives beside app.py"
    assert not list(elsewhere.iterdir()), "nothing is made where it happens to be run"
    assert f"Database: sqlite:///{database}" in result.stderr, "it says which database"


def test_the_env_beside_app_py_is_read_and_the_real_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=4000\nPARTNERSHIP_CHANNEL=#from-file\n")
    os.environ["PARTNERSHIP_CHANNEL"] = "#from-environment"
    try:
        settings = Settings.from_env(home=tmp_path)
    finally:
        del os.environ["PARTNERSHIP_CHANNEL"]
        os.environ.pop("PORT", None)
    assert settings.port == 4000
    assert settings.partnership_channel == "#from-environment"
    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/partnership-check.sqlite3"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_BOT_TOKEN", "xoxb-..."),
        ("SLACK_APP_TOKEN", "xapp-..."),
        ("SLACK_SIGNING_SECRET", "..."),
        ("SLACK_SIGNING_SECRET", "<your signing secret>"),
    ],
)
def test_a_placeholder_from_env_example_is_refused_before_anything_is_migrated(
    tmp_path: Path, name: str, value: str
) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-real-1", "SLACK_SIGNING_SECRET": "real", name: value}
    result = run_app(cwd=tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", **env)
    assert result.returncode == 2
    assert f"{name} is still the placeholder from .env.example" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "db.sqlite3").exists(), "nothing was migrated"


def test_an_unreachable_slack_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_app(
        cwd=tmp_path,
        SLACK_BOT_TOKEN="xoxb-1-2",
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL="http://127.0.0.1:9/api/",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        LOG_LEVEL="ERROR",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    said = [line for line in result.stderr.splitlines() if "slack_sdk" not in line]
    assert said == [
        "Cannot reach Slack at http://127.0.0.1:9/api/ ([Errno 111] Connection refused). "
        "Check this machine's network and proxy settings (or SLACK_API_URL)."
    ]


def test_libraries_do_not_narrate_a_start_at_info(tmp_path: Path) -> None:
    quiet = run_app("db", "upgrade", cwd=tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/a.db")
    assert quiet.returncode == 0
    assert not re.search(r"INFO (alembic|transitions)", quiet.stderr), quiet.stderr
    loud = run_app(
        "db", "upgrade", cwd=tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/b.db", LOG_LEVEL="DEBUG"
    )
    assert re.search(r"INFO alembic", loud.stderr), "LOG_LEVEL=DEBUG shows them again"


@pytest.mark.postgres
def test_instances_started_at_once_take_turns_to_migrate(tmp_path: Path, database_url: str) -> None:
    def upgrade(_: int) -> subprocess.CompletedProcess[str]:
        return run_app("db", "upgrade", cwd=tmp_path, DATABASE_URL=database_url)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(upgrade, range(6)))
    assert [r.returncode for r in results] == [0] * 6, [r.stderr[-500:] for r in results]


def test_event_ids_slack_can_no_longer_retry_are_forgotten(bot_server: BotServer) -> None:
    db: Database = bot_server.services.db
    now = datetime.now(UTC)
    with db.session() as session:
        session.add(
            ProcessedEvent(event_id="Ev-old", team_id="T", received_at=now - timedelta(days=3))
        )
        session.add(ProcessedEvent(event_id="Ev-new", team_id="T", received_at=now))
    bot_server.services.scheduler.run_due(now)
    with db.reading() as session:
        kept = session.scalars(select(ProcessedEvent.event_id)).all()
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 1
    assert kept == ["Ev-new"]


# --- installs that do not differ by date -------------------------------------------------


def test_the_lock_file_pins_every_dependency_within_the_ranges_of_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            requirement = Requirement(line)
            (version,) = [spec.version for spec in requirement.specifier if spec.operator == "=="]
            pins[_canonical(requirement.name)] = version
    for dependency in project["dependencies"]:
        requirement = Requirement(dependency.split(";")[0])
        name = _canonical(requirement.name)
        assert name in pins, f"{name} is not pinned in requirements.lock"
        assert requirement.specifier.contains(pins[name]), (
            f"{name}=={pins[name]} is outside {requirement}"
        )


def test_the_readme_installs_from_the_lock_and_ci_runs_its_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```sh\n(.+?)\n```", readme)
    run, tests = commands[0], commands[1]
    assert "-r requirements.lock" in run and run.endswith("python app.py")
    assert "-r requirements-dev.lock" in tests and tests.endswith("pytest")
    assert tests in (ROOT / ".ci" / "run").read_text()
    # The tests' lock is the deployment's plus test-only pins, which a deployment leaves out.
    dev_lines = (ROOT / "requirements-dev.lock").read_text().splitlines()
    assert "-r requirements.lock" in dev_lines
    deployed = (ROOT / "requirements.lock").read_text()
    assert "playwright" in "\n".join(dev_lines) and "playwright" not in deployed


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_packaged_flows_declare_every_role_the_bot_needs() -> None:
    """The bot checks these at start (build_services), so a renamed question in a
    definition stops it there with a message naming the role, not halfway through."""
    from bot.slack.services import NEEDED_ROLES
    from flows import load_flow

    for name, roles in NEEDED_ROLES.items():
        load_flow(name).require(roles)
