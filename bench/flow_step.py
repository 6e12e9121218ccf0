"""Time what one Slack request costs the flow engine: restore a run and take one step.

Not a test (timings vary by machine); run it by hand:  python bench/flow_step.py
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows import FlowRun, load_flow

TODAY = dt.date(2027, 1, 4)
ROUNDS = 5000


def main() -> None:
    flow = load_flow("check")

    started = time.perf_counter()
    FlowRun(flow, today=TODAY)  # compiles the shared state machine for this flow, once
    print(f"first run (compiles the machine once per flow): {_ms(started):.2f} ms")

    # A realistic mid-check snapshot: the bot restores one of these per request.
    run = FlowRun(flow, today=TODAY)
    for reply in ["Discharge team", "City Trust, City Council", "NHS, social care", "Delays"]:
        run.answer(reply)
    snapshot = run.snapshot()

    def build_and_step() -> None:
        step = FlowRun(flow, snapshot, today=TODAY)
        step.answer("no")
        step.snapshot()

    for label, run_all in (("1 thread", _serial), ("8 threads, wall time", _threaded)):
        started = time.perf_counter()
        run_all(build_and_step)
        print(f"restore + answer + snapshot ({label}): {_ms(started) / ROUNDS:.3f} ms per request")


def _serial(work) -> None:
    for _ in range(ROUNDS):
        work()


def _threaded(work) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(work) for _ in range(ROUNDS)]:
            future.result()


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    main()
