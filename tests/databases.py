"""Test databases: a fresh SQLite file, or a fresh schema in the Postgres at TEST_DATABASE_URL."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

SKIP_POSTGRES = (
    "TEST_DATABASE_URL is not set: Postgres tests need a database, e.g. "
    "TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def database_url(kind: str, tmp_path: Path, migrated: bool = False) -> Iterator[str]:
    """A URL to an empty database of `kind` ("sqlite" or "postgres"), dropped afterwards.

    With `migrated`, an SQLite database is not empty but at the newest migration: a copy
    of one this process migrated once (migrating takes a bot start five times as long as
    the rest of it). A Postgres schema is always empty.
    """
    if kind == "sqlite":
        path = tmp_path / "bot.sqlite3"
        if migrated:
            template = _migrated_sqlite()
            for suffix in ("", "-wal", "-shm"):
                if Path(f"{template}{suffix}").exists():
                    shutil.copyfile(f"{template}{suffix}", f"{path}{suffix}")
        yield f"sqlite:///{path}"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(SKIP_POSTGRES)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        # Every connection of the app under test sees only the new schema.
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


_template: Path | None = None
_template_lock = threading.Lock()


def _migrated_sqlite() -> Path:
    """An SQLite file migrated to the newest schema by the bot's own `upgrade`, made once
    per process (each pytest-xdist worker has its own) and removed when it exits."""
    global _template
    with _template_lock:
        if _template is None:
            from bot.storage.db import Database

            directory = Path(tempfile.mkdtemp(prefix="partnership-check-template-"))
            atexit.register(shutil.rmtree, directory, True)
            path = directory / "migrated.sqlite3"
            database = Database(f"sqlite:///{path}")
            try:
                database.upgrade()
            finally:
                database.close()
            _template = path
        return _template
