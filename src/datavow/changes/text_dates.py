"""Moments kept as text: a period counted from a TEXT column that holds ISO dates (common on SQLite).

A hold or a retention rule compares each row's moment with ``now - keep`` and adds ``keep`` to the
latest one. Text compares as text and cannot be added to, so a text column is read as a timestamp
by the database itself (:class:`TextMoment`): SQLite's ``datetime(x)`` (which also takes a zone
and converts to UTC), and on PostgreSQL and MariaDB a cast guarded by a pattern, so that a value
that is not an ISO date becomes NULL rather than failing the statement. A NULL moment means "not
started": a hold keeps the row and a rule never makes it due; so such values are looked for first
(:func:`text_date_problem`) and reported with the column and the value's form, never its content.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.compiler import SQLCompiler

from datavow.datamap.load import LoadedMap
from datavow.datamap.model import After, split_target
from datavow.plan.model import TableKey

# An ISO date, optionally with a time ("2024-05-01", "2024-05-01 10:00", "2024-05-01T10:00:00.5")
_ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?$"


class TextMoment(sa.sql.functions.FunctionElement[Any]):
    """A text column's value as a timestamp, or NULL when it is not an ISO date."""

    type = sa.DateTime()
    name = "datavow_text_moment"
    inherit_cache = True


@compiles(TextMoment)
def _default(element: TextMoment, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    return f"CAST({text} AS TIMESTAMP)"


@compiles(TextMoment, "sqlite")
def _sqlite(element: TextMoment, compiler: SQLCompiler, **kw: Any) -> str:
    return f"datetime({compiler.process(element.clauses, **kw)})"


@compiles(TextMoment, "postgresql")
def _postgresql(element: TextMoment, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    return f"CASE WHEN ({text}) ~ '{_ISO}' THEN CAST({text} AS TIMESTAMP) END"


@compiles(TextMoment, "mysql")
@compiles(TextMoment, "mariadb")
def _mysql(element: TextMoment, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    pattern = _ISO.replace("\\", "\\\\")
    return f"CASE WHEN ({text}) REGEXP '{pattern}' THEN CAST({text} AS DATETIME) END"


def is_text(column: sa.ColumnElement[Any]) -> bool:
    return isinstance(column.type, sqltypes.String) and not isinstance(column.type, sqltypes.Enum)


def as_moment(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """``column`` as a moment the database compares and returns as a timestamp: text is converted,
    anything else is left as it is."""
    return TextMoment(column) if is_text(column) else column


def text_date_problem(connection: sa.Connection, table: sa.Table, column: str, label: str) -> str | None:
    """What is wrong with a text column a period counts from, or None: the first value that is not
    an ISO date, described by its form (digits as 9, a run of letters as a) so no personal data is
    shown."""
    if column not in table.c or not is_text(table.c[column]):
        return None
    value = table.c[column]
    bad = sa.select(value).where(value.is_not(None), sa.func.trim(value) != "", as_moment(value).is_(None)).limit(1)
    found = connection.execute(bad).scalar()
    if found is None:
        return None
    # digits as 9 (a date's shape shows), each run of letters as one a (a name's length does not)
    form = re.sub(r"[^\W\d_]+", "a", re.sub(r"\d", "9", str(found)))[:40]
    return (
        f"{label}.{column} holds text that is not an ISO date (a value of the form '{form}') — store dates as "
        "'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS' (or use a DATE or TIMESTAMP column), or count from another column"
    )


def after_problem(
    loaded: LoadedMap, where: TableKey, after: After, reflect: Callable[[TableKey], sa.Table], connection: sa.Connection
) -> str | None:
    """:func:`text_date_problem` for the column ``after`` names, seen from the map's table ``where``."""
    holder = where if after.table is None else split_target(where[0], after.table)
    if holder[0] != where[0] or holder[1] not in loaded.model.systems[holder[0]].tables:
        return None  # another database: the hold or rule itself refuses that, with its own message
    return text_date_problem(connection, reflect(holder), after.column, f"{holder[0]}.{holder[1]}")
