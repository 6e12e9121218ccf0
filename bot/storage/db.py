"""The database: an engine, a session per unit of work, and Alembic migrations.

Listeners run on Bolt's thread pool, so nothing here is shared between threads except
the engine and its connection pool; each unit of work opens and closes its own session.

A unit of work that cannot get a connection (the database restarting, a failover) waits
and tries again, with backoff, for a bounded time, then raises DatabaseUnavailable so
the person can be told plainly that nothing happened and to try again. Its patience is
shorter where Slack is waiting for an answer (a slash command's acknowledgement).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Result,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
# Postgres advisory lock held while migrating: instances started at once take turns
# instead of racing to create the same tables (any fixed number; this spells "PCHK").
MIGRATION_LOCK = 0x5043484B
# How long a unit of work waits for the database to come back before giving up.
log = logging.getLogger(__name__)
T = TypeVar("T")
U = TypeVar("U", Session, Connection)
PATIENCE = 30.0
BACKOFF = (0.25, 0.5, 1.0, 2.0, 4.0)  # then 4 s apart
IDLE_BEFORE_PING = 1.0  # seconds a pooled Postgres connection sits idle before a check


class DatabaseUnavailable(Exception):
    """The database did not answer within the unit of work's patience; nothing was done."""


class ConnectionLost(DatabaseUnavailable):
    """The connection died during a unit of work (the database restarted since it was last
    used); the unit was rolled back, and the pool's other connections dropped."""


class Database:
    def __init__(self, url: str, patience: float = PATIENCE) -> None:
        self.url = url
        self.engine = _make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = self.engine.execution_options(read_only=True)
        self._autocommit = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.engine.dialect.name == "postgresql"
            else None
        )
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

    def retry_on_disconnect(self, work: Callable[[], T]) -> T:
        """Run `work`; once more, on new connections, if a connection it used had died (the
        database restarted since it was last used). A unit of work that failed so changed
        nothing, and the bot's work is safe to repeat (events are de-duplicated, presses
        carry their version, posts are claimed and tagged)."""
        try:
            return work()
        except ConnectionLost:
            log.warning("The database connection had gone; trying again on a new one")
            return work()

    @contextmanager
    def statements(self) -> Iterator[Connection]:
        """A unit of work of plain statements, without the ORM's session: for the hot
        path's one-row updates. Commits on success, rolls back on any exception."""
        with self._plain(self.engine) as connection, connection.begin():
            yield connection

    @contextmanager
    def unit(self, *, reading: bool = False) -> Iterator[Unit]:
        """A unit of work of plain statements, with the ORM's session only if something
        asks for it (`Unit.session`): for a step, whose common path reads and writes one
        row. `reading` as in `reading()`. Commits on success, rolls back on any exception."""
        engine = self._readers if reading else self.engine
        with self._plain(engine) as connection, connection.begin():
            unit = Unit(connection)
            try:
                yield unit
                unit.flush()
            finally:
                unit.close()

    @contextmanager
    def each_committed(self) -> Iterator[Connection]:
        """Plain statements that each commit on their own, for work that needs no
        transaction around them (a single UPDATE, and a read that may see a later
        state): on Postgres, no BEGIN and no COMMIT, two round trips fewer. SQLite keeps
        its transaction: there a write queues for the lock at BEGIN (`_make_engine`)."""
        if self._autocommit is None:
            with self.statements() as connection:
                yield connection
            return
        with self._plain(self._autocommit) as connection:
            yield connection

    @contextmanager
    def _plain(self, engine: Engine) -> Iterator[Connection]:
        """A connection without the ORM's session, counted as a unit of work."""
        connection = self._connected(engine.connect)
        self._local.open = getattr(self._local, "open", 0) + 1
        try:
            yield connection
        except DBAPIError as error:
            self._lost(error)
            raise
        finally:
            self._local.open -= 1
            connection.close()

    @contextmanager
    def patience(self, seconds: float) -> Iterator[None]:
        """Units of work on this thread give up sooner (Slack is waiting for an answer)."""
        before = getattr(self._local, "patience", None)
        self._local.patience = seconds
        try:
            yield
        finally:
            self._local.patience = before

    @property
    def in_unit_of_work(self) -> bool:
        """Whether this thread holds a unit of work open (nothing slow should happen then:
        a call to Slack inside one would hold its rows, or SQLite's lock, while it waits)."""
        return getattr(self._local, "open", 0) > 0

    @contextmanager
    def _unit(self, make: Callable[[], Session]) -> Iterator[Session]:
        session = self._connected(make)
        self._local.open = getattr(self._local, "open", 0) + 1
        try:
            yield session
            session.commit()
        except BaseException as error:
            with suppress(DBAPIError):  # a dead connection cannot roll back; it is gone
                session.rollback()
            self._lost(error)
            raise
        finally:
            self._local.open -= 1
            session.close()

    def _lost(self, error: BaseException) -> None:
        """Raise ConnectionLost for a connection that died in a unit of work."""
        if isinstance(error, DBAPIError) and is_disconnect(error):
            self.engine.dispose()  # every pooled connection is as old as the dead one
            raise ConnectionLost(str(error.orig)) from error

    def _connected(self, make: Callable[[], U]) -> U:
        """A session or connection holding a database connection, waiting for one if the
        database is not answering."""
        patience = getattr(self._local, "patience", None) or self._patience
        deadline = time.monotonic() + patience
        for attempt in range(1_000_000):
            made = None
            try:
                made = make()
                if isinstance(made, Session):
                    made.connection()
                return made
            except DBAPIError as error:
                if made is not None:
                    made.close()
                if not is_disconnect(error):
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
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Released when this transaction ends, whatever happens in between.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            # At the newest migration already (every start but the first after a release):
            # nothing to run, and Alembic is not even loaded.
            if _current_revision(connection) == newest_migration():
                return
            from alembic import command  # only here: most starts never migrate
            from alembic.config import Config

            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
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


