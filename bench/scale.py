"""Time the bot at scale on Postgres: a million partnerships and reminders, then a
scheduler pass, the due query, `/partnership list`, the App Home and a conversation step.

Not a test (timings vary by machine); run it by hand:

    .venv/bin/python bench/scale.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test --rows 1000000

It makes a schema of its own in that database (every connection of the bot sees only it,
through `search_path`), migrates it with the bot's own `Database.upgrade()`, fills it with
set-based SQL (INSERT ... SELECT generate_series) and drops it at the end (`--keep` keeps
it; `--schema NAME` names it, and an existing one is reused without filling again).

The data: `--rows` conversations, partnerships (one per conversation) and reminders (one
per partnership) across 10 workspaces, 200,000 people and 10,000 channels; most reminders
pending for some day in the coming year, a fifth done, ended partnerships' cancelled.
Exactly 100 are due at the moment the pass runs as of, one in each of 100 channels. One
person, U0HEAVY, owns `--heavy` of the partnerships and, newest of all, 1,000 finished
re-checks and 1,000 reviews: the list and the App Home show their latest 15 checks.

The pass posts to the tests' strict fake Slack (bot/sandbox/fakeslack.py), which runs in a
process of its own as Slack would, so its CPU is not the bot's. Each channel has one
due reminder and its last post (`channel_pace`) a day ago, so no post waits for the
channel's pace; the pauses the scheduler asks for are counted and reported, never slept.
`--explain` prints EXPLAIN ANALYZE of every distinct SELECT each operation ran, as Postgres
plans it for those values (a custom plan) and as a generic plan (what a prepared
statement may switch to after five runs).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, create_engine, event, text

from bot.core.actors import Actor
from bot.core.listing import recent_checks
from bot.sandbox.fakeslack import FakeSlack
from bot.settings import Settings
from bot.slack import blocks
from bot.slack.services import Services, build_services, make_client
from bot.storage.db import Database

TEAM = "T000TEST"  # the fake's workspace: every tenth row, and U0HEAVY's
HEAVY = "U0HEAVY"
PEOPLE = 200_000  # multiples of 10, so a person's and a channel's rows share a workspace
CHANNELS = 10_000
DUE = 100  # reminders due at AS_OF, one in each of as many channels
EXTRA = 1_000  # U0HEAVY's newest finished re-checks, and as many reviews
# A Monday morning in London, whatever day the bench runs: nothing waits for 09:00.
AS_OF = datetime(2029, 3, 5, 10, 0, tzinfo=UTC)
Sample = tuple[float, float]  # seconds: wall, CPU


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a Postgres URL (psycopg)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="partnerships and reminders")
    parser.add_argument("--heavy", type=int, default=5_000, help="U0HEAVY's partnerships")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs of each query")
    parser.add_argument("--passes", type=int, default=5, help="timed scheduler passes")
    parser.add_argument("--schema", help="use (or make and fill) this schema")
    parser.add_argument("--keep", action="store_true", help="do not drop the schema at the end")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        parser.error("the scale bench runs on Postgres")
    if args.rows < 10 * max(args.heavy, DUE) or args.rows % 10:
        parser.error("--rows must be a multiple of 10, at least ten times --heavy")

    schema = args.schema or f"scale_{uuid.uuid4().hex[:12]}"
    admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": schema}
        )
        if not exists:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in args.database_url else "?"
    url = f"{args.database_url}{separator}options=-csearch_path%3D{schema}"
    try:
        run(url, schema, args, fill=not exists)
    finally:
        if not args.keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run(url: str, schema: str, args: argparse.Namespace, fill: bool) -> None:
    results: list[tuple[str, str, list[Sample]]] = []
    started = time.perf_counter()
    Database(url).upgrade()
    print(f"schema {schema}: migrated in {time.perf_counter() - started:.1f} s", flush=True)
    if fill:
        started = time.perf_counter()
        fill_database(url, args.rows, args.heavy)
        print(f"filled in {time.perf_counter() - started:.1f} s", flush=True)
    print(sizes(url), flush=True)

    load_before = os.getloadavg()[0]
    with SlackElsewhere() as fake:
        settings = Settings(
            bot_token=fake.bot_token, signing_secret="bench", api_url=fake.api_url, database_url=url
        )
        services = build_services(settings, make_client(settings))
        explain = Explainer(services.db.engine) if args.explain else None
        try:
            results += bench(services, fake, args, explain)
        finally:
            services.db.close()

    print()
    print(f"{args.rows:,} partnerships and reminders; U0HEAVY has {args.heavy:,} partnerships")
    print(f"and {2 * EXTRA:,} more conversations. Times in ms.")
    print(
        f"Machine: {os.cpu_count()} cores; load average {load_before:.1f} when timing began, "
        f"{os.getloadavg()[0]:.1f} at the end."
    )
    print()
    print("| operation | runs | median | p95 | max | CPU here, median |")
    print("|---|---|---|---|---|---|")
    for label, _, samples in results:
        ms = sorted(wall * 1000 for wall, _ in samples)
        cpu = statistics.median(cpu * 1000 for _, cpu in samples)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        print(
            f"| {label} | {len(ms)} | {statistics.median(ms):,.1f} | {p95:,.1f} "
            f"| {ms[-1]:,.1f} | {cpu:,.1f} |"
        )
    print()
    print("CPU here: the bot's process's CPU time (not Postgres's, nor the fake Slack's).")
    for label, note, _ in results:
        if note:
            print(f"{label}: {note}")
    if explain is not None:
        explain.report()


def bench(
    services: Services, fake: SlackElsewhere, args: argparse.Namespace, explain: Explainer | None
) -> Iterator[tuple[str, str, list[Sample]]]:
    scheduler, flow = services.scheduler, services.runs.check_flow
    paused: list[float] = []
    scheduler.pause = paused.append  # counted, never slept (there should be none)
    heavy, ordinary = Actor(TEAM, HEAVY), Actor(TEAM, ordinary_person(args))

    def traced(label: str, work: Callable[[], object]) -> Callable[[], object]:
        if explain is None:
            return work
        return lambda: explain.capture(label, work)

    make_due_again(services)  # a kept schema was left after its passes
    due = times(args.repeat, traced("due query", lambda: scheduler.due_channels(AS_OF)))
    found = len(scheduler.due_channels(AS_OF))
    assert found == DUE, f"{found} channels due, not {DUE}"
    yield f"due query ({DUE} due)", "", due

    passes: list[Sample] = []
    reports = []
    for n in range(args.passes):
        if n:
            make_due_again(services)
        started, cpu = time.perf_counter(), time.process_time()
        reports.append(traced("scheduler pass", lambda: scheduler.run_due(AS_OF))())
        passes.append((time.perf_counter() - started, time.process_time() - cpu))
    posted = [report.posted for report in reports]  # type: ignore[attr-defined]
    assert posted == [DUE] * args.passes, f"posted {posted}"
    posts, refused = fake.counts()
    note = f"posted {DUE} each time, {posts} posts in all, {refused} calls refused by the fake; "
    note += f"paused {sum(paused):.1f} s in {len(paused)} waits for a channel's pace"
    yield f"scheduler pass, {DUE} due in {DUE} channels", note, passes

    yield (
        "due query (none due)",
        "",
        times(args.repeat, traced("due query, none due", lambda: scheduler.due_channels(AS_OF))),
    )

    def chores() -> None:  # what the scheduler thread also runs before each pass
        services.recommendations.recover()
        services.reviews.recover()
        services.outbox.drain()

    yield (
        "chores before a pass (posts left in flight)",
        "",
        times(args.repeat, traced("chores", chores)),
    )
    channel = due_channels()[0]
    yield (
        "still-due check (one channel)",
        "",
        times(args.repeat, traced("still due", lambda: scheduler._still_due(channel, AS_OF))),
    )

    for who, actor in (("U0HEAVY", heavy), ("an ordinary person", ordinary)):
        lines = recent_checks(services.db, actor, flow)
        yield (
            f"`/partnership list`, {who}",
            f"{len(lines)} lines",
            times(
                args.repeat,
                traced(
                    f"list {who}",
                    lambda a=actor: blocks.list_message(recent_checks(services.db, a, flow)),
                ),
            ),
        )
    yield (
        "App Home, U0HEAVY",
        "",
        times(
            args.repeat,
            traced("home", lambda: blocks.home_view(flow, recent_checks(services.db, heavy, flow))),
        ),
    )

    services.starting.check(heavy)  # a check in progress, at its first question
    dm = services.notify.dm_of(HEAVY)
    replies = iter(["Discharge team", "back"] * args.repeat)
    steps = times(
        args.repeat,
        traced("step", lambda: services.steps.typed(heavy, dm, next(replies), None)),
    )
    assert services.starting.has_active(heavy)
    yield "step: a typed answer or `back`, U0HEAVY", "2 to 3 fake Slack calls each", steps


def times(repeat: int, work: Callable[[], object]) -> list[Sample]:
    """Wall and CPU time (this process: the bot's, not the fake Slack's) of each run."""
    taken = []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        work()
        taken.append((time.perf_counter() - started, time.process_time() - cpu))
    return taken


def due_channels() -> list[str]:
    """The channels of the reminders due at AS_OF: those of partnerships 10, 20 ... 1000."""
    return [channel_of(10 * k) for k in range(1, DUE + 1)]


def ordinary_person(args: argparse.Namespace) -> str:
    """Someone in TEAM with a handful of checks: the owner of the row after U0HEAVY's."""
    return f"U{(10 * args.heavy + 10) % PEOPLE:08d}"


