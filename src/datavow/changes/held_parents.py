"""Rows a held row references: kept while the hold lasts, by erasure and retention alike.

An invoice the law keeps for seven years points at its customer. Deleting that customer would
orphan the invoice (SQLite without foreign keys) or be refused by the foreign key and roll the
whole system back (PostgreSQL, MariaDB). So a delete leaves every row that a held row of its
database references, directly or further down (an invoice line held through its invoice keeps the
invoice, which keeps the customer); the row is kept, and erased field by field where the map says
how. ``datavow check`` names every table where this can happen (:func:`held_parent_conflicts`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from datavow.changes.holds import Reflect, hold_condition
from datavow.datamap.load import LoadedMap
from datavow.datamap.model import Reference, TableErasure
from datavow.plan.model import TableKey


def held_below(
    loaded: LoadedMap,
    where: TableKey,
    table: sa.FromClause,
    reflect: Reflect,
    now: datetime,
    seen: frozenset[TableKey] = frozenset(),
) -> sa.ColumnElement[bool] | None:
    """The rows of ``where`` (reflected as ``table``) that a row of its database references while a
    legal hold keeps that row, or one further down; None when no held table refers to it."""
    seen = seen | {where}
    found: list[sa.ColumnElement[bool]] = []
    for other, _, reference in loaded.references_to(where, same_system=True):
        key = (other.system_name, other.table_name)
        if key in seen:
            continue
        child = reflect(key).alias()
        hold = hold_condition(loaded, key, child, reflect, now)  # type: ignore[arg-type]
        deeper = held_below(loaded, key, child, reflect, now, seen)
        kept = [c for c in (hold.held if hold else None, deeper) if c is not None]
        if kept:
            found.append(sa.exists().where(*_joined(child, table, reference), sa.or_(*kept)))
    return sa.or_(*found) if found else None


def still_referenced(
    loaded: LoadedMap, where: TableKey, table: sa.Table, reflect: Reflect, *, a_row_keeps_itself: bool = False
) -> sa.ColumnElement[bool] | None:
    """The rows of ``where`` that a row of its database still references when the statement runs:
    a row the erasure keeps (an anonymised customer pointing at its address, a held invoice, and so
    on down), or another person's (a customer another customer names as referrer). Deleting such a
    row would orphan the row that points at it, or the foreign key would refuse it and roll the
    whole system back; it is kept instead. Statements run children first, so the rows deleted
    before are gone by then. A row that names itself (its own manager) does not keep itself,
    unless ``a_row_keeps_itself`` (tenant offboarding, as it always counted). None when no declared
    reference points at the table."""
    found: list[sa.ColumnElement[bool]] = []
    for other, _, reference in loaded.references_to(where, same_system=True):
        key = (other.system_name, other.table_name)
        child = reflect(key).alias()
        joined = _joined(child, table, reference)
        if key == where and not a_row_keeps_itself and table.primary_key.columns:
            joined.append(sa.or_(*(child.c[column.name] != column for column in table.primary_key.columns)))
        found.append(sa.exists().where(*joined))
    return sa.or_(*found) if found else None


def _joined(child: sa.FromClause, table: sa.FromClause, reference: Reference) -> list[sa.ColumnElement[bool]]:
    """``child``'s rows that point at ``table``'s row through ``reference``."""
    return [child.c[col] == table.c[to] for col, to in zip(reference.columns, reference.target_columns, strict=True)]


@dataclass(frozen=True)
class HeldParent:
    """A table erasure deletes from that a held table references: its rows can be kept."""

    table: TableKey
    held: TableKey  # the held table (or the one whose held rows lead here)
    reference: str  # the reference's name in the held table


def held_parent_conflicts(loaded: LoadedMap) -> Iterator[HeldParent]:
    """Every table with ``erase: delete`` that a table under a hold references (directly, or
    through a table a held table references in turn), within one system."""
    for ref in loaded.tables():
        if ref.table.hold is None:
            continue
        yield from _parents(loaded, (ref.system_name, ref.table_name), (ref.system_name, ref.table_name), set())


def _parents(loaded: LoadedMap, start: TableKey, here: TableKey, seen: set[TableKey]) -> Iterator[HeldParent]:
    seen.add(here)
    declared = loaded.table(*here)
    for name, reference in declared.table.references.items():
        target = declared.target(reference)
        if target[0] != here[0] or target in seen or target[1] not in loaded.model.systems[target[0]].tables:
            continue
        if loaded.table(*target).table.erase is TableErasure.delete:  # a row that stays keeps its own parents
            yield HeldParent(target, start, name)
            yield from _parents(loaded, start, target, seen)
