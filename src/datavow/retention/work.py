"""The unit a sweep runs: one rule's due rows, taken a bounded chunk at a time.

Each chunk is one short transaction per database that selects due rows *again* and changes them,
so a chunk that committed is never repeated, one that did not is found again, and a sweep killed at
any moment resumes by simply running again.

- A rule whose table nothing references (or that keeps its rows) is one statement per chunk. With a
  one-column integer key (the usual case) the sweep walks the key in ranges: ``DELETE`` (or
  ``UPDATE``) ``WHERE key >= lo AND key <= min(lo + n - 1, last) AND due``, bounds that fit the
  key's type. Otherwise it takes ``n`` due rows by key: ``= ANY(ARRAY(SELECT key ... WHERE due
  LIMIT n))`` on PostgreSQL, ``IN (SELECT ...)`` on SQLite, and on MariaDB, which refuses a
  ``LIMIT`` in such a subquery, ``DELETE ... WHERE due LIMIT n``.
- A rule that deletes rows other tables of its database reference reads the keys of ``n`` due rows,
  then hands them to the request planner's discovery as seeds and to erasure: the referencing rows
  follow the way they follow a person's erasure, children first, in one transaction, and legal
  holds keep what they keep (see :mod:`datavow.retention.cascade`).

Between reading the keys and erasing, a due row could stop being due (its moment moved); the
window is one chunk's discovery, milliseconds, and is the price of reusing erasure unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from datavow.changes.retention_rules import Conditions, Rule, cascade_actions, conditions, referenced
from datavow.changes.strategies import Keys, register_functions
from datavow.changes.systems import Reflector
from datavow.changes.text_dates import after_problem
from datavow.datamap.load import LoadedMap
from datavow.errors import PlanError, RequestError
from datavow.plan.discovery import discover
from datavow.requests.erasure import erase
from datavow.retention.cascade import cascade_plan


@dataclass
class Chunk:
    """What one chunk did."""

    selected: int  # due rows of the rule's table it took
    changed: dict[str, int] = field(default_factory=dict)  # table label -> rows deleted or anonymised
    kept: dict[str, int] = field(default_factory=dict)  # table label -> cascaded rows a hold kept
    seconds: float = 0.0  # its longest transaction
    more: bool | None = None  # whether more may be due; None: more when it took all it was allowed


@dataclass(frozen=True)
class Due:
    """How many rows a rule may change now, the oldest moment among them, and rows a hold keeps."""

    rows: int
    oldest: date | datetime | None
    held: int


class Work(Protocol):
    """Something a sweep runs chunk by chunk: a table's rule, or one of datavow's own."""

    @property
    def label(self) -> str: ...

    @property
    def does(self) -> str: ...

    def due(self) -> Due: ...

    def chunk(self, rows: int) -> Chunk: ...


#: Key values counted per transaction when a rule's due rows are counted by key ranges.
COUNT_RANGE = 1_000_000


class TableWork:
    """A map rule on its database, at one moment ``now``."""

    def __init__(self, loaded: LoadedMap, rule: Rule, engines: Mapping[str, Engine], key: bytes, now: datetime):
        self.loaded, self.rule, self.engines, self.secret, self.now = loaded, rule, engines, key, now
        self.keys = keys = Keys.for_run(key)
        if rule.system not in engines:
            raise PlanError(f"no database connection for system '{rule.system}'")
        self.engine = engines[rule.system]
        self.dialect = self.engine.dialect.name
        with self.engine.connect() as connection:
            reflector = Reflector(loaded, connection)
            table = reflector(rule.table)
            self.conditions: Conditions = conditions(loaded, rule, table, reflector, now, keys, self.dialect)
            problem = _moment_problem(loaded, rule, reflector, connection)
            if problem is not None:
                raise PlanError(f"the retention rule of {rule.label} cannot run: {problem}")
        self.key = _key(rule, table)
        # An anonymised row stays, and so do the references to it: the rows that reference it answer to
        # their own rules, so an anonymise rule cascades to nothing (it once deleted a customer's rentals).
        self.cascades = not rule.keeps_rows and referenced(loaded, rule)
        self._range: list[int] | None = None  # the walk along an integer key: next value, last value
        walks = not self.cascades and len(self.key) == 1 and isinstance(self.key[0].type, sa.Integer)
        self.counts_first = not walks  # a walk finds its due rows as it goes (see Sweeper)
        self.widest = 2_000_000 if walks else 200_000  # key values per chunk, at most (time decides first)
        if self.cascades:
            self.plan = cascade_plan(loaded, rule.table)
            self.actions = cascade_actions(rule, [step.table for step in self.plan.steps])

    @property
    def label(self) -> str:
        return self.rule.label

    @property
    def does(self) -> str:
        return self.rule.does

    def due(self) -> Due:
        """Rows due now, the oldest moment among them, and rows a hold keeps. With an integer key
        the count goes by key ranges, each its own short transaction: counting ten million rows
        must not hold one snapshot open for seconds any more than deleting them may."""
        c = self.conditions
        ranges: list[sa.ColumnElement[bool]] = [sa.true()]
        if len(self.key) == 1 and isinstance(self.key[0].type, sa.Integer):
            key = self.key[0]
            with self.engine.connect() as connection:
                low, high = connection.execute(sa.select(sa.func.min(key), sa.func.max(key))).one()
            if low is None:
                return Due(0, None, 0)
            last = int(high)
            ranges = [_within(key, lo, lo + COUNT_RANGE, last) for lo in range(int(low), last + 1, COUNT_RANGE)]
        rows, oldest, held = 0, None, 0
        for within in ranges:
            with self.engine.connect() as connection:
                register_functions(connection)
                statement = sa.select(sa.func.count(), sa.func.min(c.moment)).select_from(c.table)
                count, first = connection.execute(statement.where(within, c.due)).one()
                rows += int(count)
                if first is not None and (oldest is None or first < oldest):
                    oldest = first
                if c.held is not None:
                    kept = sa.select(sa.func.count()).select_from(c.table).where(within, c.past, c.held)
                    held += int(connection.execute(kept).scalar_one())
        return Due(rows, oldest, held)

    def chunk(self, rows: int) -> Chunk:
        if self.cascades:
            return self._cascade(rows)
        if not self.counts_first:
            return self._ranged(rows)
        return self._bounded(rows)

    # -- a walk along an integer key

    def _ranged(self, width: int) -> Chunk:
        """The due rows among the next ``width`` key values: ``key >= lo AND key < lo + width AND
        due``, one range after another from the smallest key to the largest there was when the walk
        began. An index range on the key per chunk, no sort and no subquery: the plan stays cheap
        however many rows are due, and a chunk never holds more than ``width`` rows."""
        c, key = self.conditions, self.key[0]
        if self._range is None:
            with self.engine.connect() as connection:
                low, high = connection.execute(sa.select(sa.func.min(key), sa.func.max(key))).one()
            if low is None:
                return Chunk(0, more=False)
            self._range = [int(low), int(high)]
        low, high = self._range
        if low > high:
            return Chunk(0, more=False)
        upper = low + width
        chunk = self._commit(self._change(sa.and_(_within(key, low, upper, high), c.due)))
        self._range[0] = upper
        chunk.more = upper <= high
        return chunk

    # -- one statement

    def _bounded(self, rows: int) -> Chunk:
        c = self.conditions
        if self.dialect in ("mysql", "mariadb"):
            return self._commit(self._change(c.due).with_dialect_options(mysql_limit=rows))
        chosen = sa.select(*self.key).where(c.due).limit(rows)
        match: sa.ColumnElement[bool]
        match = self.key[0].in_(chosen) if len(self.key) == 1 else sa.tuple_(*self.key).in_(chosen)
        if self.dialect == "postgresql" and len(self.key) == 1:
            # PostgreSQL plans `IN (SELECT … LIMIT n)` as a hash join over the whole table once n
            # grows; `= ANY(ARRAY(SELECT …))` keeps it on the key's index
            match = self.key[0] == sa.any_(sa.func.array(chosen.scalar_subquery()))
        return self._commit(self._change(match))

    def _change(self, where: sa.ColumnElement[bool]) -> sa.Update | sa.Delete:
        """What the rule does to the rows ``where`` selects: erase their fields, or delete them."""
        c = self.conditions
        if c.rewrites:
            return c.table.update().where(where).values(_values(c))
        return c.table.delete().where(where)

    def _commit(self, statement: sa.Executable) -> Chunk:
        """Run one chunk's statement in its own transaction, timed."""
        started = time.perf_counter()
        with self.engine.begin() as connection:
            register_functions(connection)
            changed = connection.execute(statement).rowcount
        seconds = time.perf_counter() - started
        return Chunk(changed, {self.label: changed} if changed else {}, seconds=seconds)

    # -- through the planner and erasure

    def _cascade(self, rows: int) -> Chunk:
        c = self.conditions
        with self.engine.connect() as connection:
            register_functions(connection)
            keys = {tuple(row) for row in connection.execute(sa.select(*self.key).where(c.due).limit(rows))}
            if not keys:
                return Chunk(0)
            seeds = {self.rule.table: {tuple(column.name for column in self.key): keys}}
            discovery = discover(self.loaded, self.plan, {}, {self.rule.system: connection}, seeds=seeds)
        started = time.perf_counter()
        engines = {self.rule.system: self.engine}
        result = erase(self.loaded, discovery, engines, key=self.secret, now=self.now, actions=self.actions)
        chunk = Chunk(len(keys), seconds=time.perf_counter() - started)
        outcome = result.systems[self.rule.system]
        if outcome.status != "done":
            raise RequestError(f"the sweep of {self.label} failed: {outcome.error}")
        for step in result.steps:
            if step.changed:
                chunk.changed[step.step] = step.changed
            if step.kept:
                chunk.kept[step.step] = step.kept
        return chunk


