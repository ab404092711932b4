"""Writing many rows at once: on PostgreSQL one ``INSERT … SELECT FROM unnest(arrays)``.

psycopg's ``executemany`` sends one statement per row (pipelined), and its per-row work in Python
was three quarters of an import into PostgreSQL; one statement with a parameter per column,
each an array, is one round trip and the arrays are built by the driver. Elsewhere (SQLite) the
driver's ``executemany`` is already in C.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection


def insert_rows(connection: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows``, each with every column of ``table``."""
    if connection.dialect.name == "postgresql":
        unnest_insert(connection, table, rows)
    elif rows:
        connection.execute(sa.insert(table), rows)


def unnest_insert(connection: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], suffix: str = "") -> None:
    """PostgreSQL: insert ``rows`` in one statement, ending with ``suffix`` (an ``ON CONFLICT``
    clause that names the table ``t``)."""
    if not rows:
        return
    columns = list(table.columns)
    dialect = connection.dialect
    arrays = ", ".join(f"%({c.name})s::{c.type.compile(dialect=dialect)}[]" for c in columns)
    names = ", ".join(c.name for c in columns)
    sql = f"INSERT INTO {table.name} AS t ({names}) SELECT * FROM unnest({arrays}) {suffix}"
    connection.exec_driver_sql(sql, {c.name: [row[c.name] for row in rows] for c in columns})
