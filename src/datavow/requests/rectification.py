"""Rectification (Art. 16): a corrected value, checked against its category, applied everywhere it lives.

A correction names a data category (``user.contact.email``: every field of that category in every
table the person's request selected, across systems) or one field (``system.table.column``). The
new value is validated for its category (an e-mail must be an e-mail) and for each column it goes
into, all before anything changes.

The person's rows are found once per table, inside the system's transaction and before any field
changes: their primary keys are read (and locked where the database can) from the discovery's
selection, and every field is then corrected on exactly those keys. Correcting the identity column
that found the person (the e-mail) must not lose the rows for the fields corrected after it. Each
field takes one ``UPDATE`` per WHERE clause, one transaction per system, touching only rows whose
value differs: an empty field stays empty (correcting is not completing), and running the same
rectification twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from datavow.changes.systems import (
    Committing,
    Reflector,
    SystemsResult,
    clauses,
    commit,
    key_columns,
    mapped_column,
    prepare,
    selected_steps,
)
from datavow.changes.values import as_column_value
from datavow.datamap.load import LoadedMap
from datavow.errors import ErrorKind, RequestError
from datavow.plan.model import Discovery, Selection, Step, TableKey

_EMAIL = re.compile(r"^[^@\s]+@[^@\s.][^@\s]*\.[^@\s.]{2,}$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]+$")


def _email(value: str, now: datetime) -> object:
    if not _EMAIL.match(value) or ".." in value:
        raise ValueError(f"'{value}' is not an e-mail address")
    return value


def _phone(value: str, now: datetime) -> object:
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE.match(value) or not 6 <= digits <= 15:
        raise ValueError(f"'{value}' is not a phone number (6 to 15 digits, optionally '+' and separators)")
    return value


def _date_of_birth(value: str, now: datetime) -> object:
    try:
        born = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a date — write it as YYYY-MM-DD") from None
    if born > now.date():
        raise ValueError(f"{value} is in the future")
    return born


def _text(value: str, now: datetime) -> object:
    return value  # non-empty is checked for every category


# Longest matching category prefix wins; every other category takes any non-empty text.
VALIDATORS: dict[str, Callable[[str, datetime], object]] = {
    "user.contact.email": _email,
    "user.contact.phone_number": _phone,
    "user.demographic.date_of_birth": _date_of_birth,
    "user.contact.address.postal_code": _text,
}


def validate(category: str, value: str, now: datetime) -> object:
    """The corrected value for ``category``, as Python holds it; RequestError with the reason."""
    text = value.strip()
    if not text:
        raise RequestError(
            f"the corrected {category} is empty — give the value it should have",
            kind=ErrorKind.INVALID,
            field="corrections",
        )
    parts = category.split(".")
    for end in range(len(parts), 0, -1):
        check = VALIDATORS.get(".".join(parts[:end]))
        if check is not None:
            break
    else:
        check = _text
    try:
        return check(text, now)
    except ValueError as exc:
        raise RequestError(
            f"the corrected {category} is refused: {exc}", kind=ErrorKind.INVALID, field="corrections"
        ) from None


@dataclass
class FieldRectification:
    field: str  # system.table.column
    category: str
    rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "category": self.category, "rows": self.rows}


@dataclass
class RectificationResult(SystemsResult):
    """Per system: done or failed; per field of a committed system: the rows whose value changed."""

    fields: list[FieldRectification]

    @property
    def changed(self) -> int:
        return sum(f.rows for f in self.fields)

    def rows(self, field: str) -> int:
        return sum(f.rows for f in self.fields if f.field == field)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "fields": [f.to_dict() for f in self.fields]}


@dataclass(frozen=True)
class _Target:
    step: Step
    selection: Selection
    column: str
    category: str
    value: object  # as validated, before the column's own type


def rectify(
    loaded: LoadedMap,
    discovery: Discovery,
    engines: Mapping[str, Engine],
    corrections: Mapping[str, str],
    *,
    now: datetime,
    committing: Committing | None = None,
) -> RectificationResult:
    """Apply each correction to every selected row that holds its field(s), in every system
    (``committing`` is told what each system's transaction changed before it commits).

    Raises :class:`RequestError` before any change when a value is invalid, does not fit a column,
    or has nowhere to go; a database error fails that system only.
    """
    if not corrections:
        raise RequestError(
            "no correction given — name a data category or a field and its corrected value",
            kind=ErrorKind.INVALID,
            field="corrections",
        )
    targets = [target for key, value in corrections.items() for target in _targets(loaded, discovery, key, value, now)]

    def build(system: str, reflector: Reflector) -> list[_TableWork]:
        return _table_work(loaded, [t for t in targets if t.step.table[0] == system], reflector)

    prepared, failed = prepare(loaded, engines, discovery, build)

    def run(system: str, work: list[_TableWork], connection: Connection) -> None:
        dialect = connection.dialect.name
        # Every table's rows are pinned before the first UPDATE of the system: a correction of one
        # table never changes which rows another table's selection finds, but pinning all first
        # keeps "find once, then change" true whatever the plan links.
        pinned = [(item, _pin(connection, item)) for item in work]
        for item, rows in pinned:
            for outcome, assign, differs in item.fields:
                for clause in clauses(item.table, rows, dialect):
                    statement = item.table.update().where(clause, differs).values(assign)
                    outcome.rows += connection.execute(statement).rowcount

    def ready(system: str, work: list[_TableWork]) -> None:
        if committing is not None:
            fields = [outcome for item in work for outcome, _, _ in item.fields]
            committing(system, {f.field: f.to_dict() for f in fields}, sum(f.rows for f in fields))

    systems, committed = commit(engines, discovery, prepared, failed, run, ready)
    return RectificationResult(
        systems, [outcome for work in committed for item in work for outcome, _, _ in item.fields]
    )


def _targets(loaded: LoadedMap, discovery: Discovery, key: str, value: str, now: datetime) -> list[_Target]:
    """Where the correction ``key`` goes: one named field, or every field of a category, in the
    tables where discovery found the person's rows."""
    selected = [
        (step, changeable)
        for system in discovery.plan.systems()
        for step, selection in selected_steps(discovery, system)
        if selection.rows and not (changeable := selection.changeable()).is_empty()  # shared rows stay
    ]
    system, _, rest = key.partition(".")
    table_name, _, column = rest.partition(".")
    tables = loaded.model.systems[system].tables if system in loaded.model.systems else {}
    if table_name in tables and column and "." not in column:
        declared = tables[table_name].fields.get(column)
        if declared is None or not declared.category:
            raise RequestError(
                f"{key} is not a personal field in the data map — name a field the map gives a category, or a category",
                kind=ErrorKind.INVALID,
                field="corrections",
            )
        category = declared.category[0]
        found = [(step, sel) for step, sel in selected if step.table == (system, table_name)]
        if not found:
            raise RequestError(
                f"{key}: the request selected no row of {system}.{table_name} — nothing to correct",
                kind=ErrorKind.NOT_FOUND,
                field="corrections",
            )
        corrected = validate(category, value, now)
        return [_Target(step, sel, column, category, corrected) for step, sel in found]
    if not loaded.taxonomy.has_category(key):
        raise RequestError(
            f"'{key}' is neither a data category nor a field of the map — write a category such as "
            "'user.contact.email' or a field as 'system.table.column'",
            kind=ErrorKind.INVALID,
            field="corrections",
        )
    corrected = validate(key, value, now)
    targets = [
        _Target(step, sel, name, key, corrected)
        for step, sel in selected
        for name, declared in loaded.table(*step.table).table.fields.items()
        if key in declared.category
    ]
    if not targets:
        raise RequestError(
            f"no table that holds the person's data has a field of category {key} — nothing to correct",
            kind=ErrorKind.NOT_FOUND,
            field="corrections",
        )
    return targets


@dataclass
class _TableWork:
    """One table's corrections: its rows as discovery selected them, and each field's new value."""

    step: Step
    selection: Selection
    table: sa.Table
    # per field: its outcome, the SET it makes and the condition "the value differs"
    fields: list[tuple[FieldRectification, dict[str, object], sa.ColumnElement[bool]]]


def _table_work(loaded: LoadedMap, targets: list[_Target], reflector: Reflector) -> list[_TableWork]:
    """The targets of one system, grouped by table in the order first named."""
    work: dict[TableKey, _TableWork] = {}
    for target in targets:
        table = reflector.step(target.step)
        outcome, assign, differs = _field(loaded, target, table, reflector.connection.dialect.name)
        item = work.setdefault(target.step.table, _TableWork(target.step, target.selection, table, []))
        item.fields.append((outcome, assign, differs))
    for item in work.values():
        # The columns that find the rows (the primary key, else the selection's own columns) are
        # corrected last, so that every other field still finds the rows by the values they had.
        finding = set(item.step.key) or {column for columns in item.selection.conditions for column in columns}
        item.fields.sort(key=lambda entry: bool(finding & set(entry[1])))
    return list(work.values())


def _pin(connection: Connection, item: _TableWork) -> Selection:
    """The rows ``item.selection`` selects now, as a selection by primary key that no correction
    can move; the selection itself when the table has no key."""
    if not item.step.key:
        return item.selection
    key = [item.table.c[name] for name in item.step.key]
    dialect = connection.dialect.name
    found: set[tuple[object, ...]] = set()
    for clause in clauses(item.table, item.selection, dialect):
        query = sa.select(*key).where(clause)
        if dialect != "sqlite":  # SQLite locks the whole database on the first write anyway
            query = query.with_for_update()
        found.update(tuple(row) for row in connection.execute(query))
    return Selection(item.step, {item.step.key: found}, rows=len(found), tenant=item.selection.tenant)


def _field(
    loaded: LoadedMap, target: _Target, table: sa.Table, dialect: str
) -> tuple[FieldRectification, dict[str, object], sa.ColumnElement[bool]]:
    """The field's outcome, its SET clause and which rows it changes (those whose value differs)."""
    label = f"{target.step.label}.{target.column}"
    if target.column in key_columns(loaded, target.step.table):
        raise RequestError(
            f"{label} is a key that references use — correct it in the application that owns it",
            kind=ErrorKind.INVALID,
            field="corrections",
        )
    column = mapped_column(table, target.step.label, target.column)
    try:
        value = sa.literal(as_column_value(target.value, column.type), type_=column.type)
    except ValueError as exc:
        raise RequestError(
            f"the corrected {target.category} does not fit {label}: {exc}", kind=ErrorKind.INVALID, field="corrections"
        ) from None
    differs = sa.and_(column.is_not(None), _exactly(column, dialect) != _exactly(value, dialect))
    return FieldRectification(label, target.category), {target.column: value}, differs


def _exactly(expression: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[Any]:
    """``expression`` compared byte for byte: MariaDB's and MySQL's default collations take
    ``Wang`` and ``Wáng`` (or ``wang``) for equal, so a correction of an accent would change
    nothing."""
    if dialect in ("mysql", "mariadb") and isinstance(expression.type, sa.String):
        return sa.cast(expression, sa.LargeBinary)
    return expression
