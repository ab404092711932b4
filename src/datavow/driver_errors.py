"""What a driver error means, decided by its class in one place: the database cannot be reached,
refuses the user, lacks a table or column, refuses a value or a constraint, or refuses the statement.

SQLAlchemy wraps every driver error in a :class:`~sqlalchemy.exc.DBAPIError` subclass named after
PEP 249's classes, and raises errors of its own (a pool timeout, a table that does not reflect). The
class decides where it can (:data:`BY_CLASS` for SQLAlchemy's, :data:`BY_PEP249` for a driver's).
Where it cannot, the driver's own code decides: SQLite reports a missing column as an
``OperationalError``, like a file it cannot open, and MariaDB reports an unknown table the way it
reports a lost server; so a psycopg SQLSTATE, a pymysql error number or SQLite's message settles it.

A test keeps both tables complete (every class of ``sqlalchemy.exc``, every PEP 249 class of
sqlite3, psycopg and pymysql), so a class a later release adds is decided here, on purpose.

It sits just above :mod:`datavow.errors`, below every part that talks to a database: the systems'
databases (:mod:`datavow.connectors.sql`) and datavow's own state store and audit log
(:func:`datavow.store.state_error`) report a fault by the same rules (:data:`KINDS`).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final, Literal

from sqlalchemy import exc as sa_exc

from datavow.errors import ErrorKind


class Fault(StrEnum):
    """What went wrong between datavow and a database."""

    CONNECTION = "connection"  # cannot be reached, or went away mid-way
    AUTHENTICATION = "authentication"  # reached, but refuses the user, the password or the database name
    SCHEMA = "schema"  # a table or column the statement names is not there
    CONSTRAINT = "constraint"  # a key, a foreign key, NOT NULL or a check refuses the change
    DATA = "data"  # a value does not fit its column
    STATEMENT = "statement"  # any other refusal: a permission, a syntax the database lacks


#: The kind of error each fault is reported as, wherever it was met.
KINDS: dict[Fault, ErrorKind] = {
    Fault.CONNECTION: ErrorKind.UNAVAILABLE,
    Fault.AUTHENTICATION: ErrorKind.UNAVAILABLE,
    Fault.SCHEMA: ErrorKind.SCHEMA,
    Fault.CONSTRAINT: ErrorKind.REFUSED,
    Fault.DATA: ErrorKind.REFUSED,
    Fault.STATEMENT: ErrorKind.REFUSED,
}

BY_DRIVER: Final = "driver"  # the class alone cannot tell: the driver's own code decides
Decision = Fault | Literal["driver"]

# Every class of sqlalchemy.exc that derives from SQLAlchemyError.
BY_CLASS: dict[type[sa_exc.SQLAlchemyError], Decision] = {
    sa_exc.SQLAlchemyError: Fault.STATEMENT,
    # the pool or the connection
    sa_exc.DisconnectionError: Fault.CONNECTION,
    sa_exc.InvalidatePoolError: Fault.CONNECTION,
    sa_exc.TimeoutError: Fault.CONNECTION,  # no connection free in the pool in time
    sa_exc.NoSuchModuleError: Fault.CONNECTION,  # the URL names a dialect or driver that is not installed
    sa_exc.NoDBAPILoaded: Fault.CONNECTION,
    # the schema, as reflection or the metadata sees it
    sa_exc.NoSuchTableError: Fault.SCHEMA,
    sa_exc.UnreflectableTableError: Fault.SCHEMA,
    sa_exc.NoReferenceError: Fault.SCHEMA,
    sa_exc.NoReferencedTableError: Fault.SCHEMA,
    sa_exc.NoReferencedColumnError: Fault.SCHEMA,
    sa_exc.ConstraintColumnNotFoundError: Fault.SCHEMA,
    sa_exc.NoSuchColumnError: Fault.SCHEMA,  # a result row lacks a column the statement was to return
    sa_exc.NoForeignKeysError: Fault.SCHEMA,
    sa_exc.AmbiguousForeignKeysError: Fault.SCHEMA,
    sa_exc.AmbiguousColumnError: Fault.SCHEMA,
    sa_exc.DuplicateColumnError: Fault.SCHEMA,
    # a statement SQLAlchemy could not build or run: datavow asked for something it cannot do
    sa_exc.ArgumentError: Fault.STATEMENT,
    sa_exc.CompileError: Fault.STATEMENT,
    sa_exc.UnsupportedCompilationError: Fault.STATEMENT,
    sa_exc.IdentifierError: Fault.STATEMENT,
    sa_exc.CircularDependencyError: Fault.STATEMENT,
    sa_exc.InvalidRequestError: Fault.STATEMENT,
    sa_exc.ResourceClosedError: Fault.STATEMENT,
    sa_exc.NoResultFound: Fault.STATEMENT,
    sa_exc.MultipleResultsFound: Fault.STATEMENT,
    sa_exc.PendingRollbackError: Fault.STATEMENT,
    sa_exc.IllegalStateChangeError: Fault.STATEMENT,
    sa_exc.UnboundExecutionError: Fault.STATEMENT,
    sa_exc.ObjectNotExecutableError: Fault.STATEMENT,
    sa_exc.NoInspectionAvailable: Fault.STATEMENT,
    sa_exc.AwaitRequired: Fault.STATEMENT,
    sa_exc.MissingGreenlet: Fault.STATEMENT,
    sa_exc.StatementError: Fault.STATEMENT,  # a parameter that would not bind, before the driver saw it
    # the driver's errors, by PEP 249 class
    sa_exc.DBAPIError: BY_DRIVER,  # a driver exception outside PEP 249's tree
    sa_exc.InterfaceError: BY_DRIVER,  # a closed connection, but SQLite's parameter binding too
    sa_exc.DatabaseError: BY_DRIVER,
    sa_exc.OperationalError: BY_DRIVER,  # a server gone away, but SQLite's "no such column" too
    sa_exc.InternalError: BY_DRIVER,
    sa_exc.ProgrammingError: BY_DRIVER,  # a missing column, but a syntax error or a permission too
    sa_exc.DataError: Fault.DATA,
    sa_exc.IntegrityError: Fault.CONSTRAINT,
    sa_exc.NotSupportedError: Fault.STATEMENT,
}

# A driver's own exception, unwrapped, by its PEP 249 class name (every driver names them alike).
BY_PEP249: dict[str, Decision] = {
    "Warning": Fault.STATEMENT,
    "Error": BY_DRIVER,
    "InterfaceError": BY_DRIVER,
    "DatabaseError": BY_DRIVER,
    "OperationalError": BY_DRIVER,
    "InternalError": BY_DRIVER,
    "ProgrammingError": BY_DRIVER,
    "DataError": Fault.DATA,
    "IntegrityError": Fault.CONSTRAINT,
    "NotSupportedError": Fault.STATEMENT,
}

# PostgreSQL SQLSTATE classes and codes. Connection: 08 connection exception, 53 insufficient
# resources, 57 operator intervention (shutdown, cancelled), 58 system error. Authentication: 28
# invalid authorisation, 3D invalid catalogue (no such database).
_SQLSTATE_CLASSES: dict[str, Fault] = {
    "08": Fault.CONNECTION,
    "53": Fault.CONNECTION,
    "57": Fault.CONNECTION,
    "58": Fault.CONNECTION,
    "28": Fault.AUTHENTICATION,
    "3D": Fault.AUTHENTICATION,
    "23": Fault.CONSTRAINT,
    "22": Fault.DATA,
}
# 42P01 undefined table, 42703 undefined column, 3F000 invalid schema name.
_SQLSTATE_SCHEMA = frozenset({"42P01", "42703", "3F000"})

# MySQL/MariaDB error numbers. Client errors 2000-2999 (cannot connect, unknown host, server gone
# away, lost connection, ...) are connection faults too.
_MYSQL: dict[int, Fault] = {
    0: Fault.CONNECTION,  # pymysql: the connection is closed
    1040: Fault.CONNECTION,  # too many connections
    1203: Fault.CONNECTION,  # the user has too many connections
    1044: Fault.AUTHENTICATION,  # access denied to the database
    1045: Fault.AUTHENTICATION,  # access denied for the user
    1049: Fault.AUTHENTICATION,  # unknown database
    1146: Fault.SCHEMA,  # table does not exist
    1054: Fault.SCHEMA,  # unknown column
    1051: Fault.SCHEMA,  # unknown table
    1109: Fault.SCHEMA,  # unknown table in a multi-table statement
    1048: Fault.CONSTRAINT,  # column cannot be null
    1062: Fault.CONSTRAINT,  # duplicate entry
    1364: Fault.CONSTRAINT,  # field has no default value
    1451: Fault.CONSTRAINT,  # a foreign key refuses deleting or updating a parent row
    1452: Fault.CONSTRAINT,  # a foreign key refuses adding or updating a child row
    4025: Fault.CONSTRAINT,  # a CHECK constraint
    1264: Fault.DATA,  # out of range
    1265: Fault.DATA,  # data truncated
    1292: Fault.DATA,  # incorrect date, time or number value
    1366: Fault.DATA,  # incorrect value for the column
    1406: Fault.DATA,  # too long for the column
}

# SQLite says it in words only.
_SQLITE: tuple[tuple[re.Pattern[str], Fault], ...] = (
    (
        re.compile(
            r"unable to open database|file is not a database|disk i/o error|database is locked|readonly database|"
            r"database disk image is malformed",
            re.IGNORECASE,
        ),
        Fault.CONNECTION,
    ),
    (re.compile(r"no such (?:table|column)|has no column named", re.IGNORECASE), Fault.SCHEMA),
    (re.compile(r"constraint failed", re.IGNORECASE), Fault.CONSTRAINT),
    (re.compile(r"datatype mismatch|cannot store \w+ value", re.IGNORECASE), Fault.DATA),
)


def fault_of(error: BaseException) -> Fault:
    """What ``error`` (a SQLAlchemy error, or a driver's own PEP 249 exception) means."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return Fault.CONNECTION
    if isinstance(error, sa_exc.SQLAlchemyError):
        decided = next(BY_CLASS[cls] for cls in type(error).__mro__ if cls in BY_CLASS)
        if decided != BY_DRIVER:
            return Fault(decided)
        original = error.orig if isinstance(error, sa_exc.DBAPIError) else None
        if original is None:
            return Fault.CONNECTION  # a driver error without the driver's exception: nothing was asked
        return _by_driver(original, _STATEMENT_FIRST.get(type(error).__name__, Fault.CONNECTION))
    name = next((cls.__name__ for cls in type(error).__mro__ if cls.__name__ in BY_PEP249), "Error")
    decided = BY_PEP249[name]
    return _by_driver(error, _STATEMENT_FIRST.get(name, Fault.CONNECTION)) if decided == BY_DRIVER else Fault(decided)


def is_schema_error(error: BaseException) -> bool:
    """Whether ``error`` says a table or column is missing: a cache of the schema is out of date."""
    return fault_of(error) is Fault.SCHEMA


# A programming error is about the statement even when the driver gives no code to say which way.
_STATEMENT_FIRST = {"ProgrammingError": Fault.STATEMENT}


def _by_driver(original: BaseException, uncoded: Fault) -> Fault:
    module = type(original).__module__
    number = original.args[0] if original.args else None
    if isinstance(number, int) and module.startswith(("pymysql", "MySQLdb", "mariadb")):
        # before any SQLSTATE: SQLAlchemy gives MySQL's errors ODBC-style ones (42S22) too
        return Fault.CONNECTION if 2000 <= number < 3000 else _MYSQL.get(number, Fault.STATEMENT)
    sqlstate = getattr(original, "sqlstate", None)  # psycopg 3 (psycopg2: pgcode)
    sqlstate = sqlstate if isinstance(sqlstate, str) else getattr(original, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate:
        code = sqlstate.upper()
        if code in _SQLSTATE_SCHEMA:
            return Fault.SCHEMA
        return _SQLSTATE_CLASSES.get(code[:2], Fault.STATEMENT)
    if module.startswith("sqlite3"):
        text = str(original)
        return next((fault for pattern, fault in _SQLITE if pattern.search(text)), Fault.STATEMENT)
    # A driver error without a code (psycopg's "connection failed", before any SQLSTATE): the
    # server could not be asked, so nothing can be said about a statement.
    return uncoded


_TABLE = re.compile(r"\b(?:FROM|UPDATE|INTO|JOIN|TABLE)\s+((?:[`\"\[]?[\w$]+[`\"\]]?\.)?[`\"\[]?[\w$]+[`\"\]]?)", re.I)

# The missing column, in each driver's words: SQLite "no such column: phone" or "has no column named
# phone"; PostgreSQL 'column "phone" does not exist' (or "column c.phone does not exist");
# MariaDB "Unknown column 'phone' in 'field list'".
_MISSING_COLUMN = re.compile(
    r"no such column: ([\w.$]+)|has no column named ([\w$]+)|column \"?([\w.$]+?)\"? does not exist|"
    r"Unknown column '([^']+)'",
    re.IGNORECASE,
)


def statement_table(error: sa_exc.SQLAlchemyError) -> str | None:
    """The table the failed statement is about: the first it reads, changes or reflects."""
    if isinstance(error, sa_exc.NoSuchTableError) and error.args:
        return str(error.args[0])
    statement = getattr(error, "statement", None)
    if not isinstance(statement, str):
        return None
    found = _TABLE.search(statement)
    return re.sub(r"[`\"\[\]]", "", found.group(1)) if found else None


def missing_column(error: BaseException) -> str | None:
    """The column a schema error says is missing, without a table or alias before it."""
    original = getattr(error, "orig", None) or error
    found = _MISSING_COLUMN.search(str(original))
    if found is None:
        return None
    name = next(group for group in found.groups() if group)
    return name.rsplit(".", 1)[-1]


def reason(error: BaseException, password: str | None = None) -> str:
    """The driver's own words, first line only, without the password should it echo it."""
    original: BaseException = getattr(error, "orig", None) or error
    texts = [arg for arg in original.args if isinstance(arg, str) and arg.strip()]
    # pymysql puts an error number first and the message last; psycopg the message only.
    text = texts[-1] if texts else str(original) or type(original).__name__
    line = (text.strip().splitlines() or [type(original).__name__])[0].strip()
    return line.replace(password, "***") if password else line