def channel_of(i: int) -> str:
    return f"C{i % CHANNELS:08d}"


def make_due_again(services: Services) -> None:
    """The reminders the last pass posted are due again, and no channel posted lately."""
    with services.db.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE reminders SET send_at = :due, sends = 0, last_sent_at = NULL, "
                "message_ts = NULL WHERE id % 10 = 0 AND id <= :last"
            ),
            {"due": AS_OF - timedelta(hours=1), "last": 10 * DUE},
        )
        connection.execute(text("UPDATE channel_pace SET last_post_at = now() - interval '1 day'"))


class SlackElsewhere:
    """The tests' strict fake Slack in a process of its own, as Slack is: its work (it checks
    every Block Kit message it is sent) neither counts as the bot's CPU nor holds the bot's
    interpreter lock. The workspace: U0HEAVY, and the channels with a reminder due."""

    def __enter__(self) -> SlackElsewhere:
        context = multiprocessing.get_context("spawn")
        self.pipe, theirs = context.Pipe()
        self.process = context.Process(target=_serve_fake, args=(theirs,), daemon=True)
        self.process.start()
        self.api_url, self.bot_token = self.pipe.recv()
        return self

    def counts(self) -> tuple[int, int]:
        """Posts Slack took, and calls it refused, so far."""
        self.pipe.send("counts")
        return self.pipe.recv()

    def __exit__(self, *exc_info: object) -> None:
        self.pipe.send("stop")
        self.process.join(timeout=10)


