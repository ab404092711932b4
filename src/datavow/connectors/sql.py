"""Connecting to a system's database through SQLAlchemy.

Driver errors stop here, translated by their class in one place (:func:`translate_errors`, with
:mod:`datavow.driver_errors` telling the faults apart): a database that cannot be reached
or refuses the user leaves this module as a :class:`~datavow.errors.ConnectionError_` (kind
``unavailable``), a missing table or column as a :class:`~datavow.errors.QueryError` of kind
``schema``, and a statement it refuses (a constraint, a value that does not fit) as a
:class:`~datavow.errors.QueryError` of kind ``refused``. Each names the system, shows the URL
without its password and says what to check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from datavow.connectors import sqlite_functions
from datavow.driver_errors import KINDS, Fault, fault_of, missing_column, reason, statement_table
from datavow.errors import ConnectionError_, MapError, QueryError

# Seconds to wait for a server to answer before calling it unreachable: `datavow check` runs
# in CI, where a firewalled host must fail fast rather than hang for the TCP default.
CONNECT_TIMEOUT_S = 5

# The connect argument that bounds connection time, by driver; libpq takes whole seconds.
_TIMEOUT_ARGUMENT = {
    "psycopg": "connect_timeout",
    "psycopg2": "connect_timeout",
    "pymysql": "connect_timeout",
    "mysqldb": "connect_timeout",
    "mariadbconnector": "connect_timeout",
}

_SERVER_HINT = (
    "check that the server is running and reachable from here, the user name and password, and that the database exists"
)


def reachable_connections(urls: Iterable[tuple[str, Callable[[], str]]]) -> Iterator[tuple[str, Connection]]:
    """An open connection to each system of ``urls`` (name, a function giving its URL) that can be
    reached, one at a time; a system that cannot be reached, or whose URL cannot be formed, is
    skipped: the drift check reports it already."""
    for system, url in urls:
        try:
            engine = connect(url(), system=system)
        except (ConnectionError_, MapError):
            continue
        try:
            with engine.connect() as connection:
                yield system, connection
        finally:
            engine.dispose()


def connect(url: str, *, system: str | None = None, timeout: int = CONNECT_TIMEOUT_S) -> Engine:
    """An engine for ``url``, after proving that a connection can be opened.

    ``system`` names the data map's system in error messages. A SQLite file must exist already:
    a mistyped path is an error, never a new empty database.

    Raises :class:`ConnectionError_` when the URL is unusable, its driver is not installed or
    the database cannot be reached.
    """
    what = f"system '{system}'" if system else "the database"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise ConnectionError_(
            f"{what}: '{redact(url)}' is not a database URL — write a SQLAlchemy "
            "URL such as 'sqlite:///shop.db' or "
            "'postgresql+psycopg://user@host/db'"
        ) from exc
    parsed = _existing_sqlite_file(parsed, what)
    try:
        engine = create_engine(parsed, connect_args=_timeout_arguments(parsed, timeout))
    except (ArgumentError, ImportError) as exc:  # an unknown dialect, or its driver is missing
        raise ConnectionError_(
            f"cannot connect to {what} at {redact(parsed)}: {reason(exc)} — "
            f"install the driver for '{parsed.drivername}', or fix the URL's "
            "scheme"
        ) from exc
    if _is_sqlite(engine.url):
        event.listen(engine, "connect", _sqlite_connected)
    try:
        engine.connect().close()
    except SQLAlchemyError as exc:  # whatever fails while only connecting is the connection's fault
        engine.dispose()
        raise _connection_error(exc, engine.url, system) from exc
    return engine


def _sqlite_connected(dbapi_connection: Any, _record: object) -> None:
    """Every SQLite connection enforces foreign keys, as the servers do (SQLite leaves them off by
    default, and erasure would then orphan rows silently), and has datavow's SQL functions."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()
    sqlite_functions.register(dbapi_connection)


