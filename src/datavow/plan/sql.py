"""The SQL every right shares: a step's table as the database defines it, and the WHERE clauses
that select the person's rows in it.

A selection becomes ``identity column IN (values) OR link columns IN (values found upstream)``,
within the tenant when the step is scoped. Values are always bound parameters. How a large set
of values travels depends on the database: PostgreSQL takes one array per column
(``col = ANY(:array)``, or ``(a, b) IN (SELECT unnest(:a), unnest(:b))``); SQLite a JSON array
(``col IN (SELECT value FROM json_each(:json))``) once a list passes 1,000 values; others lists of
at most 1,000 values OR-ed together. Only when a selection needs more parameters than one
statement may carry does it become several clauses, and those never overlap, so an export never
writes a row twice and an erasure never hashes a hash.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import NoSuchTableError
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from datavow.connectors.databases import catalogue_of
from datavow.connectors.sql import translate_errors
from datavow.datamap.load import LoadedMap
from datavow.errors import ErrorKind, PlanError, RequestError, shown
from datavow.plan.identities import Form
from datavow.plan.matching import column_form
from datavow.plan.model import Selection, Step

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import ARRAY

# Values per IN list; some databases plan long lists badly or refuse them.
IN_LIST_SIZE = 1000
# Bound parameters one statement may carry, by dialect: SQLite allows 32,766, MariaDB's prepared
# statements 65,535, SQL Server 2,100. PostgreSQL needs one per column (arrays), so never runs out.
PARAMETER_BUDGET = {"sqlite": 30_000, "mysql": 50_000, "mariadb": 50_000, "postgresql": 1_000_000}
DEFAULT_PARAMETER_BUDGET = 2_000
# json_each is built into SQLite from 3.38 on.
_SQLITE_JSON = sqlite3.sqlite_version_info >= (3, 38, 0)
_INTEGER = re.compile(r"[+-]?[0-9]+")

# --------------------------------------------------------------------------- reflection


def reflect_table(loaded: LoadedMap, step: Step, connection: sa.Connection) -> sa.Table:
    """The step's table as the database defines it (columns, types, primary key), reflected once
    per database and kept in its catalogue (see :mod:`datavow.connectors.databases`).

    A kept table that lacks a column the step uses is reflected again first: the column may have
    come back since. Raises :class:`PlanError` when the table, or a column the step uses, is not in
    the database.
    """
    table = reflected(connection, step.schema, step.table[1], system=step.table[0])
    needed = [
        *(column for columns in step.identities.values() for column in columns),
        *(column for link in step.links for column in link.columns),
        *step.reads,
        *step.key,
        *([step.tenant_column] if step.tenant_column else []),
    ]
    missing = sorted({column for column in needed if column not in table.c})
    catalogue = catalogue_of(connection)
    if missing and catalogue is not None and catalogue.table(step.schema, step.table[1]) is table:
        catalogue.forget()
        table = reflected(connection, step.schema, step.table[1], system=step.table[0])
        missing = sorted({column for column in needed if column not in table.c})
    if missing:
        where = loaded.locate("systems", step.table[0], "tables", step.table[1])
        raise PlanError(
            f"{f'{where}: ' if where else ''}{step.label} has no column {', '.join(missing)} in the database — "
            "compare the data map with the database (its drift check), then fix the map or the table",
            kind=ErrorKind.SCHEMA,
        )
    return table


def reflected(connection: sa.Connection, schema: str | None, name: str, *, system: str) -> sa.Table:
    """Table ``name`` of ``schema`` on this connection's database, from its catalogue when known."""
    catalogue = catalogue_of(connection)
    if catalogue is not None:
        kept = catalogue.table(schema, name)
        if kept is not None:
            return kept
    # Each table in a metadata of its own: reflecting needs no lock, and references are not followed.
    with translate_errors(connection.engine.url, system):
        try:
            table = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=connection, resolve_fks=False)
        except NoSuchTableError as exc:
            where = f"schema '{schema}'" if schema else "the default schema"
            raise PlanError(
                f"{system}.{name} is not a table in {where} of system '{system}' — "
                "compare the data map with the database (its drift check), then fix the map or the table",
                kind=ErrorKind.SCHEMA,
            ) from exc
    table.info["dialect"] = connection.dialect.name  # what its columns' types mean (see value_range)
    return table if catalogue is None else catalogue.keep_table(schema, name, table)


