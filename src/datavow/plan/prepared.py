"""Statements built once and run many times: how a request reads PostgreSQL.

Two requests for two people run the same statements with different values. On PostgreSQL every
condition binds one array per column however many values it has, so a step's WHERE clause takes
one shape per set of conditions that have values. Here a statement is built and compiled once per
shape and then run as the driver's own SQL, which psycopg prepares on the server after a few
runs. Building and compiling a SQLAlchemy statement costs about a millisecond in Python, more than
an indexed lookup takes in the database, and one request runs a dozen statements.

Changes take the same way: an erasure's statements for one step are put together once per shape
(:func:`built_once`), each compiled once, and run on the driver's cursor.

Other databases bind lists whose length follows the values, and take the general way
(:func:`datavow.plan.sql.selection_clauses`); the rows selected are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import compiler as sa_compiler
from sqlalchemy.sql.elements import ColumnElement

from datavow.connectors.databases import Catalogue, catalogue_of
from datavow.plan.model import Step
from datavow.plan.sql import (
    array_match,
    array_of,
    compared,
    compared_type,
    dialect_of,
    tenant_value,
    typed_column,
    typed_rows,
)

Conditions = Mapping[tuple[str, ...], set[tuple[object, ...]]]
Key = tuple[Hashable, ...]
T = TypeVar("T")


def built_once(connection: Connection, key: Key, owner: object, build: Callable[[], T]) -> T:
    """``build()``, made once per ``key`` and ``owner`` (the object the statements are built from,
    compared by identity: the loaded map) and kept beside the compiled statements in the database's
    catalogue, which forgets both when the schema changes: putting an erasure's statements together
    costs more than running them. ``key`` must name everything else the result depends on. An error
    is raised each time, never kept."""
    catalogue = catalogue_of(connection)
    full_key = ("built", id(owner), *key)
    entry = catalogue.statement(full_key) if catalogue is not None else None
    if entry is not None and entry[0] is owner:  # a map that is gone may leave its id to another
        return cast(T, entry[1])
    made = build()
    if catalogue is not None:
        catalogue.keep_statement(full_key, (owner, made))
    return made


def prepared(connection: Connection) -> bool:
    """Whether reads on this connection take the prepared way (PostgreSQL)."""
    return connection.dialect.name == "postgresql"


@dataclass(frozen=True)
class Bound:
    """A step's conditions on PostgreSQL: the shape of their WHERE clause and the values it binds.

    ``params`` names each array ``<prefix><condition>_<column>`` and the tenant ``<prefix>t``, so
    that several bound selections can share one statement under different prefixes.
    """

    table: sa.Table
    step: Step
    conditions: tuple[tuple[str, ...], ...]  # the conditions with values, in a fixed order
    scoped: bool  # within the tenant
    prefix: str
    params: dict[str, object]

    @property
    def key(self) -> Key:
        """What the clause depends on: two bound selections with equal keys share a statement."""
        forms = tuple(sorted(self.step.normalise.items()))
        return (self.table, self.step.tenant_column, forms, self.conditions, self.scoped, self.prefix)

    def clause(self) -> ColumnElement[bool]:
        """The WHERE clause with named parameters: any condition matches, within the tenant."""
        matches = []
        for n, columns in enumerate(self.conditions):
            expressions = [compared(self.table, self.step, column) for column in columns]
            arrays = [
                sa.bindparam(f"{self.prefix}{n}_{i}", type_=array_of(expression.type))
                for i, expression in enumerate(expressions)
            ]
            matches.append(array_match(expressions, arrays))
        clause = sa.or_(*matches)
        if not self.scoped:
            return clause
        assert self.step.tenant_column is not None
        column = self.table.c[self.step.tenant_column]
        return sa.and_(clause, column == sa.bindparam(f"{self.prefix}t", type_=column.type))


def bind(
    table: sa.Table,
    step: Step,
    conditions: Conditions,
    tenant: object | None,
    *,
    prefix: str = "s",
    scoped: bool = True,
) -> Bound | None:
    """``conditions`` of ``step`` (within ``tenant`` when the step is scoped, unless ``scoped`` is
    false: a condition that only tells rows apart) as a :class:`Bound`; None when no value could
    match a row (the selection has no rows)."""
    chosen: list[tuple[str, ...]] = []
    params: dict[str, object] = {}
    dialect = dialect_of(table)
    for columns in sorted(conditions):
        types = [compared_type(table, step, column) for column in columns]
        if len(columns) == 1:
            arrays = [typed_column(types[0], conditions[columns], dialect)]
        else:
            rows = typed_rows(types, conditions[columns], dialect)
            arrays = [[row[i] for row in rows] for i in range(len(columns))]
        if not arrays[0]:
            continue
        for i, array in enumerate(arrays):
            params[f"{prefix}{len(chosen)}_{i}"] = array
        chosen.append(columns)
    if not chosen:
        return None
    scoped = scoped and step.tenant_column is not None
    if scoped:
        params[f"{prefix}t"] = tenant_value(table, step, tenant)
    return Bound(table, step, tuple(chosen), scoped, prefix, params)


@dataclass(frozen=True)
class Query:
    """One statement to run: ``build`` makes it, once per ``key`` (which must name everything the
    statement depends on besides the values); ``params`` are this run's values."""

    key: Key
    build: Callable[[], sa.ClauseElement]
    params: Mapping[str, object]