class Unit:
    """One unit of work on one connection: plain statements on `connection`, and an ORM
    session on the same transaction, opened the first time it is asked for. A step's
    common path (one conversation read and saved) pays for no session: the session and
    loading rows into objects cost more there than the statements themselves."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            # Joins the connection's transaction; `Database.unit` commits it.
            self._session = Session(bind=self.connection, expire_on_commit=False)
        return self._session

    def flush(self) -> None:
        if self._session is not None:
            self._session.flush()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def newest_migration() -> str:
    """The newest migration shipped with this code. Migrations run in a line and each
    file is named after its revision ("0011_….py" is revision 0011), so it is read off
    the file names (tests/test_storage.py checks it is Alembic's head)."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def _current_revision(connection: Connection) -> str | None:
    """The migration the database is at; None for a new database."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.scalar(text("SELECT version_num FROM alembic_version"))


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (typed: execute() returns a plain Result)."""
    return cast(CursorResult[Any], result).rowcount


def is_disconnect(error: DBAPIError) -> bool:
    """A server that is not there (refused, reset, shutting down), not a bad statement.
    SQLite is a local file with no outages of this kind: its errors are never retried."""
    if error.connection_invalidated:
        return True
    dialect = getattr(error.orig, "__module__", "")
    return isinstance(error, OperationalError | InterfaceError) and "sqlite" not in dialect


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only if it sat idle a while: a database that
    restarted is noticed (the pool then opens a new connection, waiting for it in
    `Database._connected`), while a busy bot, whose connections are idle for
    milliseconds, pays no `SELECT 1` per unit of work as `pool_pre_ping` would. A restart
    in between fails that unit of work with a disconnect, and the work is run again on
    new connections (`Database.retry_on_disconnect`)."""

    @event.listens_for(engine, "checkin")
    def _idle_since(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < IDLE_BEFORE_PING:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
            # End the transaction the check began: a unit of work may yet set the
            # connection's isolation (`Database.each_committed`), which needs none open.
            dbapi_connection.rollback()
        except Exception as error:
            raise DisconnectionError(str(error)) from error
        finally:
            with suppress(Exception):
                cursor.close()


def _make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_size=10, max_overflow=20, pool_recycle=3600)
        _ping_when_idle(engine)
        return engine
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        # We issue BEGIN ourselves (below); WAL lets readers work beside the one writer.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL never corrupts the file; it only skips an fsync per commit (a
        # power cut, not a crash, may lose the last commits).
        cursor.execute("PRAGMA synchronous=NORMAL")
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
