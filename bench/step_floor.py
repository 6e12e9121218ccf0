"""A step of the bot against the floor: a bare Bolt app making the same two Slack calls.

Starts the server as a separate process (the bot: `python app.py` in HTTP mode; the
floor: bench/bare_bolt.py, behind the same front door) against the tests' fake Slack,
and has N people each send M messages in their DM as fast as the replies come: for the
bot, a typed answer and `back` in turn (each a step: the answer saved, the old message
closed with `chat.update`, the next question posted); for the floor, the same two calls
and nothing else. Each person waits only for a new post in their own DM (a condition per
DM, so the load generator's own cost stays flat as people are added).

Reports, per server: its CPU per step (user + system time of the server process, from
/proc, over the measured steps only), the ack (signed request sent -> HTTP response) and
the step (message sent -> next question posted) percentiles, the ack's p99 without the
opening burst (every person's first measured message is sent in the same instant, and
those acks queue behind each other), steps per second, the
load generator's own CPU per step (the people sending and the fake Slack, in this
process) and the share of the whole machine's CPU left idle (two processes can only be
faster if some is). With `--processes 2` the bot also runs as two processes on one
Postgres database (people split between them) and the throughput of two is compared
with one.

Not a test: numbers depend on the machine. Run it by hand, e.g.
    .venv/bin/python bench/step_floor.py --people 40 --steps 10
    .venv/bin/python bench/step_floor.py --people 40 --steps 10 --processes 2 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.http_load import TimedDriver, _cpu_seconds, _free_port  # noqa: E402
from bot.sandbox.fakeslack import FakeSlack  # noqa: E402

SECRET = "bench-secret"
TOKEN = "xoxb-bench"
TEAM = "T0BENCH"
ANSWER = "Shared discharge hub"


class DMs(FakeSlack):
    """The fake Slack, counting the bot's posts per DM with a condition per DM: a person
    waiting for their reply is woken by their own DM only."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.posts: dict[str, int] = defaultdict(int)
        self.waiting: dict[str, threading.Condition] = defaultdict(threading.Condition)

    def handle_api(
        self, method: str, authorization: str | None, args: dict[str, Any] | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        answer = super().handle_api(method, authorization, args)
        channel = (args or {}).get("channel", "")
        if method == "chat.postMessage" and answer[1].get("ok") and channel.startswith("D"):
            condition = self.waiting[channel]
            with condition:
                self.posts[channel] += 1
                condition.notify_all()
        return answer

    def wait_posts(self, channel: str, count: int, timeout: float = 60) -> None:
        condition = self.waiting[channel]
        with condition:
            if not condition.wait_for(lambda: self.posts[channel] >= count, timeout):
                raise SystemExit(f"no reply in {channel} within {timeout} s")


@dataclass
class Run:
    label: str
    steps: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    # The acks after each person's first measured message: all 40 first messages arrive
    # in the same instant, so the slowest acks of a run are that opening burst's.
    steady_acks: list[float] = field(default_factory=list)
    cpu: float = 0.0
    elapsed: float = 0.0
    idle: float | None = None  # share of the machine's CPU left idle while measuring
    load_cpu: float = 0.0  # this process's CPU: the people sending and the fake Slack

    @property
    def count(self) -> int:
        return len(self.steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--steps", type=int, default=10, help="measured steps per person")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--processes", type=int, default=1, choices=(1, 2))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, _database(args.database_url, tmp) as url:
        runs = [measure("floor: bare Bolt", args, None)]
        runs.append(measure("bot, 1 process", args, [url]))
        if args.processes == 2:
            runs.append(measure("bot, 2 processes", args, [url, url]))
    print()
    print(f"{args.people} people at once, {args.steps} steps each (after one to start)")
    print()
    print(
        "| server | CPU per step | ack p50 / p99 | ack p99 after the burst "
        "| step p50 / p99 | steps/s | load generator's CPU per step | machine idle |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for run in runs:
        idle = "?" if run.idle is None else f"{run.idle:.0%}"
        print(
            f"| {run.label} | {run.cpu / run.count * 1000:.1f} ms "
            f"| {_p(run.acks, 0.5)} / {_p(run.acks, 0.99)} ms "
            f"| {_p(run.steady_acks, 0.99)} ms "
            f"| {_p(run.steps, 0.5)} / {_p(run.steps, 0.99)} ms "
            f"| {run.count / run.elapsed:.0f} | {run.load_cpu / run.count * 1000:.1f} ms "
            f"| {idle} |"
        )
    floor, bot = runs[0], runs[1]
    ratio = (bot.cpu / bot.count) / (floor.cpu / floor.count)
    print(f"\nA step of the bot costs {ratio:.2f}x the floor's CPU.")
    if len(runs) == 3:
        scale = (runs[2].count / runs[2].elapsed) / (bot.count / bot.elapsed)
        print(f"Two processes give {scale:.2f}x the steps per second of one.")


def measure(label: str, args: argparse.Namespace, databases: Sequence[str] | None) -> Run:
    run = Run(label)
    with DMs(bot_token=TOKEN, team_id=TEAM) as fake:
        users = [f"U{i:05d}" for i in range(args.people)]
        for user in users:
            fake.add_user(user, tz="Europe/London", real_name=user, name=user.lower())
        fake.add_channel("C0PARTNERS", "partnerships", members=users, bot_member=True)
        servers = [_start(fake.api_url, db) for db in (databases or [None])]
        try:
            drivers = [
                TimedDriver(f"http://127.0.0.1:{port}", SECRET, fake, team_id=TEAM)
                for port, _ in servers
            ]
            ready = threading.Barrier(len(users) + 1)
            go = threading.Event()
            lock = threading.Lock()

            def person(n: int, user: str) -> None:
                slack = drivers[n % len(drivers)]
                dm = fake.dm_channel(user)
                # Start: the bot says hello and asks the first question (two posts).
                slack.dm(user, "new" if databases else "hello", event_id=_event())
                fake.wait_posts(dm, 2 if databases else 1)
                ready.wait()
                go.wait()
                seen, times = fake.posts[dm], []
                for i in range(args.steps):
                    text = ANSWER if i % 2 == 0 else "back"
                    sent = time.perf_counter()
                    slack.dm(user, text, event_id=_event())
                    seen += 1
                    fake.wait_posts(dm, seen)
                    times.append(time.perf_counter() - sent)
                with lock:
                    run.steps.extend(times)

            threads = [threading.Thread(target=person, args=(n, u)) for n, u in enumerate(users)]
            for thread in threads:
                thread.start()
            ready.wait()
            for slack in drivers:
                slack.forget_acks()  # only the measured steps' acks
            # This process's own full collections would stall every person at once and
            # be counted as the server's acks: what exists now is left out of them.
            gc.collect()
            gc.freeze()
            cpu_before = sum(_cpu_seconds(process.pid) or 0 for _, process in servers)
            machine_before, load_before = _machine_ticks(), time.process_time()
            began = time.perf_counter()
            go.set()
            for thread in threads:
                thread.join()
            run.elapsed = time.perf_counter() - began
            gc.unfreeze()
            run.cpu = sum(_cpu_seconds(process.pid) or 0 for _, process in servers) - cpu_before
            run.idle = _idle_share(machine_before, _machine_ticks())
            run.load_cpu = time.process_time() - load_before
            run.acks = [ack for slack in drivers for ack in slack.acks]
            run.steady_acks = [
                ack
                for slack in drivers
                for acks in slack.acks_by_thread.values()
                for ack in acks[1:]
            ]
            if fake.errors:
                raise SystemExit(f"{label}: the fake rejected {len(fake.errors)} calls")
        finally:
            for _, process in servers:
                process.terminate()
                process.wait(timeout=10)
    print(f"{label}: {run.count} steps in {run.elapsed:.1f} s", flush=True)
    return run


@contextmanager
def _database(url: str | None, tmp: str) -> Iterator[str]:
    """A fresh SQLite file, or a schema of its own in the Postgres at `url`, dropped after."""
    if url is None:
        yield f"sqlite:///{tmp}/bench.db"
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _start(api_url: str, database_url: str | None) -> tuple[int, subprocess.Popen[bytes]]:
    port = _free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_APP_TOKEN": "",
        "SLACK_API_URL": api_url,
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    if database_url is None:
        command = [sys.executable, str(ROOT / "bench" / "bare_bolt.py")]
    else:
        env |= {"DATABASE_URL": database_url, "PARTNERSHIP_CHANNEL": "C0PARTNERS"}
        command = [sys.executable, os.environ.get("BENCH_APP", str(ROOT / "app.py"))]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return port, process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start within 30 s")


def _machine_ticks() -> tuple[int, int] | None:
    """(idle, total) CPU ticks of the whole machine so far (Linux /proc), or None."""
    try:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    return fields[3] + fields[4], sum(fields)  # idle + iowait


def _idle_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of the machine's CPU nobody used between two readings: near 0, the load
    generator, the fake Slack, the database and the servers fill every core, and a second
    server process has no CPU to add throughput with."""
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def _event() -> str:
    return f"Ev{uuid.uuid4().hex[:12].upper()}"


def _p(samples: list[float], q: float) -> str:
    ms = sorted(s * 1000 for s in samples)
    value = statistics.median(ms) if q == 0.5 else ms[min(len(ms) - 1, int(q * len(ms)))]
    return f"{value:.0f}"


if __name__ == "__main__":
    main()
