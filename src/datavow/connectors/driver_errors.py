"""Which driver errors mean "cannot reach the database" and which mean "the database refused this statement".

SQLAlchemy wraps every driver error in a :class:`~sqlalchemy.exc.DBAPIError` subclass named after
PEP 249's classes. The class alone is not enough: SQLite reports a missing column as an
``OperationalError``, like a file it cannot open, and MariaDB reports an unknown table the same way
it reports a lost server. So the class decides where it can, and where it cannot the driver's own
code decides (a psycopg SQLSTATE, a pymysql error number, SQLite's message).

:data:`BY_CLASS` names every ``DBAPIError`` subclass; a test keeps it complete, so a new class in a
later SQLAlchemy is decided here, on purpose, rather than falling to a default.
"""

from __future__ import annotations

import re
from typing import Literal

from sqlalchemy import exc as sa_exc

Kind = Literal["connection", "statement", "driver"]  # "driver": the driver's own code decides

BY_CLASS: dict[type[sa_exc.DBAPIError], Kind] = {
    sa_exc.DBAPIError: "driver",  # a driver exception outside PEP 249's tree
    sa_exc.InterfaceError: "driver",  # a closed connection, but SQLite's parameter binding too
    sa_exc.DatabaseError: "driver",
    sa_exc.OperationalError: "driver",  # a server gone away, but SQLite's "no such column" too
    sa_exc.InternalError: "driver",
    sa_exc.DataError: "statement",
    sa_exc.IntegrityError: "statement",
    sa_exc.ProgrammingError: "statement",
    sa_exc.NotSupportedError: "statement",
}

# SQLSTATE classes (PostgreSQL) that mean the connection or the server, not the statement:
# 08 connection exception, 28 invalid authorisation, 3D invalid catalogue (no such database),
# 53 insufficient resources, 57 operator intervention (shutdown, cancelled), 58 system error.
_CONNECTION_SQLSTATE_CLASSES = ("08", "28", "3D", "53", "57", "58")

# MySQL/MariaDB error numbers that mean the connection or the server: access denied (1044, 1045),
# unknown database (1049), too many connections (1040, 1203), client errors 2000-2999 (cannot
# connect, unknown host, server gone away, lost connection, ...), and 0 (pymysql: closed).
_CONNECTION_MYSQL_ERRORS = frozenset({0, 1040, 1044, 1045, 1049, 1203})

# SQLite messages that concern the file rather than the statement.
_SQLITE_CONNECTION = re.compile(
    r"unable to open database|file is not a database|disk i/o error|database is locked|readonly database|"
    r"database disk image is malformed",
    re.IGNORECASE,
)


def kind_of(error: sa_exc.SQLAlchemyError) -> Literal["connection", "statement"]:
    """Whether ``error`` means the database cannot be reached or that it refused a statement."""
    if isinstance(error, (sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return "connection"  # the pool lost or could not get a connection
    if not isinstance(error, sa_exc.DBAPIError):
        return "statement"  # compiling, reflecting, a missing table: the server was never in question
    if error.connection_invalidated:
        return "connection"
    decided = next(BY_CLASS[cls] for cls in type(error).__mro__ if cls in BY_CLASS)
    if decided != "driver":
        return decided
    return _by_driver(error.orig) if error.orig is not None else "connection"


def _by_driver(original: BaseException) -> Literal["connection", "statement"]:
    sqlstate = getattr(original, "sqlstate", None)  # psycopg 3 (psycopg2: pgcode)
    sqlstate = sqlstate if isinstance(sqlstate, str) else getattr(original, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate:
        return "connection" if sqlstate[:2].upper() in _CONNECTION_SQLSTATE_CLASSES else "statement"
    module = type(original).__module__
    if module.startswith("sqlite3"):
        return "connection" if _SQLITE_CONNECTION.search(str(original)) else "statement"
    number = original.args[0] if original.args else None
    if isinstance(number, int) and module.startswith(("pymysql", "MySQLdb", "mariadb")):
        is_client = 2000 <= number < 3000
        return "connection" if is_client or number in _CONNECTION_MYSQL_ERRORS else "statement"
    # A driver error without a code (psycopg's "connection failed", before any SQLSTATE): the
    # server could not be asked, so nothing can be said about a statement.
    return "connection"


_TABLE = re.compile(r"\b(?:FROM|UPDATE|INTO|JOIN|TABLE)\s+((?:[`\"\[]?[\w$]+[`\"\]]?\.)?[`\"\[]?[\w$]+[`\"\]]?)", re.I)


def statement_table(error: sa_exc.SQLAlchemyError) -> str | None:
    """The table the failed statement is about: the first it reads, changes or reflects."""
    if isinstance(error, sa_exc.NoSuchTableError) and error.args:
        return str(error.args[0])
    statement = getattr(error, "statement", None)
    if not isinstance(statement, str):
        return None
    found = _TABLE.search(statement)
    return re.sub(r"[`\"\[\]]", "", found.group(1)) if found else None
