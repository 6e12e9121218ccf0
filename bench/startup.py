"""Time what `python app.py COMMAND` costs to start: each command's wall and CPU time
(medians of a few runs), how many modules it imports and which heavy packages among them
(`-X importtime`). CPU time is the steadier number on a busy machine.

Not a test (timings vary by machine); run it by hand:  python bench/startup.py
It uses a throw-away SQLite file and a Slack URL nobody answers (nothing is due, so the
reminder pass posts nothing).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("alembic", "holidays", "slack_bolt", "slack_sdk", "sqlalchemy", "transitions")
COMMANDS = {
    "--help": ["--help"],
    "db upgrade": ["db", "upgrade"],
    "reminders run-due": ["reminders", "run-due"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))} | {
            "DATABASE_URL": f"sqlite:///{Path(tmp) / 'startup.sqlite3'}",
            "SLACK_BOT_TOKEN": "xoxb-startup-bench",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
            "LOG_LEVEL": "WARNING",
        }
        subprocess.run(  # migrate once, so `run-due` times start-up, not the first upgrade
            [sys.executable, "app.py", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        print(
            f"| command | wall (median of {args.runs}) | CPU (median) | modules "
            f"| of {', '.join(HEAVY)} |"
        )
        print("|---|---|---|---|---|")
        for label, argv in COMMANDS.items():
            walls, cpus = [], []
            for _ in range(args.runs):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                subprocess.run(
                    [sys.executable, "app.py", *argv], cwd=ROOT, env=env, capture_output=True
                )
                walls.append(time.perf_counter() - started)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            traced = subprocess.run(
                [sys.executable, "-X", "importtime", "app.py", *argv],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            modules = [
                line.rsplit("|", 1)[-1].strip()
                for line in traced.stderr.splitlines()
                if line.startswith("import time:") and not line.rstrip().endswith("package")
            ]
            loaded = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
            wall, cpu = statistics.median(walls) * 1000, statistics.median(cpus) * 1000
            print(
                f"| `app.py {label}` | {wall:.0f} ms | {cpu:.0f} ms | {len(modules)} "
                f"| {', '.join(loaded)} |"
            )


if __name__ == "__main__":
    main()