@contextmanager
def translate_errors(url: URL | str, system: str | None = None) -> Iterator[None]:
    """Turn a SQLAlchemy or driver error raised inside the block into a :class:`ConnectionError_`
    when the database cannot be reached or refuses the user, or a :class:`QueryError` when it
    refused a statement (of kind ``schema`` when a table or column is missing)."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise translate(exc, url, system) from exc


def translate(exc: SQLAlchemyError, url: URL | str, system: str | None = None) -> ConnectionError_ | QueryError:
    """The :class:`~datavow.errors.DatavowError` that says what ``exc`` means for ``system``."""
    fault = fault_of(exc)
    if fault in (Fault.CONNECTION, Fault.AUTHENTICATION):
        return _connection_error(exc, url, system, fault)
    return _query_error(exc, url, system, fault)


def _connection_error(
    exc: SQLAlchemyError, url: URL | str, system: str | None, fault: Fault = Fault.CONNECTION
) -> ConnectionError_:
    what = f"system '{system}'" if system else "the database"
    parsed = make_url(url)
    why = reason(exc, parsed.password)
    if fault is Fault.AUTHENTICATION:
        return ConnectionError_(
            f"{what} at {redact(parsed)} refuses the login: {why} — check the user name, the password and the "
            "database name in the URL, and that this user may connect to that database"
        )
    hint = "check the file's path and permissions" if _is_sqlite(parsed) else _SERVER_HINT
    return ConnectionError_(f"cannot connect to {what} at {redact(parsed)}: {why} — {hint}")


_REFUSED_HINT = {
    Fault.CONSTRAINT: (
        "a constraint of the database refused the change; check that the data map declares the table's references "
        "and holds as the database's foreign keys have them"
    ),
    Fault.DATA: "a value does not fit its column; check the column's type against the data map",
    Fault.STATEMENT: "check the data map against the database, and that this user may read and change the table",
}


def _query_error(exc: SQLAlchemyError, url: URL | str, system: str | None, fault: Fault) -> QueryError:
    what = f"system '{system}'" if system else "the database"
    parsed = make_url(url)
    table = statement_table(exc)
    on = f" on table {table}" if table else ""
    why = reason(exc, parsed.password)
    if fault is Fault.SCHEMA:
        column = missing_column(exc)
        lacks = f"the table has no column {column}" if column else "a table or column it names is missing"
        return QueryError(
            f"{what} at {redact(parsed)} refused a statement{on}: {lacks} ({why}) — the data map names a table or "
            "column the database does not have (renamed or dropped?); check the data map against the database, then "
            "fix the map or the table",
            kind=KINDS[fault],
        )
    return QueryError(
        f"{what} at {redact(parsed)} refused a statement{on}: {why} — {_REFUSED_HINT[fault]}", kind=KINDS[fault]
    )


def redact(url: URL | str) -> str:
    """The URL as text with its password replaced by ``***``; safe to print and log."""
    if isinstance(url, str):
        try:
            url = make_url(url)
        except (ArgumentError, ValueError):
            return "<unparseable URL>"
    if _is_uri_file(url) and url.database and url.database.startswith("file:"):
        # Show the path the user wrote, not the percent-encoded URI made of it.
        query = {key: value for key, value in url.query.items() if key not in ("mode", "uri")}
        url = url.set(database=unquote(url.database[len("file:") :]), query=query)
    return url.render_as_string(hide_password=True)


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _is_uri_file(url: URL) -> bool:
    return _is_sqlite(url) and str(url.query.get("uri", "")).lower() in ("true", "1")


def _existing_sqlite_file(url: URL, what: str) -> URL:
    """Open a SQLite file in ``mode=rw`` so that SQLite never creates it; report a missing one."""
    if not _is_sqlite(url) or not url.database or url.database == ":memory:" or _is_uri_file(url):
        return url
    path = Path(url.database)
    if not path.is_file():
        raise ConnectionError_(
            f"cannot connect to {what}: the database file {path} does not exist — "
            "check the path in the URL (a relative path is taken from the data "
            "map's folder); datavow does not create databases"
        )
    return url.set(database="file:" + quote(str(path.resolve())), query={**url.query, "mode": "rw", "uri": "true"})


def _timeout_arguments(url: URL, timeout: int) -> dict[str, Any]:
    argument = _TIMEOUT_ARGUMENT.get(url.get_driver_name())
    if argument is None or argument in url.query:  # a timeout in the URL wins
        return {}
    return {argument: timeout}
