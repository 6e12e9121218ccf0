"""The database: an engine, a session per unit of work, and Alembic migrations.

Listeners run on Bolt's thread pool, so nothing here is shared between threads except
the engine and its connection pool; each unit of work opens and closes its own session.

A unit of work that cannot get a connection (the database restarting, a failover) waits
and tries again, with backoff, for a bounded time, then raises DatabaseUnavailable so
the person can be told plainly that nothing happened and to try again. Its patience is
shorter where Slack is waiting for an answer (a slash command's acknowledgement).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, create_engine, event, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
# Postgres advisory lock held while migrating: instances started at once take turns
# instead of racing to create the same tables (any fixed number; this spells "PCHK").
MIGRATION_LOCK = 0x5043484B
# How long a unit of work waits for the database to come back before giving up.
PATIENCE = 30.0
BACKOFF = (0.25, 0.5, 1.0, 2.0, 4.0)  # then 4 s apart


class DatabaseUnavailable(Exception):
    """The database did not answer within the unit of work's patience; nothing was done."""


class Database:
    def __init__(self, url: str, patience: float = PATIENCE) -> None:
        self.url = url
        self.engine = _make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = self.engine.execution_options(read_only=True)
        self._patience = patience
        self._local = threading.local()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any exception."""
        with self._unit(self._sessions) as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A unit of work that only reads: on SQLite it does not queue for the write lock."""
        with self._unit(lambda: self._sessions(bind=self._readers)) as session:
            yield session

    @contextmanager
    def patience(self, seconds: float) -> Iterator[None]:
        """Units of work on this thread give up sooner (Slack is waiting for an answer)."""
        before = getattr(self._local, "patience", None)
        self._local.patience = seconds
        try:
            yield
        finally:
            self._local.patience = before

    @contextmanager
    def _unit(self, make: Callable[[], Session]) -> Iterator[Session]:
        session = self._connected(make)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _connected(self, make: Callable[[], Session]) -> Session:
        """A session holding a connection (its transaction begun), waiting for one if the
        database is not answering."""
        patience = getattr(self._local, "patience", None) or self._patience
        deadline = time.monotonic() + patience
        for attempt in range(1_000_000):
            session = make()
            try:
                session.connection()
                return session
            except DBAPIError as error:
                session.close()
                if not _is_disconnect(error):
                    raise
                wait = BACKOFF[min(attempt, len(BACKOFF) - 1)]
                if time.monotonic() + wait > deadline:
                    raise DatabaseUnavailable(str(error.orig)) from error
                time.sleep(wait)
        raise AssertionError("unreachable")

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (safe to run at every start, and from
        several instances at once: on Postgres they queue on an advisory lock; on SQLite
        the transaction's write lock does the same)."""
        from alembic import command  # only here: most units of work never migrate
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Released when this transaction ends, whatever happens in between.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def is_reachable(self) -> bool:
        """Whether the database answers now (the readiness check)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def close(self) -> None:
        self.engine.dispose()


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (typed: execute() returns a plain Result)."""
    return cast(CursorResult[Any], result).rowcount


def _is_disconnect(error: DBAPIError) -> bool:
    """A server that is not there (refused, reset, shutting down), not a bad statement.
    SQLite is a local file with no outages of this kind: its errors are never retried."""
    if error.connection_invalidated:
        return True
    dialect = getattr(error.orig, "__module__", "")
    return isinstance(error, OperationalError | InterfaceError) and "sqlite" not in dialect


def _make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        # We issue BEGIN ourselves (below); WAL lets readers work beside the one writer.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection) -> None:
        # A deferred SQLite transaction that reads and then writes fails outright when
        # another thread wrote in between; IMMEDIATE makes it wait its turn instead.
        # Units of work that only read (Database.reading) need no turn: WAL serves them.
        read_only = connection.get_execution_options().get("read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
