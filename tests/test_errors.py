"""Errors with meaning: every error carries a kind, one table gives each kind its exit code and HTTP
status, every driver exception class is decided on purpose, and a renamed column is reported as a
schema error naming the system, the table and the column, never as "cannot connect"."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import ModuleType

import psycopg
import psycopg.errors
import pymysql
import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from datavow import errors
from datavow.driver_errors import BY_CLASS, BY_PEP249, Fault, fault_of, is_schema_error, missing_column
from datavow.errors import DatavowError, ErrorKind, Outcome, outcome_of
from tests.faults import BACKENDS, database_url, erase_person, open_map

PEP249 = (
    "Warning",
    "Error",
    "InterfaceError",
    "DatabaseError",
    "DataError",
    "OperationalError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
)


def test_the_error_table() -> None:
    assert errors.OUTCOMES == {
        ErrorKind.INVALID: Outcome(None, 422),
        ErrorKind.NOT_FOUND: Outcome(None, 404),
        ErrorKind.CONFLICT: Outcome(None, 409),
        ErrorKind.FORBIDDEN: Outcome(None, 403),
        ErrorKind.INTEGRITY: Outcome(None, 500),
        ErrorKind.UNAVAILABLE: Outcome(3, 503),
        ErrorKind.SCHEMA: Outcome(13, 500),
        ErrorKind.REFUSED: Outcome(13, 500),
        ErrorKind.INTERNAL: Outcome(1, 500),
    }
    # each part of datavow: the exit code its refusals use, and its default kind
    parts = {
        name: (cls.exit_code, cls.kind)
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, DatavowError)
    }
    assert parts == {
        "DatavowError": (1, ErrorKind.INVALID),
        "MapError": (2, ErrorKind.INVALID),
        "ImportError_": (2, ErrorKind.INVALID),
        "ConnectionError_": (3, ErrorKind.UNAVAILABLE),
        "StateError": (4, ErrorKind.CONFLICT),
        "AuditError": (5, ErrorKind.INTEGRITY),
        "DemoError": (6, ErrorKind.CONFLICT),
        "PlanError": (7, ErrorKind.INVALID),
        "RequestError": (8, ErrorKind.CONFLICT),
        "SecretError": (9, ErrorKind.INTEGRITY),
        "ConsentError": (10, ErrorKind.INVALID),
        "IncidentError": (11, ErrorKind.CONFLICT),
        "DocumentError": (12, ErrorKind.INVALID),
        "QueryError": (13, ErrorKind.SCHEMA),
    }
    # the docstring documents the real tree
    assert errors.__doc__ is not None
    assert {name for name in parts if f"── {name} " not in errors.__doc__} == {"DatavowError"}


def test_a_refusal_exits_with_its_part_and_trouble_around_with_its_kind() -> None:
    missing = errors.RequestError("there is no request 12", kind=ErrorKind.NOT_FOUND)
    assert (outcome_of(missing).exit_code, outcome_of(missing).http_status) == (8, 404)
    wrong = errors.ConsentError("'bob@' is not an e-mail address", kind=ErrorKind.INVALID, field="email")
    assert (outcome_of(wrong).exit_code, outcome_of(wrong).http_status, wrong.field) == (10, 422, "email")
    schema = errors.RequestError("customers.name is not in the database", kind=ErrorKind.SCHEMA)
    assert (outcome_of(schema).exit_code, outcome_of(schema).http_status) == (13, 500)
    unreachable = errors.StateError("cannot reach the state store", kind=ErrorKind.UNAVAILABLE)
    assert (outcome_of(unreachable).exit_code, outcome_of(unreachable).http_status) == (3, 503)
    assert errors.RequestError("x").kind is ErrorKind.CONFLICT and errors.RequestError("x").field is None


def _walk(cls: type[BaseException]) -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _walk(sub)
    return found


def test_every_sqlalchemy_exception_class_is_mapped() -> None:
    classes = {sa_exc.SQLAlchemyError} | _walk(sa_exc.SQLAlchemyError)
    unmapped = {cls.__name__ for cls in classes if cls.__module__ == "sqlalchemy.exc" and cls not in BY_CLASS}
    assert unmapped == set()
    assert fault_of(sa_exc.NoSuchTableError("customers")) is Fault.SCHEMA
    assert fault_of(sa_exc.TimeoutError("pool")) is Fault.CONNECTION
    assert fault_of(sa_exc.IntegrityError("INSERT", {}, Exception("dup"))) is Fault.CONSTRAINT


@pytest.mark.parametrize("driver", [sqlite3, psycopg, pymysql], ids=lambda module: module.__name__)
def test_every_dbapi_exception_class_is_mapped(driver: ModuleType) -> None:
    assert set(PEP249) == set(BY_PEP249)
    for name in PEP249:
        assert isinstance(getattr(driver, name), type), name  # the driver has every PEP 249 class
    error: type[Exception] = driver.Error
    for cls in {error} | _walk(error):  # psycopg.errors' classes per SQLSTATE too
        assert any(base.__name__ in BY_PEP249 for base in cls.__mro__), cls
        assert isinstance(fault_of(cls("boom")), Fault), cls


def test_the_drivers_codes_decide_what_the_class_cannot() -> None:
    assert fault_of(sqlite3.OperationalError("no such column: name")) is Fault.SCHEMA
    assert fault_of(sqlite3.OperationalError("unable to open database file")) is Fault.CONNECTION
    assert fault_of(psycopg.errors.UndefinedColumn('column "name" does not exist')) is Fault.SCHEMA
    assert fault_of(psycopg.errors.UndefinedTable('relation "rentals" does not exist')) is Fault.SCHEMA
    assert fault_of(psycopg.errors.InvalidPassword("password authentication failed")) is Fault.AUTHENTICATION
    assert fault_of(psycopg.errors.AdminShutdown("terminating connection")) is Fault.CONNECTION
    assert fault_of(psycopg.errors.InsufficientPrivilege("permission denied")) is Fault.STATEMENT
    assert fault_of(pymysql.err.OperationalError(1054, "Unknown column 'name' in 'field list'")) is Fault.SCHEMA
    assert fault_of(pymysql.err.ProgrammingError(1146, "Table 'shop.rentals' doesn't exist")) is Fault.SCHEMA
    assert fault_of(pymysql.err.OperationalError(1045, "Access denied for user 'u'")) is Fault.AUTHENTICATION
    assert fault_of(pymysql.err.OperationalError(2013, "Lost connection")) is Fault.CONNECTION
    assert fault_of(pymysql.err.OperationalError(1406, "Data too long")) is Fault.DATA
    no_column = sqlite3.OperationalError("no such column: name")
    wrapped = sa_exc.OperationalError("SELECT name FROM customers", {}, no_column)
    assert is_schema_error(wrapped) and missing_column(wrapped) == "name"
    assert missing_column(psycopg.errors.UndefinedColumn("column customers.name does not exist")) == "name"


TABLES = """\
      customers:
        subject: customer
        identity: {{email: email}}
        erase: anonymize
        fields:
          id: ~
          email: {{category: user.contact.email, erase: hash}}
          name: {{category: user.name, erase: nullify}}