def _within(key: sa.Column[Any], low: int, upper: int, last: int) -> sa.ColumnElement[bool]:
    """``low <= key < upper``, written with bounds that exist in the table (``last`` is its largest
    key), so that every bound fits the key's type: ``upper`` may lie past a SMALLINT's maximum, and
    PostgreSQL casts a bound to the key's type."""
    return sa.and_(key >= low, key <= min(upper - 1, last))


def _values(c: Conditions) -> dict[str, Any]:
    return {name: done.value for name, done in c.rewrites.items()}


def _key(rule: Rule, table: sa.Table) -> list[sa.Column[Any]]:
    declared = rule.ref.table.primary_key
    if declared:
        return [table.c[name] for name in declared]
    key = list(table.primary_key.columns)
    if not key:
        raise PlanError(
            f"{rule.label} has no primary key, which a sweep needs to take its due rows a chunk at a time — "
            "give the table one, or declare 'primary_key:' in the map"
        )
    return key


def _moment_problem(loaded: LoadedMap, rule: Rule, reflect: Reflector, connection: sa.Connection) -> str | None:
    """A text column the rule (or the table's hold) counts from that holds something not a date:
    such rows would never be due (or always held), silently."""
    declared = rule.ref.table
    for after in (
        declared.retention.after if declared.retention else None,
        declared.hold.after if declared.hold else None,
    ):
        problem = after_problem(loaded, rule.table, after, reflect, connection) if after is not None else None
        if problem is not None:
            return problem
    return None
