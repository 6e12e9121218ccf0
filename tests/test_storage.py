"""Storage on SQLite and on Postgres: migrations, units of work, optimistic locking,
uniqueness, dedupe."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bot.storage.db import MIGRATIONS, Database, Unit, newest_migration
from bot.storage.models import Conversation, Partnership, ProcessedEvent
from bot.storage.rows import ConversationRow, conversation_row, select_conversations
from bot.storage.store import next_reference, record_event, save_step
from flows import FlowRun, load_flow
from tests.databases import database_url

CHECK = load_flow("check")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_url(request.param, tmp_path) as url:
        database = Database(url)
        database.upgrade()
        yield database
        database.close()


def conversation(user: str = "U1", team: str = "T1", status: str = "active") -> Conversation:
    """A check just started, saved as the bot saves it (the current definition's version)."""
    run = FlowRun(CHECK)
    return Conversation(
        team_id=team,
        user_id=user,
        channel_id="D1",
        kind="check",
        flow_id="check",
        flow_version=str(CHECK.version),
        status=status,
        state=run.state,
        snapshot=run.snapshot(),
        draft={},
    )


def test_migrations_create_the_schema_and_are_idempotent(db: Database) -> None:
    db.upgrade()  # a second start must not fail or change anything
    tables = set(inspect(db.engine).get_table_names())
    assert {"conversations", "partnerships", "processed_events", "workspaces"} <= tables
    assert "alembic_version" in tables


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def test_the_newest_migration_read_off_the_file_names_is_alembics_one_head() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [newest_migration()]


def test_a_database_left_at_an_older_migration_is_brought_to_the_newest(db: Database) -> None:
    def revision() -> str | None:
        with db.engine.connect() as connection:
            return connection.scalar(text("SELECT version_num FROM alembic_version"))

    config = alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")
    assert revision() not in (None, newest_migration())
    db.upgrade()
    assert revision() == newest_migration()


def test_a_write_based_on_an_old_version_fails(db: Database) -> None:
    with db.session() as session:
        session.add(conversation())
    with db.session() as first_reader:
        stale = first_reader.scalars(select(Conversation)).one()
    with db.session() as session:
        session.scalars(select(Conversation)).one().state = "organisations"
    with pytest.raises(StaleDataError), db.session() as session:
        session.add(stale)
        stale.state = "kinds"
    with db.session() as session:
        saved = session.scalars(select(Conversation)).one()
        assert (saved.state, saved.version) == ("organisations", 2)


def test_one_active_check_per_person(db: Database) -> None:
    with db.session() as session:
        session.add(conversation())
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(conversation())
    with db.session() as session:  # finished ones don't count, other people are separate
        session.add(conversation(status="finished"))
        session.add(conversation(user="U2"))
        session.add(conversation(team="T2"))


def test_an_event_id_is_recorded_once(db: Database) -> None:
    with db.statements() as connection:
        assert record_event(connection, "Ev1", "T1")
    with db.statements() as connection:
        assert not record_event(connection, "Ev1", "T1")
        assert record_event(connection, "Ev2", "T1")
    with db.session() as session:
        assert len(session.scalars(select(ProcessedEvent)).all()) == 2


def test_statements_committed_one_by_one_work_on_a_connection_checked_after_idling(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every checkout is checked as if idle: the check must leave no transaction open.
    monkeypatch.setattr("bot.storage.db.IDLE_BEFORE_PING", -1.0)
    for _ in range(2):
        with db.each_committed() as connection:
            assert connection.scalar(text("SELECT 1")) == 1


def test_references_are_unique_per_workspace_under_concurrency(db: Database) -> None:
    refs: dict[str, list[int]] = {"T1": [], "T2": []}
    lock = threading.Lock()

    def allocate(team: str) -> None:
        for _ in range(5):
            with db.session() as session:
                ref = next_reference(session, team)
            with lock:
                refs[team].append(ref)

    threads = [threading.Thread(target=allocate, args=(team,)) for team in ("T1", "T2") * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(refs["T1"]) == list(range(1, 16))
    assert sorted(refs["T2"]) == list(range(1, 16))


def test_partnership_references_are_scoped_to_their_workspace(db: Database) -> None:
    with db.session() as session:
        first, second = conversation(), conversation(team="T2")
        session.add_all([first, second])
        session.flush()
        for conv in (first, second):
            session.add(
                Partnership(
                    team_id=conv.team_id,
                    ref=1,
                    conversation_id=conv.id,
                    owner_id="U1",
                    name="Discharge",
                    verdict="Proceed",
                    assessment={},
                    answers={},
                )
            )
    with db.session() as session:
        refs = session.execute(select(Partnership.team_id, Partnership.ref)).all()
    assert sorted(refs) == [("T1", 1), ("T2", 1)]


def test_the_migrations_build_exactly_the_models_schema(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.storage.models import Base

    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_a_units_statements_and_its_session_commit_together(db: Database) -> None:
    with db.unit() as unit:
        assert record_event(unit.connection, "Ev1", "T1")
        unit.session.add(conversation())  # flushed when the unit ends, not by hand
    with db.session() as session:
        assert len(session.scalars(select(ProcessedEvent)).all()) == 1
        assert len(session.scalars(select(Conversation)).all()) == 1


def test_a_unit_that_fails_keeps_nothing_from_its_statements_or_its_session(
    db: Database,
) -> None:
    with pytest.raises(RuntimeError), db.unit() as unit:
        assert record_event(unit.connection, "Ev1", "T1")
        unit.session.add(conversation())
        unit.session.flush()
        raise RuntimeError("the step failed after both were written")
    with db.session() as session:
        assert session.scalars(select(ProcessedEvent)).all() == []
        assert session.scalars(select(Conversation)).all() == []


def test_a_step_saved_on_an_old_version_writes_nothing(db: Database) -> None:
    def load(unit: Unit) -> ConversationRow:
        return conversation_row(unit.connection.execute(select_conversations()).one())

    with db.session() as session:
        session.add(conversation())
    with db.unit() as unit:
        loaded = load(unit)
    with db.unit() as unit:
        saved = save_step(unit.connection, loaded, {"state": "organisations"})
        assert saved is not None and (saved.state, saved.version) == ("organisations", 2)
    with db.unit() as unit:  # a second step from the same loaded row: the lock refuses it
        assert save_step(unit.connection, loaded, {"state": "kinds"}) is None
        now = load(unit)
    assert (now.state, now.version) == ("organisations", 2)