# --------------------------------------------------------------------------- selection


def selection_clauses(
    table: sa.Table, selection: Selection, dialect_name: str, *, tenant: object | None = None
) -> Iterator[ColumnElement[bool]]:
    """WHERE clauses whose union is exactly the rows ``selection`` selects, within the tenant.

    Usually one; several only when the values need more parameters than one statement can carry
    (then no row matches two of them). Nothing when the selection is empty: there are no rows.
    ``tenant`` defaults to ``selection.tenant``; a scoped step without a tenant is refused.
    """
    step = selection.step
    scope = _tenant_clause(table, step, tenant if tenant is not None else selection.tenant)
    pieces = [_Piece(table, step, columns, values, dialect_name) for columns, values in selection.conditions.items()]
    pieces = sorted((piece for piece in pieces if piece.values), key=lambda piece: piece.cost)
    if not pieces:
        return
    budget = PARAMETER_BUDGET.get(dialect_name, DEFAULT_PARAMETER_BUDGET)
    if sum(piece.cost for piece in pieces) <= budget:
        yield _within(sa.or_(*(piece.match() for piece in pieces)), scope)
        return
    yield from _split(pieces, budget, scope, step)


def conditions_match(
    table: sa.Table, step: Step, conditions: Mapping[tuple[str, ...], set[tuple[object, ...]]], dialect_name: str
) -> ColumnElement[bool] | None:
    """One expression, true for the rows any of ``conditions`` selects (no tenant, never split);
    None when no condition has a value."""
    pieces = [_Piece(table, step, columns, values, dialect_name) for columns, values in conditions.items()]
    matches = [piece.match() for piece in pieces if piece.values]
    return sa.or_(*matches) if matches else None


def _split(
    pieces: list[_Piece], budget: int, scope: ColumnElement[bool] | None, step: Step
) -> Iterator[ColumnElement[bool]]:
    """Clauses within the budget that never overlap: small conditions together, then the large
    ones in chunks, each excluding the rows an earlier clause took."""
    earlier: list[ColumnElement[bool]] = []
    earlier_cost = 0
    group: list[_Piece] = []
    for piece in pieces:
        if earlier_cost + sum(p.cost for p in group) + piece.cost <= budget:
            group.append(piece)
            continue
        if group:
            yield _within(_excluding(sa.or_(*(p.match() for p in group)), earlier), scope)
            earlier.extend(p.match() for p in group)
            earlier_cost += sum(p.cost for p in group)
            group = []
        room = (budget - earlier_cost) // len(piece.columns)
        if room < 1:
            raise RequestError(
                f"{step.label}: the person's rows are selected by more values than a statement on this "
                "database can carry, in more than one way — run the request for fewer people at a time"
            )
        for chunk in _batched(piece.values, room):
            yield _within(_excluding(piece.match(chunk), earlier), scope)
        earlier.append(piece.match())
        earlier_cost += piece.cost
    if group:
        yield _within(_excluding(sa.or_(*(p.match() for p in group)), earlier), scope)


def _within(clause: ColumnElement[bool], scope: ColumnElement[bool] | None) -> ColumnElement[bool]:
    return clause if scope is None else sa.and_(clause, scope)


