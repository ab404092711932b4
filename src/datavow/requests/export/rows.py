"""Reading a person's rows of one plan step as a stream, and writing them as JSON and CSV.

Rows come from the database through a server-side cursor, one statement per WHERE clause of
:func:`datavow.plan.sql.selection_clauses` (clauses never overlap, so no row comes twice), and go
straight into an archive entry: nothing holds more than one batch of rows.
"""

from __future__ import annotations

import base64
import csv
import json
import math
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from datavow.plan.model import Selection
from datavow.plan.prepared import Bound, Query, bind, execute_all, prepared
from datavow.plan.sql import selection_clauses
from datavow.requests.export.archive import StreamingArchive

# Rows fetched per round trip from a server-side cursor; fewer where a column holds binary data
# (a voicemail, a scan), so that one batch stays a few megabytes.
YIELD_PER = 2000
YIELD_PER_BINARY = 20

Batch = Sequence[Sequence[Any]]  # rows as tuples, their values in the order of the columns asked for


def person_rows(
    connection: Connection,
    table: sa.Table,
    selection: Selection,
    columns: Sequence[str],
    *,
    tenant: str | None,
) -> Iterator[Batch]:
    """The rows ``selection`` selects in ``table`` (within ``tenant``), with only ``columns``, in
    batches, in key order within each clause."""
    # Options on the statement: Connection.execution_options would change the caller's connection.
    streaming = {"stream_results": True, "yield_per": batch_size(table, columns)}
    for statement in _statements(connection, table, selection, columns, tenant):
        yield from connection.execute(statement.execution_options(**streaming)).partitions()


@dataclass(frozen=True)
class Wanted:
    """One table of a person's package: the rows ``selection`` selects, with ``columns``."""

    table: sa.Table
    selection: Selection
    columns: Sequence[str]


def few_rows(connection: Connection, wanted: Sequence[Wanted], *, tenant: str | None) -> list[Batch | None]:
    """For each of ``wanted``, all the rows :func:`person_rows` would give, as one batch, when one
    statement selects them and they fit one batch; None when they may not (then stream them).

    Most people have a few rows per table: one plain query (no server-side cursor, which costs
    round trips to open and close) reads them, and both files are written from the same rows. On
    PostgreSQL the queries of all the tables go together, in one round trip. Discovery's count
    skips the try where it already knows there are more; a stale count costs one batch read too
    many, never more memory.
    """
    if prepared(connection):
        return _few_rows_prepared(connection, wanted, tenant)
    found: list[Batch | None] = []
    for item in wanted:
        limit = batch_size(item.table, item.columns)
        if item.selection.rows > limit:
            found.append(None)
            continue
        statements = list(_statements(connection, item.table, item.selection, item.columns, tenant))
        if len(statements) != 1:
            found.append(None if statements else [])
            continue
        rows = connection.execute(statements[0].limit(limit + 1)).all()
        found.append(rows if len(rows) <= limit else None)
    return found


def _few_rows_prepared(connection: Connection, wanted: Sequence[Wanted], tenant: str | None) -> list[Batch | None]:
    found: list[Batch | None] = []
    queries: list[tuple[int, int, Query]] = []  # position in found, limit, query
    for item in wanted:
        table, selection, columns = item.table, item.selection, item.columns
        limit = batch_size(table, columns)
        bound = bind(table, selection.step, selection.conditions, tenant if tenant is not None else selection.tenant)
        found.append(None if selection.rows > limit else [])
        if selection.rows > limit or bound is None:
            continue

        def build(item: Wanted = item, bound: Bound = bound, limit: int = limit) -> sa.Select[Any]:
            return _select(item.table, item.selection, item.columns, bound.clause()).limit(limit + 1)

        key = ("rows", bound.key, tuple(columns), selection.step.key, limit)
        queries.append((len(found) - 1, limit, Query(key, build, bound.params)))
    results = execute_all(connection, [query for _, _, query in queries])
    for (position, limit, _), rows in zip(queries, results, strict=True):
        found[position] = rows if len(rows) <= limit else None
    return found


def batch_size(table: sa.Table, columns: Sequence[str]) -> int:
    """Rows per fetch: fewer where a column is binary."""
    return YIELD_PER_BINARY if any(_is_binary(table.c[name].type) for name in columns) else YIELD_PER


