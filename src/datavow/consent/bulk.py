"""Writing many rows at once, the way each database takes them fastest.

- PostgreSQL: ``COPY … FROM STDIN`` in binary, row by row in psycopg's C code. Arrays for an
  ``INSERT … SELECT FROM unnest`` were dumped as text in Python (a regular expression per value)
  and were most of an import's time; an upsert copies into a temporary table and inserts from it
  with one statement.
- SQLite: the driver's ``executemany`` with each value converted once by its column's own type,
  exactly as SQLAlchemy binds it (so the stored text is the same). SQLAlchemy's per-row parameter
  processing cost as much as SQLite's own work.

Both run on the session's connection, inside its transaction: a batch is written whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection


def insert_rows(connection: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], suffix: str = "") -> None:
    """Insert ``rows``, each with every column of ``table``; ``suffix`` is an ``ON CONFLICT``
    clause that names the table ``t``."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        _copy_rows(connection, table, rows, suffix)
    else:
        _execute_many(connection, table, rows, suffix)


def _columns(table: sa.Table) -> tuple[list[sa.Column[Any]], str, Callable[[dict[str, Any]], tuple[Any, ...]]]:
    columns = list(table.columns)
    names = [column.name for column in columns]
    # itemgetter of one name returns the value itself, not a 1-tuple.
    getter = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    return columns, ", ".join(names), getter


def _copy_rows(connection: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], suffix: str) -> None:
    columns, names, getter = _columns(table)
    dialect = connection.dialect
    # COPY names the type of every column; psycopg knows them by name ("varchar", not "VARCHAR(20)").
    types = [column.type.compile(dialect=dialect).split("(")[0].lower() for column in columns]
    target = f"{table.name}_new" if suffix else table.name
    driver: Any = connection.connection.driver_connection
    with driver.cursor() as cursor:
        if suffix:
            cursor.execute(f"CREATE TEMPORARY TABLE {target} (LIKE {table.name}) ON COMMIT DROP")
        with cursor.copy(f"COPY {target} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(getter(row))
        if suffix:
            cursor.execute(f"INSERT INTO {table.name} AS t ({names}) SELECT {names} FROM {target} {suffix}")
            # Dropped now, not at commit: one transaction may append several batches.
            cursor.execute(f"DROP TABLE {target}")


def _execute_many(connection: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], suffix: str) -> None:
    columns, names, getter = _columns(table)
    values: list[Sequence[Any]] = list(map(getter, rows))
    dialect = connection.dialect
    processors = [(index, column.type.bind_processor(dialect)) for index, column in enumerate(columns)]
    if any(process is not None for _, process in processors):
        by_column: list[Sequence[Any]] = list(zip(*values, strict=True))
        for index, process in processors:
            if process is not None:
                by_column[index] = _converted(by_column[index], process)
        values = list(zip(*by_column, strict=True))
    marks = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(f"INSERT INTO {table.name} AS t ({names}) VALUES ({marks}) {suffix}", values)


def _converted(values: Sequence[Any], process: Callable[[Any], Any]) -> list[Any]:
    """``process`` of each value, run once per distinct value: a batch's rows share its recording time."""
    done = {value: process(value) for value in set(values)}
    return list(map(done.__getitem__, values))