def execute(
    connection: Connection, key: Key, build: Callable[[], sa.ClauseElement], params: Mapping[str, object]
) -> Sequence[Sequence[Any]]:
    """The rows of one :class:`Query`."""
    (rows,) = execute_all(connection, [Query(key, build, params)])
    return rows


def execute_all(connection: Connection, queries: Sequence[Query]) -> list[Sequence[Sequence[Any]]]:
    """The rows of each of ``queries``, which must not depend on one another: psycopg sends them
    all before it waits for the first answer (pipeline mode), so they cost one round trip.
    See :func:`execute_counted`."""
    return [rows for rows, _ in execute_counted(connection, queries)]


def execute_counted(connection: Connection, queries: Sequence[Query]) -> list[tuple[Sequence[Sequence[Any]], int]]:
    """The rows of each of ``queries`` (none for a change) and the rows it counted (a change's
    rows changed), run in the order given. Their values must not depend on one another's results;
    one may change what a later one sees (the server runs them in turn, in the connection's
    transaction), but they all go to the server before the first answer is read.

    The statements go to the driver's cursor in the connection's transaction, and their rows come
    back as the driver gives them: SQLAlchemy's result objects would cost more than the lookup.
    Result values get their column types' processing, as SQLAlchemy would give them; ``params``
    go to the driver as they are (no bind processing), so they must be values the driver takes.
    Listeners of the connection's cursor events (tracing, statement counts) still see each one;
    driver errors are raised as SQLAlchemy's, as any other statement's would be.
    """
    if not queries:
        return []
    dialect = connection.dialect
    catalogue = catalogue_of(connection)
    runs = [(_compiled_sql(dialect, query, catalogue), query.params) for query in queries]
    driver = connection.connection.dbapi_connection
    sql, values = "", {}
    cursors = []
    try:
        with driver.pipeline() if len(runs) > 1 and hasattr(driver, "pipeline") else nullcontext():  # type: ignore[union-attr]
            for (sql, defaults, _), params in runs:
                values = {**defaults, **params}
                cursor = connection.connection.cursor()
                cursors.append(cursor)
                connection.dispatch.before_cursor_execute(connection, cursor, sql, values, None, False)
                cursor.execute(sql, values)
                connection.dispatch.after_cursor_execute(connection, cursor, sql, values, None, False)
        results = [
            (_processed(cursor.fetchall() if cursor.description is not None else [], processors), cursor.rowcount)
            for cursor, ((_, _, processors), _) in zip(cursors, runs, strict=True)
        ]
    except dialect.loaded_dbapi.Error as exc:
        if catalogue is not None:  # the driver's cursor bypasses the engine's own error hook
            catalogue.notice(exc)
        raise sa.exc.DBAPIError.instance(sql, values, exc, dialect.loaded_dbapi.Error) from exc
    finally:
        for cursor in cursors:
            cursor.close()
    return results


Processors = tuple[Callable[[Any], Any] | None, ...] | None  # per result column, None where none has one


Compiled = tuple[str, dict[str, Any], "Processors"]


def _compiled_sql(dialect: sa.Dialect, query: Query, catalogue: Catalogue | None) -> Compiled:
    """The query's SQL for ``dialect``, the values it binds by default (limits, literals), and the
    result processors of its columns (a type that converts what the driver returns); compiled once
    per key and kept in the database's catalogue when the connection has one."""
    full_key = (dialect.name, dialect.server_version_info, *query.key)
    entry: Compiled | None = catalogue.statement(full_key) if catalogue is not None else None
    if entry is None:
        statement = query.build()
        compiled = statement.compile(dialect=dialect)
        processors: Processors = None
        if isinstance(statement, sa.Select):
            found = tuple(column.type.result_processor(dialect, None) for column in statement.selected_columns)
            processors = found if any(found) else None
        entry = (_binary_arrays(str(compiled), compiled, dialect), dict(compiled.params), processors)
        if catalogue is not None:
            catalogue.keep_statement(full_key, entry)
    return entry


def _binary_arrays(sql: str, compiled: sa_compiler.Compiled, dialect: sa.Dialect) -> str:
    """psycopg's SQL with each array parameter sent in the binary format (``%(name)b``): a batch
    binds arrays of tens of thousands of values to many statements, and the text format quotes
    and escapes each value in Python, several times the cost of the binary one. Each array is
    typed in the SQL (``CAST(... AS VARCHAR[])``), so the server converts it as it would the text."""
    if (
        dialect.driver != "psycopg"
        or dialect.paramstyle != "pyformat"
        or not isinstance(compiled, sa_compiler.SQLCompiler)
    ):
        return sql
    for name, parameter in compiled.binds.items():
        if isinstance(parameter.type, sa.ARRAY):
            sql = sql.replace(f"%({name})s", f"%({name})b")
    return sql


def _processed(rows: Sequence[Sequence[Any]], processors: Processors) -> Sequence[Sequence[Any]]:
    """The rows as SQLAlchemy would give their values (e.g. a UTC datetime type's conversion)."""
    if processors is None:
        return rows
    return [tuple(value if p is None else p(value) for p, value in zip(processors, row, strict=True)) for row in rows]
