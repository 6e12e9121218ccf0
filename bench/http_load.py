"""How fast the bot acknowledges Slack and answers people, under concurrent load.

Runs `python app.py` in HTTP mode as a separate process (as deployed: waitress, the real
listeners, a SQLite file or the Postgres at --database-url) against the fake Slack of
the tests, then has N people start a check and answer questions at the same time.

Reports two latencies per request:
  ack   - from sending the signed request until the HTTP response (Slack's 3 s budget);
  step  - from sending an answer until the next question has been posted to the DM.

Not a test: numbers depend on the machine. Run it by hand, e.g.
    .venv/bin/python bench/http_load.py --people 40 --answers 8
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.sandbox.fakeslack import FakeSlack  # noqa: E402
from tests.proposer import GOOD, Proposer, question_in  # noqa: E402
from tests.slack_driver import DriverResponse, SlackDriver  # noqa: E402

SECRET = "bench-secret"
TOKEN = "xoxb-bench"


class TimedDriver(SlackDriver):
    """The tests' signed-request driver, timing each HTTP round trip (the ack)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.acks: list[float] = []
        self.acks_by_thread: dict[int, list[float]] = {}  # each person's, in order
        self._lock = threading.Lock()

    def raw(self, body: bytes, headers: dict[str, str]) -> DriverResponse:
        started = time.perf_counter()
        response = super().raw(body, headers)
        with self._lock:
            ack = time.perf_counter() - started
            self.acks.append(ack)
            self.acks_by_thread.setdefault(threading.get_ident(), []).append(ack)
        return response

    def forget_acks(self) -> None:
        with self._lock:
            self.acks.clear()
            self.acks_by_thread.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=40, help="people checking at once")
    parser.add_argument("--answers", type=int, default=8, help="questions each one answers")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()

    with (
        FakeSlack(bot_token=TOKEN, team_id="T0BENCH") as fake,
        tempfile.TemporaryDirectory() as tmp,
    ):
        users = [f"U{i:05d}" for i in range(args.people)]
        for user in users:
            fake.add_user(user, tz="Europe/London", real_name=user, name=user.lower())
        fake.add_channel("C0PARTNERS", "partnerships", members=users, bot_member=True)
        port = _free_port()
        bot = _start_bot(port, fake.api_url, args.database_url or f"sqlite:///{tmp}/bench.db")
        try:
            slack = TimedDriver(f"http://127.0.0.1:{port}", SECRET, fake, team_id="T0BENCH")
            steps: list[float] = []
            lock = threading.Lock()

            def person(user: str) -> None:
                proposer = Proposer(slack, fake, user)
                started = time.perf_counter()
                message = proposer.start()
                first = time.perf_counter() - started
                local_steps = [first]
                for _ in range(args.answers):
                    question = question_in(message)
                    sent = time.perf_counter()
                    message = proposer.answer(message, GOOD[question.id])
                    local_steps.append(time.perf_counter() - sent)
                with lock:
                    steps.extend(local_steps)

            threads = [threading.Thread(target=person, args=(u,)) for u in users]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - began
            cpu = _cpu_seconds(bot.pid)
        finally:
            bot.terminate()
            bot.wait(timeout=10)
        rejected = len(fake.errors)

    print(f"{args.people} people x {args.answers + 1} requests in {elapsed:.1f} s")
    _report("ack (HTTP response)", slack.acks)
    _report("step (answer -> next question posted)", steps)
    print(f"Slack API calls rejected by the fake: {rejected}")
    if cpu is not None:
        requests = len(slack.acks)
        print(f"bot process CPU: {cpu:.1f} s in all, {cpu / requests * 1000:.1f} ms per request")


def _start_bot(port: int, api_url: str, database_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_APP_TOKEN": "",
        "SLACK_API_URL": api_url,
        "DATABASE_URL": database_url,
        "PARTNERSHIP_CHANNEL": "C0PARTNERS",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    bot = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return bot
        except OSError:
            time.sleep(0.1)
    bot.kill()
    raise SystemExit("the bot did not start within 30 s")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _report(label: str, samples: list[float]) -> None:
    ms = sorted(s * 1000 for s in samples)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    print(
        f"{label}: n={len(ms)} median {statistics.median(ms):.1f} ms, p95 {pick(0.95):.1f} ms, "
        f"p99 {pick(0.99):.1f} ms, max {ms[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