def _excluding(clause: ColumnElement[bool], earlier: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    if not earlier:
        return clause
    # coalesce: a NULL in an earlier condition's column means "not taken there", not "unknown"
    return sa.and_(clause, sa.not_(sa.func.coalesce(sa.or_(*earlier), sa.false(), type_=sa.Boolean)))


def _tenant_clause(table: sa.Table, step: Step, tenant: object | None) -> ColumnElement[bool] | None:
    if step.tenant_column is None:
        return None
    column = table.c[step.tenant_column]
    return column == sa.bindparam(None, tenant_value(table, step, tenant), type_=column.type)


def tenant_value(table: sa.Table, step: Step, tenant: object | None) -> object:
    """``tenant`` as the scoped step's tenant column holds it; an error when there is none, or when
    the column cannot hold it (text for a number column)."""
    assert step.tenant_column is not None
    if tenant is None:
        raise PlanError(f"{step.label} is scoped to a tenant, but no tenant was given — pass the plan's tenant")
    column = table.c[step.tenant_column]
    value = typed_value(column, tenant)
    if value is NO_MATCH:
        raise unfit_tenant(tenant, f"{step.label}.{step.tenant_column}", column)
    return value


def unfit_tenant(tenant: object, where: str, column: ColumnElement[Any]) -> RequestError:
    """The error for a tenant that no row of ``column`` (``where``, as the map names it) can hold."""
    return RequestError(
        f"tenant {shown(tenant)} cannot be a value of {where}, which holds {holds(column)}",
        kind=ErrorKind.INVALID,
        field="tenant",
    )


class _NoMatch:
    """A value no row of the column can hold (text that is not a number, for a number column)."""


NO_MATCH = _NoMatch()  # see typed_value


def typed_value(column: ColumnElement[Any], value: object) -> object:
    """``value`` as ``column`` holds it: a number given as text for a number column, a number for a
    text column; ``NO_MATCH`` when no row of the column can hold it (text that is not a number, a
    number or text beyond what the column's type holds, see :func:`value_range`). Comparing a
    column with such a value would make some databases refuse the statement, and some drivers raise."""
    return _converter(column.type, dialect_of(column))(value)


def dialect_of(element: ColumnElement[Any] | sa.Table) -> str | None:
    """The database a reflected table, or a column of one, is in (:func:`reflected` notes it on the
    table); None when not known."""
    table = element if isinstance(element, sa.Table) else getattr(element, "table", None)
    while table is not None and not isinstance(table, sa.Table):
        table = getattr(table, "element", None)  # an alias of the table
    return None if table is None else table.info.get("dialect")


#: The whole numbers every database datavow talks to keeps in a column of numbers, at most.
INT64 = (-(2**63), 2**63 - 1)


def value_range(column_type: sa.types.TypeEngine[Any], dialect: str | None) -> tuple[int, int] | int | None:
    """What a column of ``column_type`` can hold: the lowest and highest whole number of a number
    column, the most characters of a text column of bounded length, None when unbounded.

    PostgreSQL holds a column's values to its type and refuses to compare a value beyond it
    ("integer out of range"): SMALLINT in 16 bits, INTEGER in 32, BIGINT in 64. SQLite keeps every
    integer in 64 bits and any text in any column, whatever the type says; MariaDB's UNSIGNED
    columns hold 0 to 2**64 - 1 at most. Where the database is not known, 64 bits.
    """
    if isinstance(column_type, sa.Integer):
        if dialect == "postgresql":
            small, big = isinstance(column_type, sa.SmallInteger), isinstance(column_type, sa.BigInteger)
            bits = 16 if small else 64 if big else 32
            return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        return (0, 2**64 - 1) if getattr(column_type, "unsigned", False) else INT64
    if isinstance(column_type, sa.String) and column_type.length and dialect not in (None, "sqlite"):
        return int(column_type.length)
    return None


def holds(column: ColumnElement[Any]) -> str:
    """What ``column`` holds, in words: for a message about a value it cannot hold."""
    bound = value_range(column.type, dialect_of(column))
    if isinstance(bound, tuple):
        return f"whole numbers from {bound[0]:,} to {bound[1]:,}"
    if isinstance(bound, int):
        return f"text of at most {bound:,} characters"
    return f"values of type {column.type}"


def compared_type(table: sa.Table, step: Step, column: str) -> sa.types.TypeEngine[Any]:
    """The type of :func:`compared`, without building the expression."""
    return _NORMAL_FORM if compared_form(table, step, column) else table.c[column].type


_NORMAL_FORM = sa.String()


def compared(table: sa.Table, step: Step, column: str) -> ColumnElement[object]:
    """The column as the step compares it: an identity column in its normal form (see
    :mod:`datavow.plan.matching` and :func:`datavow.plan.identities.normal_forms`), any other column
    as it is."""
    form = compared_form(table, step, column)
    return table.c[column] if form is None else column_form(table.c[column], form)


def compared_form(table: sa.Table, step: Step, column: str) -> Form | None:
    """How ``column`` is compared: its identity's form, except that a text or national id identity
    kept in a column of numbers is compared as the number it is (a value converts to it)."""
    form = step.normalise.get(column)
    if form in ("text", "national_id") and not isinstance(table.c[column].type, sa.String):
        return None
    return form


class _Piece:
    """One condition of a selection (columns IN values), as the database takes it."""

    def __init__(
        self,
        table: sa.Table,
        step: Step,
        columns: tuple[str, ...],
        values: set[tuple[object, ...]],
        dialect: str,
    ) -> None:
        self.columns = columns
        self.expressions = [compared(table, step, column) for column in columns]
        self.values = typed_rows([expression.type for expression in self.expressions], values, dialect)
        self.dialect = dialect
        if dialect == "postgresql":
            self.cost = len(columns)
        elif self._as_json(self.values):
            self.cost = 1
        else:
            self.cost = len(columns) * len(self.values)

    def _as_json(self, values: Sequence[tuple[object, ...]]) -> bool:
        return (
            self.dialect == "sqlite"
            and _SQLITE_JSON
            and len(values) > IN_LIST_SIZE
            and all(isinstance(v, int | str) for row in values for v in row)
        )

    def match(self, values: list[tuple[object, ...]] | None = None) -> ColumnElement[bool]:
        rows = self.values if values is None else values
        if self.dialect == "postgresql":
            arrays = [
                sa.bindparam(None, [row[i] for row in rows], type_=array_of(expression.type))
                for i, expression in enumerate(self.expressions)
            ]
            return array_match(self.expressions, arrays)
        if self._as_json(rows):
            if len(self.expressions) == 1:
                document = _json_each([row[0] for row in rows])
                return self.expressions[0].in_(sa.select(document.c.value))
            document = _json_each([list(row) for row in rows])
            fields = (sa.func.json_extract(document.c.value, f"$[{i}]") for i in range(len(self.expressions)))
            return sa.tuple_(*self.expressions).in_(sa.select(*fields))
        lists = _batched(rows, IN_LIST_SIZE)
        if len(self.expressions) == 1:
            return sa.or_(*(self.expressions[0].in_([row[0] for row in chunk]) for chunk in lists))
        return sa.or_(*(sa.tuple_(*self.expressions).in_(chunk) for chunk in lists))


def array_of(element: sa.types.TypeEngine[Any]) -> ARRAY[Any]:
    """A PostgreSQL array of ``element``; of text where reflection did not know the column's type
    (``bpchar`` as pg_dump writes a ``character`` key, a domain): PostgreSQL compares those with
    text, and an array of an unknown type cannot be written in SQL at all."""
    # imported here: a request on SQLite or MariaDB never loads the PostgreSQL dialect
    from sqlalchemy.dialects.postgresql import ARRAY

    return ARRAY(sa.Text() if isinstance(element, sa.types.NullType) else element)


def array_match(
    expressions: Sequence[ColumnElement[object]], arrays: Sequence[BindParameter[Any]]
) -> ColumnElement[bool]:
    """PostgreSQL: the columns' values are among ``arrays`` (one array per column, in step)."""
    if len(arrays) == 1:
        return expressions[0] == sa.any_(arrays[0])
    return sa.tuple_(*expressions).in_(sa.select(*(sa.func.unnest(array) for array in arrays)))


def _batched(values: Sequence[tuple[object, ...]], size: int) -> Iterator[list[tuple[object, ...]]]:
    """``values`` in lists of at most ``size`` (itertools.batched is Python 3.12)."""
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _json_each(values: list[object]) -> sa.TableValuedAlias:
    """SQLite's json_each over ``values``, bound as one JSON parameter."""
    return sa.func.json_each(sa.bindparam(None, json.dumps(values), type_=sa.String)).table_valued("value")


def typed_rows(
    types: Sequence[sa.types.TypeEngine[Any]], values: Collection[tuple[object, ...]], dialect: str | None = None
) -> list[tuple[object, ...]]:
    """The value tuples as columns of ``types`` (in a database of ``dialect``) hold them, dropping
    those no row can match (a NULL, text in a number column, a number beyond the column's type)."""
    if len(types) == 1:
        return [(value,) for value in typed_column(types[0], values, dialect)]
    converters = [_converter(column_type, dialect) for column_type in types]
    width = len(types)
    typed: dict[tuple[object, ...], None] = {}
    for row in values:
        if len(row) != width:
            continue
        converted = tuple(convert(v) for convert, v in zip(converters, row, strict=True))
        if not any(v is None or v is NO_MATCH for v in converted):
            typed[converted] = None
    return list(typed)


def typed_column(
    column_type: sa.types.TypeEngine[Any], values: Collection[tuple[object, ...]], dialect: str | None = None
) -> list[object]:
    """:func:`typed_rows` of one column, as a list of values. A batch binds tens of thousands of
    values, most of them already of the column's Python type: those are taken as they are in one
    pass (and checked against the column's bounds at once), and only the others are converted one
    by one."""
    try:
        python_type: type | None = column_type.python_type
    except NotImplementedError:
        python_type = None
    if python_type is not int and python_type is not str:
        python_type = None
    kept: dict[object, None] = dict.fromkeys(row[0] for row in values if len(row) == 1 and type(row[0]) is python_type)
    convert = _converter(column_type, dialect)
    if kept and python_type is not None and not _all_fit(column_type, dialect, kept):
        kept = dict.fromkeys(value for value in kept if convert(value) is not NO_MATCH)
    if len(kept) < len(values):
        for row in values:
            if len(row) != 1 or type(row[0]) is python_type:
                continue
            value = convert(row[0])
            if value is not None and value is not NO_MATCH:
                kept[value] = None
    return list(kept)


def _all_fit(column_type: sa.types.TypeEngine[Any], dialect: str | None, values: dict[Any, None]) -> bool:
    """Whether every one of ``values`` (all of the column's Python type) is within its bounds."""
    bound = value_range(column_type, dialect)
    if isinstance(bound, int):  # text of bounded length
        return max(map(len, values)) <= bound
    if isinstance(next(iter(values)), int):
        low, high = bound or INT64
        return bool(low <= min(values) and max(values) <= high)
    return True


def _converter(column_type: sa.types.TypeEngine[object], dialect: str | None) -> Callable[[object], object]:
    """How a value becomes one a column of ``column_type`` holds, or ``NO_MATCH``; its type and
    bounds looked up once (a batch has many values)."""
    try:
        python_type = column_type.python_type
    except NotImplementedError:
        return _as_is
    bound = value_range(column_type, dialect)
    if python_type is int:
        low, high = bound if isinstance(bound, tuple) else INT64
        return lambda value: value if type(value) is int and low <= value <= high else _to_int(value, low, high)
    if python_type is str:
        longest = bound if isinstance(bound, int) else None
        return lambda value: _to_text(value, longest)
    return _as_is


def _to_int(value: object, low: int, high: int) -> object:
    if isinstance(value, str):
        text = value.strip()
        if not _INTEGER.fullmatch(text) or len(text.lstrip("+-").lstrip("0")) > 20:  # longer: out of any range
            return NO_MATCH
        value = int(text)
    if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
        return NO_MATCH
    return value


def _to_text(value: object, longest: int | None) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if longest is not None and isinstance(value, str) and len(value) > longest:
        return NO_MATCH
    return value


def _as_is(value: object) -> object:
    return value
