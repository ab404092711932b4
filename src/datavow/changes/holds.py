"""Legal holds as SQL conditions (Art. 17(3)(b), (e)): which of a table's rows the law still keeps.

A row is held while the moment its hold counts from (``after``) plus the period (``keep``) is still
in the future, i.e. while ``after > now - keep``. ``after`` is a column of the table itself, or of
a table its references lead to; then it is read through a correlated subquery along the reference
path (the latest moment, should the path fan out). A row whose moment is not set (NULL, or no row at
the end of the path) is held: the period has not started, and erasure never deletes what the law
may still require. Once a hold has expired, its rows are erased like any other.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import sqltypes

from datavow.changes.text_dates import as_moment
from datavow.datamap.load import LoadedMap
from datavow.datamap.model import After, Hold, Reference, split_target
from datavow.errors import RequestError
from datavow.plan.model import TableKey

Reflect = Callable[[TableKey], sa.Table]  # a table of the same system, reflected


@dataclass(frozen=True)
class HoldCondition:
    hold: Hold
    moment: sa.ColumnElement[Any]  # the moment each row's hold counts from
    held: sa.ColumnElement[bool]
    released: sa.ColumnElement[bool]  # the rows whose hold has expired
    parameter: str  # the name ``now - keep`` is bound under, so a statement built once takes a new one

    def params(self, now: datetime) -> dict[str, object]:
        """``now - keep`` as of ``now``, by the name the conditions bind it under."""
        return {self.parameter: _cutoff(self.hold.keep.before(now), self.moment.type)}

    def until(self, latest: date | datetime | None) -> date | datetime | None:
        """When the hold on rows whose latest moment is ``latest`` ends."""
        if latest is None:
            return None
        until: date | datetime = latest + self.hold.keep.delta()
        return until


def hold_condition(
    loaded: LoadedMap, where: TableKey, table: sa.Table, reflect: Reflect, now: datetime
) -> HoldCondition | None:
    """The hold of the map's table ``where`` (reflected as ``table``), or None when it has none."""
    hold = loaded.table(*where).table.hold
    if hold is None:
        return None
    moment = moment_of(loaded, where, table, reflect, hold.after, "hold")
    # one name per table: a statement may hold several tables' holds (held_parents), each its own
    parameter = re.sub(r"\W", "_", f"hold_cutoff_{where[0]}_{where[1]}")
    cutoff = sa.bindparam(parameter, _cutoff(hold.keep.before(now), moment.type), type_=moment.type)
    return HoldCondition(
        hold,
        moment,
        sa.or_(moment.is_(None), moment > cutoff),
        sa.and_(moment.is_not(None), moment <= cutoff),
        parameter,
    )


def moment_of(
    loaded: LoadedMap, where: TableKey, table: sa.Table, reflect: Reflect, after: After, what: str
) -> sa.ColumnElement[Any]:
    """Each row's moment ``after`` names: its own column, or the latest value along the references
    to the table that holds it (a correlated subquery). ``what`` ("hold", "retention rule") is for
    the message when the references do not reach it."""
    if after.table is None:
        return as_moment(table.c[after.column])  # a TEXT column of ISO dates compares as a timestamp
    return _moment_through_references(loaded, where, table, reflect, after, what)


def cutoff(moment: date | datetime, kind: Any) -> date | datetime:
    """``moment`` as a column of type ``kind`` compares it (see :func:`_cutoff`)."""
    return _cutoff(moment, kind)


def _cutoff(moment: date | datetime, kind: Any) -> date | datetime:
    """``now - keep`` as the column compares it: a day for a DATE, naive UTC unless it has a zone."""
    assert isinstance(moment, datetime)  # now is a datetime, so is now - keep
    if isinstance(kind, sqltypes.Date) and not isinstance(kind, sqltypes.DateTime):
        return moment.date()
    timezone = isinstance(kind, sqltypes.DateTime) and kind.timezone
    if moment.tzinfo is not None and not timezone:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _moment_through_references(
    loaded: LoadedMap, where: TableKey, table: sa.Table, reflect: Reflect, after: After, what: str
) -> sa.ColumnElement[Any]:
    assert after.table is not None
    path = _path(loaded, where, after.table)
    label = f"{where[0]}.{where[1]}"
    if path is None:
        raise RequestError(
            f"the {what} of {label} counts from {after.table}.{after.column}, which its references "
            "do not reach within its own database — count from a column of a table in the same system"
        )
    current: sa.FromClause = table
    joined: sa.FromClause | None = None
    correlation: sa.ColumnElement[bool] | None = None
    for step, reference in path:
        target = reflect(step).alias()
        on = sa.and_(
            *(
                target.c[to] == current.c[col]
                for col, to in zip(reference.columns, reference.target_columns, strict=True)
            )
        )
        if joined is None:
            joined, correlation = target, on
        else:
            joined = joined.join(target, on)
        current = target
    assert joined is not None and correlation is not None
    latest = sa.func.max(as_moment(current.c[after.column]))
    return sa.select(latest).select_from(joined).where(correlation).correlate(table).scalar_subquery()


def _path(loaded: LoadedMap, start: TableKey, to: str) -> list[tuple[TableKey, Reference]] | None:
    """The shortest chain of references, within ``start``'s system, from ``start`` to ``to``."""
    system = start[0]
    goal = split_target(system, to)
    came: dict[TableKey, tuple[TableKey, Reference] | None] = {start: None}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if here == goal:
            path: list[tuple[TableKey, Reference]] = []
            while (back := came[here]) is not None:
                path.append((here, back[1]))
                here = back[0]
            return path[::-1]
        for reference in loaded.table(*here).table.references.values():
            there = loaded.table(*here).target(reference)
            if there[0] == system and there not in came and there[1] in loaded.model.systems[system].tables:
                came[there] = (here, reference)
                queue.append(there)
    return None