def _serve_fake(pipe: Connection) -> None:
    with FakeSlack(team_id=TEAM) as fake:
        fake.add_user(HEAVY, tz="Europe/London", real_name="Heavy User", name="heavy")
        for channel in due_channels():
            fake.add_channel(channel, channel.lower(), members=[HEAVY], bot_member=True)
        pipe.send((fake.api_url, fake.bot_token))
        while pipe.recv() == "counts":
            calls = list(fake.calls)
            posts = sum(c.ok for c in calls if c.method == "chat.postMessage")
            pipe.send((posts, sum(not c.ok for c in calls)))


# --- filling -------------------------------------------------------------------------------

# Who and where row i is, in SQL (a person's and a channel's rows share a workspace).
TEAM_OF = f"CASE WHEN i % 10 = 0 THEN '{TEAM}' ELSE 'TBENCH0' || (i % 10) END"
OWNER_OF = (
    f"CASE WHEN i % 10 = 0 AND i <= :heavy * 10 THEN '{HEAVY}' "
    f"ELSE 'U' || lpad((i % {PEOPLE})::text, 8, '0') END"
)
CHANNEL_OF = f"'C' || lpad((i % {CHANNELS})::text, 8, '0')"
CREATED = "(:as_of - (:rows - i) * interval '20 seconds')"
SNAPSHOT = (
    "json_build_object('state', 'done', 'answers', json_build_object("
    "'name', 'Partnership ' || i, 'organisations', 'City Trust, City Council', "
    "'problem', repeat('People wait too long to leave hospital. ', 8), "
    "'form', 'mou', 'review_cadence', 'quarterly'), 'history', json_build_array("
    "'name', 'organisations', 'problem', 'form', 'review_cadence'))"
)
ANSWERS = (
    "json_build_object('name', 'Partnership ' || i, 'organisations', 'City Trust, City Council', "
    "'problem', repeat('People wait too long to leave hospital. ', 8), "
    "'form', 'mou', 'review_cadence', 'quarterly')"
)
# Pending for a day in the coming year, a fifth done (a day in the past year), the ended
# partnerships' cancelled, a few being reviewed; partnerships 10, 20 ... 1000 due at AS_OF.
DUE_ROW = f"i % 10 = 0 AND i <= {10 * DUE}"
STATE_OF = (
    f"CASE WHEN {DUE_ROW} THEN 'pending' WHEN i % 20 = 7 THEN 'cancelled' "
    "WHEN i % 5 = 1 THEN 'done' WHEN i % 97 = 3 THEN 'reviewing' ELSE 'pending' END"
)
DUE_ON = (
    f"CASE WHEN {DUE_ROW} THEN CAST(:as_of AS date) "
    "WHEN i % 5 = 1 OR i % 20 = 7 THEN CAST(:as_of AS date) - (1 + i % 365) "
    "ELSE CAST(:as_of AS date) + (1 + i % 365) END"
)