def _statements(
    connection: Connection, table: sa.Table, selection: Selection, columns: Sequence[str], tenant: str | None
) -> Iterator[sa.Select[Any]]:
    for clause in selection_clauses(table, selection, connection.dialect.name, tenant=tenant):
        yield _select(table, selection, columns, clause)


def _select(
    table: sa.Table, selection: Selection, columns: Sequence[str], where: ColumnElement[bool]
) -> sa.Select[Any]:
    """The person's rows of ``table`` that ``where`` selects, with ``columns``, in key order."""
    order = [table.c[name] for name in selection.step.key if name in table.c]
    return sa.select(*(_as_stored(table.c[name]) for name in columns)).where(where).order_by(*order)


class _StoredNumber(sa.types.TypeDecorator[Any]):
    """A NUMERIC column read as the database stored it: a number as a Decimal, anything else as it
    is. SQLite gives an unknown declared type (``bytea``, ``money``) numeric affinity, and a text
    value in such a column would otherwise end the export with a conversion error."""

    impl = sa.types.NullType
    cache_ok = True

    def __init__(self, declared: sa.Numeric[Any]) -> None:
        super().__init__()
        self.declared = declared

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            convert = self.declared.result_processor(dialect, None)  # type: ignore[no-untyped-call]
            return convert(value) if convert is not None else value
        return value


def _as_stored(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    column_type = column.type
    if isinstance(column_type, sa.Numeric) and not isinstance(column_type, (sa.Integer, sa.Float)):
        return sa.type_coerce(column, _StoredNumber(column_type)).label(column.key)
    return column


def _is_binary(column_type: sa.types.TypeEngine[Any]) -> bool:
    try:
        return column_type.python_type is bytes
    except NotImplementedError:
        return False


# --------------------------------------------------------------------------- values


def json_value(value: Any) -> Any:
    """A database value as JSON can hold it: dates in ISO 8601, bytes in base64, decimals as text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, timedelta):
        return f"PT{value.total_seconds():g}S"
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    return str(value)  # Decimal, UUID, enums, anything else a driver returns


def csv_value(value: Any) -> str:
    """A database value as one CSV cell: as in JSON, NULL empty, nested values as JSON text."""
    converted = json_value(value)
    if converted is None:
        return ""
    if isinstance(converted, bool):
        return "true" if converted else "false"
    if isinstance(converted, (dict, list)):
        return json.dumps(converted, ensure_ascii=False)
    return str(converted)


# The fast paths below give what json_value and csv_value give, without a call per value: the
# encoder converts only what JSON cannot hold, and the csv module writes these types as they are.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=json_value)
_AS_IS = frozenset({str, int, float, type(None)})


def _json_object(columns: Sequence[str], row: Sequence[Any]) -> str:
    values = dict(zip(columns, row, strict=True))
    try:
        return _ENCODER.encode(values)
    except ValueError:  # NaN or infinity: JSON has no such number
        return _ENCODER.encode({key: json_value(value) for key, value in values.items()})


# --------------------------------------------------------------------------- writing


def write_json(
    archive: StreamingArchive, name: str, columns: Sequence[str], batches: Iterator[Batch]
) -> Generator[bytes, None, int]:
    """Write the rows of ``batches`` as a JSON array of objects, one per line; yield archive bytes
    as they come. The array is never built in memory; the count of rows is the return value."""
    count = 0
    with archive.text_entry(name, large=True) as out:
        out.write("[")
        for batch in batches:
            for row in batch:
                out.write(("\n" if not count else ",\n") + _json_object(columns, row))
                count += 1
                if archive.ready():
                    yield archive.take()
        out.write("\n]\n")
    return count


def write_csv(
    archive: StreamingArchive, name: str, columns: Sequence[str], batches: Iterator[Batch]
) -> Generator[bytes, None, int]:
    """Write a header and the rows of ``batches`` as CSV (RFC 4180); the count of rows is the
    return value."""
    count = 0
    with archive.text_entry(name, large=True) as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for batch in batches:
            for row in batch:
                writer.writerow([value if type(value) in _AS_IS else csv_value(value) for value in row])
                count += 1
                if archive.ready():
                    yield archive.take()
    return count
