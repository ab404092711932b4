"""The state store: migrations from empty, SQLite locking and pragmas, URLs and their errors.

Every test runs against real databases: SQLite files under tmp_path and a fresh PostgreSQL
database from the suite's own server (``postgres_url``).
"""

from __future__ import annotations

import multiprocessing
import socket
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier as BarrierType
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import datavow.store
from datavow.errors import ConnectionError_, StateError
from datavow.store import (
    Base,
    Store,
    current_revision,
    default_state_url,
    latest_revision,
    open_store,
)
from datavow.store.engine import SQLITE_PAGE_SIZE
from datavow.store.migrate import alembic_config
from datavow.store.models import AuditHeadRow
from datavow.store.models.base import UTCDateTime, UTCTimestamp


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty database, once per backend datavow keeps state in."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(state_url: str) -> Iterator[Store]:
    with open_store(state_url) as opened:
        yield opened


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_open_store_migrates_an_empty_database_to_the_latest_revision(state_url: str) -> None:
    assert _tables(state_url) == set()
    with open_store(state_url) as store:
        # the newest migration file is the head, and an empty database is brought all the way to it
        versions = Path(datavow.store.__file__).parent / "migrations" / "versions"
        newest = max(p.name.split("_")[0].removeprefix("r") for p in versions.glob("r[0-9]*.py"))
        assert current_revision(store.engine) == latest_revision() == newest
        with store.session(write=False) as session:
            head = session.execute(sa.select(AuditHeadRow.seq, AuditHeadRow.hash)).all()
    assert {"alembic_version", "audit_entries", "audit_head"} <= _tables(state_url)
    assert head == [(0, "0" * 64)]


def test_the_models_and_the_migrations_describe_the_same_schema(store: Store) -> None:
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_opening_again_keeps_the_data_and_the_revision(state_url: str) -> None:
    with open_store(state_url) as store, store.session() as session:
        session.execute(sa.update(AuditHeadRow).values(seq=7))
    with open_store(state_url) as store:
        assert current_revision(store.engine) == latest_revision()
        with store.session(write=False) as session:
            assert session.scalar(sa.select(AuditHeadRow.seq)) == 7


def test_migration_0009_keeps_every_consent_state_and_goes_back(state_url: str) -> None:
    """0009 rebuilds ``consent_state`` on SQLite (``WITHOUT ROWID``) and drops the scope index."""
    state = sa.table(
        "consent_state",
        sa.column("identity_hash", sa.String),
        sa.column("scope", sa.String),
        sa.column("granted", sa.Boolean),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("seq", sa.BigInteger),
    )
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    rows = [
        {"identity_hash": f"{i:064x}", "scope": scope, "granted": i % 2 == 0, "at": at, "seq": i}
        for i in range(40)
        for scope in ("|email|", "marketing||")
    ]
    kept = sa.select(state.c.identity_hash, state.c.scope, state.c.granted, state.c.seq).order_by(
        state.c.identity_hash, state.c.scope
    )
    expected = sorted((r["identity_hash"], r["scope"], r["granted"], r["seq"]) for r in rows)
    engine = sa.create_engine(state_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0008")
            connection.execute(sa.insert(state), rows)
        for revision, connection in _stepped(engine, "0009", "0008", "head"):
            indexed = revision == "0008"
            assert [tuple(row) for row in connection.execute(kept)] == expected, revision
            indexes = {index["name"] for index in sa.inspect(connection).get_indexes("consent_state")}
            assert ("ix_consent_state_scope" in indexes) is indexed, revision
            if engine.dialect.name == "sqlite":
                sql = connection.scalar(sa.text("SELECT sql FROM sqlite_master WHERE name = 'consent_state'"))
                assert ("WITHOUT ROWID" in sql) is not indexed, revision
    finally:
        engine.dispose()


def test_migration_0010_keeps_every_consent_time_to_the_microsecond_and_goes_back(state_url: str) -> None:
    """0010 stores consent_state's times as integer microseconds on SQLite; PostgreSQL keeps timestamptz."""

    def state(at: sa.types.TypeEngine[datetime]) -> sa.TableClause:
        columns: list[sa.ColumnClause[Any]] = [
            sa.column("identity_hash", sa.String()),
            sa.column("scope", sa.String()),
            sa.column("granted", sa.Boolean()),
            sa.column("seq", sa.BigInteger()),
        ]
        return sa.table("consent_state", *columns, sa.column("at", at))

    as_written, as_kept = state(UTCDateTime()), state(UTCTimestamp())
    times = [
        datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        datetime(2026, 3, 1, 9, 30, 59, 999_999, tzinfo=UTC),  # rounds up if read as a fraction of a second
        datetime(1999, 12, 31, 23, 59, 59, 999_500, tzinfo=UTC),
        datetime(2024, 2, 29, 0, 0, 0, 1, tzinfo=UTC),
    ]
    rows = [
        {"identity_hash": f"{i:064x}", "scope": "|email|", "granted": i % 2 == 0, "seq": i, "at": at}
        for i, at in enumerate(times)
    ]
    expected = [(row["identity_hash"], row["at"], row["seq"]) for row in rows]
    engine = sa.create_engine(state_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0009")
            connection.execute(sa.insert(as_written), rows)
        for revision, connection in _stepped(engine, "0010", "0009", "head"):
            table = as_written if revision == "0009" else as_kept
            read = connection.execute(sa.select(table.c.identity_hash, table.c.at, table.c.seq).order_by(table.c.seq))
            assert [tuple(row) for row in read] == expected, revision
            if engine.dialect.name == "sqlite":
                kinds = connection.scalars(sa.text("SELECT DISTINCT typeof(at) FROM consent_state")).all()
                assert kinds == (["text"] if revision == "0009" else ["integer"]), revision
    finally:
        engine.dispose()


def _stepped(engine: sa.Engine, *revisions: str) -> Iterator[tuple[str, sa.Connection]]:
    """Migrate to each of ``revisions`` in turn, down to one below the last revision reached and up
    otherwise, then give a connection to look at the result."""
    for revision in revisions:
        with engine.begin() as connection:
            reached = MigrationContext.configure(connection).get_current_revision() or ""
            below = revision != "head" and revision < reached  # revisions are numbered 0001, 0002, …
            (command.downgrade if below else command.upgrade)(alembic_config(connection), revision)
        with engine.connect() as connection:
            yield revision, connection


def _open_when_all_are_ready(url: str, ready: BarrierType) -> None:
    ready.wait()
    open_store(url).close()


def test_processes_opening_a_new_store_at_once_migrate_it_once(state_url: str) -> None:
    # Separate processes, so only the database lock can keep two CREATE TABLEs from racing.
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Barrier(4)
    openers = [spawn.Process(target=_open_when_all_are_ready, args=(state_url, ready)) for _ in range(4)]
    for opener in openers:
        opener.start()
    for opener in openers:
        opener.join(timeout=120)
    assert [opener.exitcode for opener in openers] == [0, 0, 0, 0]
    with open_store(state_url) as store, store.session(write=False) as session:
        assert session.execute(sa.select(AuditHeadRow.id)).scalars().all() == [1]
        assert current_revision(store.engine) == latest_revision()


def test_threads_opening_a_new_store_at_once_all_succeed(state_url: str) -> None:
    # Alembic keeps its context in module globals; concurrent upgrades in one process must queue.
    barrier = threading.Barrier(4)

    def opener() -> None:
        barrier.wait()
        open_store(state_url).close()

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(opener) for _ in range(4)]
    for future in futures:
        future.result(timeout=120)  # re-raises what the thread raised


def test_sqlite_store_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with open_store(url) as store, store.session() as session:
        assert session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1


def test_a_new_sqlite_store_gets_large_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'new.db'}") as store, store.session() as session:
        assert session.execute(sa.text("PRAGMA page_size")).scalar() == SQLITE_PAGE_SIZE == 16_384
    old = tmp_path / "old.db"
    made = sqlite3.connect(old)
    made.execute("CREATE TABLE kept (value TEXT)")
    made.execute("INSERT INTO kept VALUES ('there')")
    made.commit()
    made.close()
    with open_store(f"sqlite:///{old}") as store:
        assert current_revision(store.engine) == latest_revision()
        with store.session() as session:
            assert session.execute(sa.text("PRAGMA page_size")).scalar() == 4_096
            assert session.execute(sa.text("SELECT value FROM kept")).scalar() == "there"


