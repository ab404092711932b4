"""Opening datavow's state store: an SQLite file by default, PostgreSQL in production."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session

from datavow.driver_errors import KINDS, Fault, fault_of, reason
from datavow.errors import ConnectionError_, DatavowError, ErrorKind, StateError
from datavow.store.location import STATE_URL_ENV
from datavow.store.migrate import upgrade_schema

SUPPORTED_BACKENDS = ("sqlite", "postgresql")

# Execution option read by the SQLite BEGIN hook: write transactions take the lock up front.
_WRITE_OPTION = "datavow_write"

#: Where a session from :meth:`Store.session` keeps the store's key source (``session.info``), so
#: that what is appended inside a caller's transaction can be signed (:mod:`datavow.audit`).
KEY_INFO = "datavow.key"

# Seconds a SQLite writer waits for another writer's lock before giving up.
_SQLITE_BUSY_TIMEOUT = 30
#: Page cache per SQLite connection, in KiB (SQLite's default is 2,000 KiB).
_SQLITE_CACHE_KIB = 65_536
#: Page size of a new SQLite store, in bytes (SQLite's default is 4,096). Consent states are
#: written at random keys, which leaves pages half full and out of order; reading five million of
#: them to filter a mailing list took 4.2 s with 4 KiB pages and 3.2 s with 16 KiB ones. An
#: existing store keeps its size (changing it takes a VACUUM: see docs/consent.md).
SQLITE_PAGE_SIZE = 16_384


class Store:
    """An open state store: an engine whose schema is current, and sessions on it.

    Create it with :func:`open_store`. Close it (or use it as a context manager) to release
    its connections.

    ``key`` gives the installation's key when something is to be signed (the audit log's head), in
    the session that signs (where the key is checked against the store); it is asked for only
    then, so a store opened to read never needs it. A store without one
    can append to an audit log that was never signed, and refuses to extend a signed one.
    """

    def __init__(self, engine: Engine, key: Callable[[Session], bytes] | None = None) -> None:
        self.engine = engine
        self.key = key
        read_options: dict[str, Any] = {_WRITE_OPTION: False}
        if engine.dialect.name == "postgresql":
            # One snapshot for the whole read, so a verify never sees half an append.
            read_options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        self._reader = engine.execution_options(**read_options)
        #: The key last found to be this store's (:func:`datavow.store.key.check_key`): checked once.
        self.checked_key: bytes | None = None

    @property
    def reader(self) -> Engine:
        """The engine for reads outside a session: a consistent snapshot on PostgreSQL, and on
        SQLite a deferred transaction that never takes the write lock."""
        return self._reader

    @property
    def url(self) -> str:
        """The store's URL with any password masked, for messages."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back on error.

        Write sessions on SQLite begin with ``BEGIN IMMEDIATE`` so that a read followed by a
        write cannot fail halfway on another writer's lock. ``write=False`` gives a consistent
        read-only snapshot that does not block writers.
        """
        engine = self.engine if write else self._reader
        with Session(engine, expire_on_commit=False, info={KEY_INFO: self.key}) as session, session.begin():
            yield session

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"


def open_store(url: str, *, create: bool = True, key: Callable[[Session], bytes] | None = None) -> Store:
    """Open the state store at ``url`` and upgrade its schema to the latest revision.

    ``key`` gives the installation's key when the audit log's head is signed (see :class:`Store`).

    With ``create=False`` a missing SQLite file is an error instead of a new empty store, so
    read-only commands (``datavow audit verify``) do not report on a database that was never
    there.
    """
    parsed = _parse_url(url)
    masked = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise StateError(
            f"state store URL {masked!r} uses {backend!r}; datavow keeps its state in SQLite "
            "(sqlite:///path/state.db) or PostgreSQL (postgresql+psycopg://user@host/db)",
            kind=ErrorKind.INVALID,
            field="state_url",
        )
    if backend == "sqlite":
        _prepare_sqlite_file(parsed, create=create)
    try:
        engine = create_engine(parsed, **_engine_options(backend))
    except (ArgumentError, NoSuchModuleError) as exc:
        raise StateError(
            f"cannot open state store URL {masked!r}: {exc}", kind=ErrorKind.INVALID, field="state_url"
        ) from exc
    if backend == "sqlite":
        _install_sqlite_hooks(engine, in_memory=_sqlite_path(parsed) is None)
    try:
        upgrade_schema(engine)
    except DBAPIError as exc:
        engine.dispose()
        raise state_error(exc, parsed, "open the state store") from exc
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, key)


def state_error(
    exc: SQLAlchemyError, url: URL | str, doing: str, refused: type[DatavowError] = StateError
) -> DatavowError:
    """What a driver error met while ``doing`` something on the state store at ``url`` (text: with
    its password masked already) means, by the rules the systems' databases follow (:mod:`datavow.driver_errors`): a
    store that cannot be reached is a :class:`~datavow.errors.ConnectionError_`; one that lacks a
    table or column, or refuses a statement, a ``refused`` error of kind ``schema`` or ``refused``."""
    fault = fault_of(exc)
    password = url.password if isinstance(url, URL) else None
    why = reason(exc, str(password) if password else None)
    url = url.render_as_string(hide_password=True) if isinstance(url, URL) else url
    if KINDS[fault] is ErrorKind.UNAVAILABLE:
        return ConnectionError_(
            f"cannot {doing} at {url}: {why}. Check that the database is running and the state store's URL "
            f"(or ${STATE_URL_ENV}) is right",
            field="state_url",
        )
    if fault is Fault.SCHEMA:
        return refused(
            f"could not {doing} at {url}: {why} — the state store lacks a table or column this datavow uses; "
            "upgrade its schema by opening it with this datavow, or restore it from a backup",
            kind=KINDS[fault],
        )
    return refused(f"could not {doing} at {url}: the state store refused a statement: {why}", kind=KINDS[fault])


def _parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise StateError(
            f"{url!r} is not a database URL: use sqlite:///path/state.db or postgresql+psycopg://user@host/db",
            kind=ErrorKind.INVALID,
            field="state_url",
        ) from exc


def _sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL, or ``None`` when it lives in memory."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def _prepare_sqlite_file(url: URL, *, create: bool) -> None:
    path = _sqlite_path(url)
    if path is None or path.exists():
        return
    if not create:
        raise StateError(
            f"there is no state store at {path}: work from the directory of your data map, name the data "
            f"map or the state store's URL, or set ${STATE_URL_ENV}",
            kind=ErrorKind.NOT_FOUND,
            field="state_url",
        )
    try:
        # The store holds sealed identities and keyed hashes: its folder and file are the owner's only.
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # another process made it first
    except OSError as exc:
        raise StateError(f"cannot create the state store {path}: {exc}") from exc


def _engine_options(backend: str) -> dict[str, Any]:
    if backend == "sqlite":
        return {"connect_args": {"timeout": _SQLITE_BUSY_TIMEOUT}}
    return {"pool_pre_ping": True}


def _install_sqlite_hooks(engine: Engine, *, in_memory: bool) -> None:
    """WAL and foreign keys on every connection; datavow, not pysqlite, emits BEGIN.

    pysqlite's own transaction handling skips BEGIN before SELECT and DDL, which would make
    migrations non-transactional and let a read-then-write transaction lose the write lock.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            # Consent states and identity hashes are written at random keys: SQLite's default
            # 2 MiB page cache rereads the indexes' pages on every batch of a large import.
            cursor.execute(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")
            if not in_memory:
                # Only a file without pages takes it; set before WAL mode writes the first one.
                cursor.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")
                # Readers never block the writer and the writer never blocks readers.
                _write_ahead_log(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, True)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")


def _write_ahead_log(cursor: Any) -> None:
    """Put the file in WAL mode, once: the mode belongs to the file, so a connection that finds it
    set changes nothing. Switching needs the file to itself, and SQLite answers "database is
    locked" at once, without waiting, while another process opens or migrates it: then wait and
    ask again, as long as a writer would wait for a lock."""
    deadline = time.monotonic() + _SQLITE_BUSY_TIMEOUT
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()
            if mode is not None and str(mode[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