FILL = [
    f"""
    INSERT INTO conversations (id, team_id, user_id, channel_id, kind, flow_id, flow_version,
        status, state, snapshot, draft, version, created_at, updated_at)
    SELECT i, {TEAM_OF}, {OWNER_OF}, 'D' || {OWNER_OF}, 'check', 'check', '2', 'finished',
        'done', {SNAPSHOT}, '{{}}', 12, {CREATED}, {CREATED} + interval '10 minutes'
    FROM generate_series(1, :rows) AS i
    """,
    f"""
    INSERT INTO partnerships (id, team_id, ref, conversation_id, owner_id, name, verdict,
        assessment, answers, channel_id, message_ts, post_target, created_at, posted_at,
        post_state, status, cadence, owner_tz, next_review_on, last_reviewed_on, last_decision)
    SELECT i, {TEAM_OF}, (i - 1) / 10 + 1, i, {OWNER_OF}, 'Partnership ' || i, 'Proceed',
        json_build_object('verdict', 'Proceed', 'flags', json_build_array()), {ANSWERS},
        {CHANNEL_OF}, '1700000000.' || lpad(i::text, 7, '0'), {CHANNEL_OF}, {CREATED},
        {CREATED} + interval '10 minutes', 'posted',
        CASE WHEN i % 20 = 7 THEN 'ended' ELSE 'active' END, 'quarterly', 'Europe/London',
        CASE WHEN i % 20 = 7 THEN NULL ELSE {DUE_ON} END,
        CASE WHEN i % 5 = 1 THEN CAST(:as_of AS date) - (1 + i % 365) END,
        CASE WHEN i % 5 = 1 THEN 'continue' END
    FROM generate_series(1, :rows) AS i
    """,
    f"""
    INSERT INTO reminders (id, team_id, partnership_id, due_on, state, send_at, sends,
        last_sent_at, channel_id, message_ts)
    SELECT i, {TEAM_OF}, i, {DUE_ON}, {STATE_OF},
        CASE WHEN {DUE_ROW} THEN :as_of - interval '1 hour'
            ELSE ({DUE_ON} + time '09:00') AT TIME ZONE 'UTC' END,
        CASE WHEN {DUE_ROW} THEN 0 ELSE i % 3 END, NULL, {CHANNEL_OF},
        CASE WHEN i % 3 > 0 AND NOT ({DUE_ROW}) THEN '1700000001.' || lpad(i::text, 7, '0') END
    FROM generate_series(1, :rows) AS i
    """,
    # U0HEAVY's newest conversations: finished re-checks, then finished reviews.
    f"""
    INSERT INTO conversations (id, team_id, user_id, channel_id, kind, flow_id, flow_version,
        status, state, snapshot, draft, version, partnership_id, created_at, updated_at)
    SELECT :rows + n, '{TEAM}', '{HEAVY}', 'D{HEAVY}',
        CASE WHEN n <= :extra THEN 'check' ELSE 'review' END,
        CASE WHEN n <= :extra THEN 'check' ELSE 'review' END, '2', 'finished', 'done',
        json_build_object('state', 'done', 'answers', json_build_object('name', 'Re-check')),
        '{{}}', 6, 10 * (1 + n % :heavy), :as_of + n * interval '1 second',
        :as_of + n * interval '1 second'
    FROM generate_series(1, 2 * :extra) AS n
    """,
    f"""
    INSERT INTO workspaces (team_id, last_ref)
    SELECT {TEAM_OF}, (:rows - 1) / 10 + 1 FROM generate_series(1, 10) AS i
    """,
    f"""
    INSERT INTO channel_pace (channel_id, last_post_at)
    SELECT {CHANNEL_OF}, now() - interval '1 day' FROM generate_series(0, {CHANNELS - 1}) AS i
    """,
    """
    INSERT INTO processed_events (event_id, team_id, received_at)
    SELECT 'Ev' || i, 'T000TEST', :as_of - i * interval '8 seconds'
    FROM generate_series(1, 10000) AS i
    """,
]