def test_sqlite_write_sessions_take_the_lock_up_front_and_reads_do_not(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with open_store(f"sqlite:///{path}") as store:
            with store.session() as session:
                session.execute(sa.text("SELECT 1"))  # only a read, yet the lock is held
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            with store.session(write=False) as session:
                session.execute(sa.text("SELECT 1"))
                other.execute("BEGIN IMMEDIATE")  # a reader never blocks a writer
                other.execute("ROLLBACK")
    finally:
        other.close()


def test_postgres_read_sessions_are_read_only_snapshots(postgres_url: str) -> None:
    with open_store(postgres_url) as store, store.session(write=False) as session:
        isolation = session.execute(sa.text("SHOW transaction_isolation")).scalar()
        assert isolation == "repeatable read"
        with pytest.raises(sa.exc.InternalError, match="read-only transaction"):
            session.execute(sa.update(AuditHeadRow).values(seq=1))


def test_default_state_url_is_beside_the_map_unless_the_environment_says_otherwise(
    tmp_path: Path,
) -> None:
    map_path = tmp_path / "company" / "datavow.yaml"
    expected = f"sqlite:///{tmp_path / 'company' / '.datavow' / 'state.db'}"
    assert default_state_url(map_path, environ={}) == expected
    assert not (tmp_path / "company").exists()  # computing a URL creates nothing
    env = {"DATAVOW_STATE_URL": "postgresql+psycopg://db/state"}
    assert default_state_url(map_path, environ=env) == "postgresql+psycopg://db/state"


def test_open_store_creates_the_state_directory(tmp_path: Path) -> None:
    url = default_state_url(tmp_path / "datavow.yaml", environ={})
    open_store(url).close()
    assert (tmp_path / ".datavow" / "state.db").is_file()


def test_open_store_without_create_refuses_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / ".datavow" / "state.db"
    with pytest.raises(StateError, match="there is no state store at .*state.db"):
        open_store(f"sqlite:///{missing}", create=False)
    assert not missing.parent.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a database URL"),
        ("mysql+pymysql://user@localhost/state", "datavow keeps its state in SQLite"),
    ],
)
def test_open_store_refuses_malformed_and_unsupported_urls(url: str, message: str) -> None:
    with pytest.raises(StateError, match=message):
        open_store(url)


def test_unreachable_postgres_is_a_connection_error_without_the_password() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://datavow:s3cret@127.0.0.1:{port}/state?connect_timeout=5"
    with pytest.raises(ConnectionError_, match="cannot open the state store") as caught:
        open_store(url)
    assert "s3cret" not in str(caught.value)


def test_a_store_migrated_by_a_newer_datavow_is_refused(state_url: str) -> None:
    open_store(state_url).close()
    engine = sa.create_engine(state_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StateError, match="newer datavow"):
        open_store(state_url)
