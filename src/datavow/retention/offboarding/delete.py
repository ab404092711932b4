"""Deleting a controller's rows from its system, children first, a bounded chunk at a time, as
works the retention :class:`~datavow.retention.sweep.Sweeper` runs (locked per system, recorded and
audited like a sweep).

One work per table of the tenant plan (:mod:`datavow.retention.offboarding.plan`), tables that
reference others before the tables they reference. Each chunk is one short transaction that
selects the tenant's deletable rows *again* and deletes up to ``n`` of them, so a chunk that
committed is never repeated, a chunk that did not is found again, and a deletion stopped at any
moment finishes by running again. A row is deletable when it is the tenant's and

- no legal hold on its table keeps it (a held row stays, and is reported with its hold's purpose
  and until when);
- no row of its system still references it (the user behind a held invoice, or an employee of the
  processor that another tenant's ticket names): deleting it would break that row.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from datavow.changes.held_parents import still_referenced
from datavow.changes.holds import HoldCondition, hold_condition
from datavow.changes.systems import Reflector
from datavow.datamap.load import LoadedMap
from datavow.errors import PlanError
from datavow.plan.model import Plan, Step
from datavow.plan.planner import children_first
from datavow.retention.offboarding.plan import membership
from datavow.retention.work import Chunk, Due


@dataclass(frozen=True)
class Kept:
    """A table's rows of the tenant that stay, and why."""

    table: str
    held: int  # under a legal hold
    purpose: str | None  # the hold's purpose
    until: date | datetime | None  # when the last held row's hold ends (None: its period has not started)
    referenced: int  # still referenced by a row that stays

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "held": self.held,
            "purpose": self.purpose,
            "until": self.until.isoformat() if self.until is not None else None,
            "referenced": self.referenced,
        }


class TenantTableWork:
    """The tenant's rows of one table, deleted a chunk at a time."""

    does = "delete rows"

    def __init__(
        self,
        engine: Engine,
        step: Step,
        table: sa.Table,
        mine: sa.ColumnElement[bool],
        hold: HoldCondition | None,
        referenced: sa.ColumnElement[bool] | None,
    ) -> None:
        self.engine, self.step, self.table, self.hold = engine, step, table, hold
        self.mine, self.referenced = mine, referenced
        self.key = _key(step, table)
        deletable = [mine]
        if hold is not None:
            deletable.append(hold.released)
        if referenced is not None:
            deletable.append(sa.not_(referenced))
        self.deletable = sa.and_(*deletable)

    @property
    def label(self) -> str:
        return self.step.label

    def due(self) -> Due:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(sa.func.count()).select_from(self.table).where(self.deletable))
            due = int(rows.scalar_one())
        return Due(due, None, self.kept().held)

    def kept(self) -> Kept:
        """What of the tenant's rows stays (now), and why."""
        held, latest, referenced = 0, None, 0
        with self.engine.connect() as connection:
            if self.hold is not None:
                statement = sa.select(sa.func.count(), sa.func.max(self.hold.moment)).select_from(self.table)
                held, latest = connection.execute(statement.where(self.mine, self.hold.held)).one()
            if self.referenced is not None:
                live = [self.mine, self.referenced] + ([self.hold.released] if self.hold is not None else [])
                counted = sa.select(sa.func.count()).select_from(self.table).where(*live)
                referenced = int(connection.execute(counted).scalar_one())
        hold = self.hold
        return Kept(
            self.label,
            int(held),
            hold.hold.purpose if hold is not None else None,
            hold.until(latest) if hold is not None and held else None,
            referenced,
        )

    def chunk(self, rows: int) -> Chunk:
        statement: sa.Executable
        if self.engine.dialect.name in ("mysql", "mariadb"):  # no LIMIT in an IN subquery there
            statement = self.table.delete().where(self.deletable).with_dialect_options(mysql_limit=rows)
        else:
            chosen = sa.select(*self.key).where(self.deletable).limit(rows)
            match = self.key[0].in_(chosen) if len(self.key) == 1 else sa.tuple_(*self.key).in_(chosen)
            statement = self.table.delete().where(match)
        started = time.perf_counter()
        with self.engine.begin() as connection:
            deleted = connection.execute(statement).rowcount
        return Chunk(deleted, {self.label: deleted} if deleted else {}, seconds=time.perf_counter() - started)


def tenant_works(loaded: LoadedMap, plan: Plan, engine: Engine, now: datetime) -> list[TenantTableWork]:
    """One work per table of ``plan``, children first."""
    with engine.connect() as connection:
        reflector = Reflector(loaded, connection)
        tables = {step.table: reflector.step(step) for step in plan.steps}
        mine = membership(plan, tables)
        works = []
        for step in children_first(loaded, plan.steps, lambda step: step.table):
            table = tables[step.table]
            hold = hold_condition(loaded, step.table, table, reflector, now)
            works.append(
                TenantTableWork(
                    engine,
                    step,
                    table,
                    mine[step.table],
                    hold,
                    still_referenced(loaded, step.table, table, reflector, a_row_keeps_itself=True),
                )
            )
    return works


def _key(step: Step, table: sa.Table) -> list[sa.Column[Any]]:
    if step.key:
        return [table.c[name] for name in step.key]
    key = list(table.primary_key.columns)
    if not key:
        raise PlanError(
            f"{step.label} has no primary key, which deleting a tenant's rows a chunk at a time needs — give the "
            "table one, or declare 'primary_key:' in the map"
        )
    return key


def kept_of(works: Sequence[TenantTableWork]) -> list[Kept]:
    """What stays of the tenant in each table where something stays."""
    return [kept for work in works if (kept := work.kept()).held or kept.referenced]
