"""Rectification (Art. 16): a corrected value, checked against its category, applied everywhere it lives.

A correction names a data category (``user.contact.email``: every field of that category in every
table the person's request selected, across systems) or one field (``system.table.column``). The
new value is validated for its category (an e-mail must be an e-mail) and for each column it goes
into, all before anything changes. Each field then takes one ``UPDATE`` per WHERE clause the planner
gives, one transaction per system, touching only rows whose value differs: an empty field stays
empty (correcting is not completing), and running the same rectification twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from datavow.datamap.load import LoadedMap
from datavow.errors import RequestError
from datavow.plan.model import Discovery, Selection, Step
from datavow.requests.erase_systems import (
    Reflector,
    SystemsResult,
    clauses,
    commit,
    key_columns,
    prepare,
    selected_steps,
)
from datavow.requests.erase_values import as_column_value

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
        raise RequestError(f"the corrected {category} is empty — give the value it should have")
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
        raise RequestError(f"the corrected {category} is refused: {exc}") from None


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
) -> RectificationResult:
    """Apply each correction to every selected row that holds its field(s), in every system.

    Raises :class:`RequestError` before any change when a value is invalid, does not fit a column,
    or has nowhere to go; a database error fails that system only.
    """
    if not corrections:
        raise RequestError("no correction given — name a data category or a field and its corrected value")
    targets = [target for key, value in corrections.items() for target in _targets(loaded, discovery, key, value, now)]

    def build(system: str, reflector: Reflector) -> list[tuple[FieldRectification, list[sa.Update]]]:
        return [_updates(loaded, t, reflector) for t in targets if t.step.table[0] == system]

    prepared, failed = prepare(loaded, engines, discovery, build)

    def run(system: str, work: list[tuple[FieldRectification, list[sa.Update]]], connection: Connection) -> None:
        for outcome, statements in work:
            for statement in statements:
                outcome.rows += connection.execute(statement).rowcount

    systems, committed = commit(engines, discovery, prepared, failed, run)
    return RectificationResult(systems, [outcome for work in committed for outcome, _ in work])


def _targets(loaded: LoadedMap, discovery: Discovery, key: str, value: str, now: datetime) -> list[_Target]:
    """Where the correction ``key`` goes: one named field, or every field of a category, in the
    tables where discovery found the person's rows."""
    selected = [
        (step, selection)
        for system in discovery.plan.systems()
        for step, selection in selected_steps(discovery, system)
        if selection.rows
    ]
    system, _, rest = key.partition(".")
    table_name, _, column = rest.partition(".")
    tables = loaded.model.systems[system].tables if system in loaded.model.systems else {}
    if table_name in tables and column and "." not in column:
        declared = tables[table_name].fields.get(column)
        if declared is None or not declared.category:
            raise RequestError(
                f"{key} is not a personal field in the data map — name a field the map gives a category, or a category"
            )
        category = declared.category[0]
        found = [(step, sel) for step, sel in selected if step.table == (system, table_name)]
        if not found:
            raise RequestError(f"{key}: the request selected no row of {system}.{table_name} — nothing to correct")
        corrected = validate(category, value, now)
        return [_Target(step, sel, column, category, corrected) for step, sel in found]
    if not loaded.taxonomy.has_category(key):
        raise RequestError(
            f"'{key}' is neither a data category nor a field of the map — write a category such as "
            "'user.contact.email' or a field as 'system.table.column'"
        )
    corrected = validate(key, value, now)
    targets = [
        _Target(step, sel, name, key, corrected)
        for step, sel in selected
        for name, declared in loaded.table(*step.table).table.fields.items()
        if key in declared.category
    ]
    if not targets:
        raise RequestError(f"no table that holds the person's data has a field of category {key} — nothing to correct")
    return targets


def _updates(loaded: LoadedMap, target: _Target, reflector: Reflector) -> tuple[FieldRectification, list[sa.Update]]:
    label = f"{target.step.label}.{target.column}"
    if target.column in key_columns(loaded, target.step.table):
        raise RequestError(f"{label} is a key that references use — correct it in the application that owns it")
    table = reflector.step(target.step)
    if target.column not in table.c:
        raise RequestError(f"{label} is in the data map but not in the database — run 'datavow check' to see the drift")
    column = table.c[target.column]
    try:
        value = sa.literal(as_column_value(target.value, column.type), type_=column.type)
    except ValueError as exc:
        raise RequestError(f"the corrected {target.category} does not fit {label}: {exc}") from None
    differs = sa.and_(column.is_not(None), column != value)
    where = clauses(table, target.selection, reflector.connection.dialect.name)
    return FieldRectification(label, target.category), [
        table.update().where(clause, differs).values({target.column: value}) for clause in where
    ]
