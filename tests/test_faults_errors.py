"""Driver errors translated by their class: a statement the database refuses is a QueryError naming the
system and the table, never "cannot connect"; a server that cannot be reached stays a ConnectionError_.
And SQLite connections enforce foreign keys, as the servers do."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from datavow.connectors.sql import connect, translate_errors
from datavow.driver_errors import BY_CLASS, Fault, fault_of
from datavow.errors import ConnectionError_, QueryError
from tests.faults import BACKENDS, SERVER, database_url


def _subclasses(cls: type[sa_exc.DBAPIError]) -> set[type[sa_exc.DBAPIError]]:
    found: set[type[sa_exc.DBAPIError]] = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def test_every_dbapi_error_class_is_decided() -> None:
    classes = {sa_exc.DBAPIError} | _subclasses(sa_exc.DBAPIError)
    assert {cls for cls in classes if cls.__module__.startswith("sqlalchemy")} <= set(BY_CLASS)
    # statement errors by their very class, whatever the driver says
    for cls in (sa_exc.IntegrityError, sa_exc.ProgrammingError, sa_exc.DataError, sa_exc.NotSupportedError):
        assert fault_of(cls("SELECT 1", {}, Exception("boom"))) not in (Fault.CONNECTION, Fault.AUTHENTICATION)


def _url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    url = database_url(backend, tmp_path, request)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE customers (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    return url


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_missing_column_is_a_query_error_naming_the_table(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    engine = connect(_url(backend, tmp_path, request), system="shop")
    try:
        with pytest.raises(QueryError) as caught, translate_errors(engine.url, "shop"), engine.connect() as conn:
            conn.execute(sa.text("SELECT phone FROM customers"))
    finally:
        engine.dispose()
    message = str(caught.value)
    assert "system 'shop'" in message and "on table customers" in message
    assert "check the data map against the database" in message and "cannot connect" not in message
    assert "phone" in message  # the driver's own words say which column


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_missing_table_is_a_query_error(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    engine = connect(_url(backend, tmp_path, request), system="shop")
    try:
        with pytest.raises(QueryError, match="on table rentals"), translate_errors(engine.url, "shop"):
            with engine.connect() as conn:
                conn.execute(sa.text("DELETE FROM rentals WHERE id = 1"))
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_constraint_is_a_query_error(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    engine = connect(_url(backend, tmp_path, request), system="shop")
    try:
        with pytest.raises(QueryError, match="constraint") as caught, translate_errors(engine.url, "shop"):
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO customers (id) VALUES (1)"))
                conn.execute(sa.text("INSERT INTO customers (id) VALUES (1)"))
    finally:
        engine.dispose()
    assert "on table customers" in str(caught.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "scheme", ["postgresql+psycopg://u:secret@127.0.0.1:{port}/db", "mysql+pymysql://u:secret@127.0.0.1:{port}/db"]
)
def test_a_server_that_is_not_there_is_a_connection_error(scheme: str) -> None:
    with pytest.raises(ConnectionError_, match="check that the server is running") as caught:
        connect(scheme.format(port=_closed_port()), system="shop", timeout=2)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_server_lost_mid_block_is_a_connection_error(backend: str, request: pytest.FixtureRequest) -> None:
    """The server ends the session under a running block: a connection failure, not a statement's."""
    url = str(request.getfixturevalue(SERVER[backend]))
    engine = connect(url, system="shop")
    try:
        with engine.connect() as victim, engine.connect() as killer:
            if backend == "postgresql":
                pid = victim.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
                killer.execute(sa.text(f"SELECT pg_terminate_backend({int(pid)})"))
            else:
                pid = victim.execute(sa.text("SELECT CONNECTION_ID()")).scalar_one()
                killer.execute(sa.text(f"KILL {int(pid)}"))
            with pytest.raises(ConnectionError_, match="cannot connect"), translate_errors(engine.url, "shop"):
                victim.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()


def test_sqlite_connections_enforce_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with sa.create_engine(f"sqlite:///{path}").begin() as conn:
        conn.execute(sa.text("CREATE TABLE customers (id INTEGER PRIMARY KEY)"))
        conn.execute(
            sa.text("CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id))")
        )
        conn.execute(sa.text("INSERT INTO customers VALUES (1)"))
        conn.execute(sa.text("INSERT INTO invoices VALUES (10, 1)"))
    engine = connect(f"sqlite:///{path}", system="shop")
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1
        with pytest.raises(QueryError, match="on table customers"), translate_errors(engine.url, "shop"):
            with engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM customers WHERE id = 1"))
        with engine.connect() as conn:  # the invoice's customer is still there
            assert conn.execute(sa.text("SELECT count(*) FROM customers")).scalar_one() == 1
    finally:
        engine.dispose()
