"""`python app.py` with no Slack credentials starts the sandbox, as a new user runs it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.ports import port_nobody_is_handed
from tests.sandbox_support import request
from tests.test_app_cli import ROOT, clean_env


def start(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.Popen[str], str]:
    port = port_nobody_is_handed()
    database = f"sqlite:///{tmp_path / 'sandbox.sqlite3'}"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), *args],
        env=clean_env(PORT=str(port), SANDBOX_DATABASE_URL=database, **env),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=20)
    return process.returncode, errors


def test_without_slack_credentials_python_app_py_starts_the_sandbox(tmp_path: Path) -> None:
    process, said = start(tmp_path)
    try:
        assert said.startswith("Sandbox: open http://127.0.0.1:"), said
        status, _, page = request(said.removeprefix("Sandbox: open "))
        assert status == 200 and b"Sandbox" in page
    finally:
        code, errors = stop(process)
    assert code == 0 and "Traceback" not in errors, errors
    assert (tmp_path / "sandbox.sqlite3").is_file(), "its own database"
    assert "Database: " not in errors, "the real DATABASE_URL is not even looked at"


def test_python_app_py_sandbox_starts_it_even_with_slack_credentials(tmp_path: Path) -> None:
    process, said = start(
        tmp_path, "sandbox", SLACK_BOT_TOKEN="xoxb-real-1", SLACK_SIGNING_SECRET="real"
    )
    try:
        assert said.startswith("Sandbox: open http://127.0.0.1:"), said
    finally:
        code, errors = stop(process)
    assert code == 0, errors


def test_a_port_already_taken_is_said_in_two_lines_and_exit_2(tmp_path: Path) -> None:
    first, said = start(tmp_path)
    try:
        port = said.rsplit(":", 1)[1]
        second = subprocess.run(
            [sys.executable, str(ROOT / "app.py"), "sandbox"],
            env=clean_env(PORT=port, SANDBOX_DATABASE_URL=f"sqlite:///{tmp_path / 'b.sqlite3'}"),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        stop(first)
    assert second.returncode == 2
    assert f"Cannot start the sandbox on port {port}" in second.stderr
    assert "Set PORT" in second.stderr and "Traceback" not in second.stderr
