"""Parent rows shared with other people: an address that a staff member's row points at too.

A person's rows point at parent rows (their address, their order's shipping address). Those are
the person's data and go into an access package, but when rows that are not the person's point at
the same parent row, it is other people's data as well: an erasure or a rectification must not
change it. Discovery marks them here, per step, with how many other rows point at each; the result
of a request reports them as kept, "shared with N others", naming none of them.

Only the references the map declares are counted: an undeclared table is reported by drift, and
should be declared (or listed under ``ignore:``) before requests are trusted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from datavow.connectors.sql import translate_errors
from datavow.plan.model import TableKey
from datavow.plan.sql import conditions_match, reflected

if TYPE_CHECKING:
    from datavow.plan.discovery import _Run, _State

SharedValues = dict[tuple[str, ...], dict[tuple[object, ...], int]]
_CHUNK = 500  # value tuples per statement: well within every database's parameter limit


def shared_parents(run: _Run, state: _State) -> SharedValues:
    """Of the rows ``state``'s parent links select (and nothing else does), those that rows other
    than the person's point at too, with how many such rows point at each."""
    parent_only = _parent_only_values(state)
    if not parent_only:
        return {}
    shared: SharedValues = {}
    target = state.step.table
    for ref, _, reference in run.loaded.references_to(target, same_system=True):
        source, columns, target_columns = (ref.system_name, ref.table_name), reference.columns, reference.target_columns
        values = parent_only.get(tuple(target_columns))
        if not values:
            continue
        for value, count in _other_rows(run, state, source, tuple(columns), sorted(values, key=repr)):
            found = shared.setdefault(tuple(target_columns), {})
            found[value] = found.get(value, 0) + count
    return shared


def _parent_only_values(state: _State) -> dict[tuple[str, ...], set[tuple[object, ...]]]:
    own = state.conditions(own_only=True)
    values: dict[tuple[str, ...], set[tuple[object, ...]]] = {}
    for link, found in zip(state.step.links, state.links, strict=True):
        if link.direction == "parent" and found:
            values.setdefault(link.columns, set()).update(found - own.get(link.columns, set()))
    return {columns: found for columns, found in values.items() if found}


def _other_rows(
    run: _Run, state: _State, source: TableKey, columns: tuple[str, ...], values: Sequence[tuple[object, ...]]
) -> Iterator[tuple[tuple[object, ...], int]]:
    """Per value of ``columns`` among ``values``: how many rows of ``source`` that are not the
    person's own hold it."""
    connection = state.connection
    mine = run.states.get(source)
    if mine is not None:
        table = mine.table
    else:
        ref = run.loaded.table(*source)
        table = reflected(connection, ref.schema, ref.table_name, system=source[0])
    own: sa.ColumnElement[bool] | None = None
    if mine is not None:
        own = conditions_match(table, mine.step, mine.conditions(own_only=True), connection.dialect.name)
    keys = [table.c[column] for column in columns]
    with translate_errors(connection.engine.url, source[0]):
        for start in range(0, len(values), _CHUNK):
            chunk = values[start : start + _CHUNK]
            pointing: sa.ColumnElement[bool] = (
                keys[0].in_([value[0] for value in chunk])
                if len(keys) == 1
                else sa.tuple_(*keys).in_([tuple(value) for value in chunk])
            )
            statement: sa.Select[Any] = sa.select(*keys, sa.func.count()).where(pointing)
            if own is not None:  # a row whose own condition is unknown (NULL) counts as another's
                statement = statement.where(sa.case((own, 0), else_=1) == 1)
            for row in connection.execute(statement.group_by(*keys)):
                yield tuple(row[: len(keys)]), int(row[-1])