"""


def _rename(engine: sa.Engine, old: str, new: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(f"ALTER TABLE customers RENAME COLUMN {old} TO {new}"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_renamed_column_is_a_schema_error_and_the_fix_needs_no_restart(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = database_url(backend, tmp_path, request)
    maker = sa.create_engine(url)
    request.addfinalizer(maker.dispose)
    with maker.begin() as conn:
        conn.execute(sa.text("CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(254), name VARCHAR(80))"))
        for number, who in enumerate(("ann", "bob", "cid"), 1):
            conn.execute(sa.text(f"INSERT INTO customers VALUES ({number}, '{who}@example.com', '{who}')"))
    loaded, engine = open_map(tmp_path, TABLES, url, request)
    assert erase_person(loaded, engine, "ann@example.com").systems["shop"].status == "done"

    _rename(maker, "name", "full_name")
    try:
        result = erase_person(loaded, engine, "bob@example.com")
    except DatavowError as exc:  # the map was compared with the database before any change
        assert exc.kind is ErrorKind.SCHEMA and outcome_of(exc).exit_code == 13
        message = str(exc)
    else:  # the statement met the database: the system failed, and nothing changed there
        assert result.systems["shop"].status == "failed"
        message = result.systems["shop"].error or ""
    assert "customers" in message and "name" in message and "shop" in message, message
    assert "cannot connect" not in message and "path and permissions" not in message, message
    assert "fix the map or the table" in message, message

    _rename(maker, "full_name", "name")  # the table is fixed: the next request works, in this process
    assert erase_person(loaded, engine, "bob@example.com").systems["shop"].status == "done"
    with maker.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, name FROM customers ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(1, None), (2, None), (3, "cid")]  # cid was never touched


def test_the_cli_adds_the_option_an_error_concerns() -> None:
    from datavow.cli import FIELD_FLAGS, describe

    wrong = errors.IncidentError("the risk 'huge' is not one of none, low, high", field="risk")
    assert describe(wrong) == "the risk 'huge' is not one of none, low, high (--risk)"
    assert describe(errors.RequestError("request 12 is denied")) == "request 12 is denied"
    assert describe(errors.RequestError("x", field="not-an-input")) == "x"  # a field without an option
    assert all(flag.startswith("--") for flag in FIELD_FLAGS.values())