def fill_database(url: str, rows: int, heavy: int) -> None:
    values = {"rows": rows, "heavy": heavy, "extra": EXTRA, "as_of": AS_OF}
    engine = create_engine(url)
    with engine.begin() as connection:
        # Foreign keys are checked by construction here, not row by row.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in FILL:
            names = set(re.findall(r"(?<!:):(\w+)", statement))
            connection.execute(text(statement), {k: v for k, v in values.items() if k in names})
        for table in ("conversations", "partnerships", "reminders"):
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))  # as autovacuum would have by now
    engine.dispose()


def sizes(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT relname, n_live_tup, pg_total_relation_size(relid) FROM "
                "pg_stat_user_tables WHERE schemaname = current_schema() "
                "AND relname IN ('conversations', 'partnerships', 'reminders') ORDER BY relname"
            )
        ).all()
    engine.dispose()
    return "; ".join(f"{name}: {n:,} rows, {size / 2**20:,.0f} MiB" for name, n, size in found)


# --- plans ---------------------------------------------------------------------------------


class Explainer:
    """Records the SELECTs an operation runs, to EXPLAIN ANALYZE them afterwards."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: dict[str, tuple[str, str, dict[str, Any]]] = {}
        self.label: str | None = None
        event.listen(engine, "before_cursor_execute", self._record)

    def capture(self, label: str, work: Callable[[], object]) -> object:
        self.label = label
        try:
            return work()
        finally:
            self.label = None

    def _record(self, _conn, _cursor, statement, parameters, _context, _many) -> None:
        if self.label and statement.lstrip().upper().startswith("SELECT"):
            self.seen.setdefault(statement, (self.label, statement, dict(parameters or {})))

    def report(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)
        for label, statement, parameters in self.seen.values():
            print(f"\n=== {label}\n{statement}\n{parameters}")
            for mode in ("custom", "generic"):
                print(f"--- {mode} plan")
                print(self.plan(statement, parameters, mode))

    def plan(self, statement: str, parameters: dict[str, Any], mode: str) -> str:
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            if mode == "custom":
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
            else:
                from psycopg import sql

                names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
                numbered = statement
                for n, name in enumerate(names, 1):
                    numbered = numbered.replace(f"%({name})s", f"${n}")
                values = ", ".join(
                    sql.Literal(parameters[name]).as_string(connection.driver_connection)
                    for name in names
                )
                cursor.execute("SET plan_cache_mode = force_generic_plan")
                cursor.execute(f"PREPARE bench_plan AS {numbered}")
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_plan({values})")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            if mode == "generic":
                cursor.execute("DEALLOCATE bench_plan")  # not undone by a rollback
            connection.rollback()
            return plan
        finally:
            connection.close()


if __name__ == "__main__":
    main()
