"""Erasure (Art. 17): delete or anonymise a person's rows, set-based, one transaction per system.

Per plan step one statement per WHERE clause the planner gives (several only for long value lists):
``DELETE`` for a table with ``erase: delete``, ``UPDATE ... SET`` each personal field by its strategy
(:mod:`datavow.changes.strategies`) for ``erase: anonymize``. Never one statement per row.

- **Holds** (Art. 17(3)): rows under a live hold are kept; only the hold's ``minimise`` fields are
  erased. The result says how many rows were kept, until when, and for which purpose. A row that a
  held row references (the customer of a held invoice) is not deleted either, whatever its table's
  ``erase``: its fields with an ``erase`` strategy are erased and the row stays, counted as kept
  (:mod:`datavow.changes.held_parents`); so is a row any remaining row references (the
  address an anonymised customer still points at).
- **Foreign keys**: within a system, tables that reference others are handled before the tables
  they reference; an anonymised row keeps the key columns references use.
- **All or nothing per system**: a system's statements run in one transaction. Every statement only
  touches values not erased yet, so running the same erasure again finishes a failed system and
  changes nothing in a finished one.
- **Checked first**: every strategy is checked against the reflected columns of every system before
  any system changes; a misfit is a :class:`RequestError` naming the field.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from datavow.changes.held_parents import still_referenced
from datavow.changes.holds import HoldCondition, hold_condition
from datavow.changes.strategies import Erasing, Keys, Rewrite, register_functions, rewrite
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
from datavow.changes.text_dates import after_problem
from datavow.datamap.load import LoadedMap
from datavow.datamap.model import DataField, FieldErasure, FieldStrategy, Table, TableErasure
from datavow.errors import RequestError
from datavow.plan.model import Discovery, Step, TableKey
from datavow.plan.planner import children_first
from datavow.plan.prepared import Query, bind, built_once, execute_counted, prepared

Progress = Callable[[str, str, int, int], None]  # system, step label, statements done, statements in all
Action = Literal["delete", "anonymize", "none"]
#: What a caller may ask erasure to do to a table, whatever its ``erase:`` says.
TableAction = Literal["delete", "anonymize"]

_NULLIFY = FieldErasure(strategy=FieldStrategy.nullify)


@dataclass
class StepErasure:
    """What erasure did to one table: rows deleted, anonymised, and kept under a hold."""

    step: str
    action: Action
    deleted: int = 0
    anonymised: int = 0
    kept: int = 0  # rows under a live hold, and rows a row that stays references
    kept_referenced: int = 0  # of ``kept``: rows that stay because a row that stays references them
    minimised: int = 0  # held rows whose ``minimise`` fields were erased
    held_until: date | datetime | None = None  # when the last kept row's hold ends
    hold_purpose: str | None = None
    untouched: list[str] = field(default_factory=list)  # personal fields kept: keys references use
    shared: int = 0  # parent rows kept unchanged because other people's rows point at them too
    shared_with: int = 0  # how many other rows point at those

    @property
    def changed(self) -> int:
        return self.deleted + self.anonymised + self.minimised

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "action": self.action,
            "deleted": self.deleted,
            "anonymised": self.anonymised,
            "kept": self.kept,
            "kept_referenced": self.kept_referenced,
            "minimised": self.minimised,
            "held_until": self.held_until.isoformat() if self.held_until is not None else None,
            "hold_purpose": self.hold_purpose,
            "untouched": list(self.untouched),
            "shared": self.shared,
            "shared_with": self.shared_with,
        }


@dataclass
class ErasureResult(SystemsResult):
    """Per system: done or failed; per step of a done system: what changed and what was kept."""

    steps: list[StepErasure]

    @property
    def changed(self) -> int:
        return sum(step.changed for step in self.steps)

    def step(self, label: str) -> StepErasure:
        for step in self.steps:
            if step.step == label:
                return step
        raise KeyError(label)

    def kept(self) -> list[StepErasure]:
        """The steps where a hold kept rows."""
        return [step for step in self.steps if step.kept]

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "steps": [step.to_dict() for step in self.steps]}


Does = Literal["deleted", "anonymised", "minimised", "held", "kept"]


@dataclass(frozen=True)
class _Built:
    """One statement of a step, as built (once per shape on PostgreSQL)."""

    does: Does
    statement: sa.Executable
    hold: HoldCondition | None = None


# Names each _StepBuilt for the compiled-statement cache: unique for the life of the process.
_TOKENS = itertools.count()


@dataclass(frozen=True)
class _StepBuilt:
    """A step's statements, and what building them learnt about the step."""

    token: int
    statements: tuple[_Built, ...]
    untouched: tuple[str, ...] = ()  # personal fields kept: keys references use
    hold: HoldCondition | None = None


@dataclass(frozen=True)
class _Statement:
    outcome: StepErasure
    built: _Built
    query: Query | None = None  # PostgreSQL: the statement's cache key and this run's values


@dataclass(frozen=True)
class _SystemWork:
    outcomes: list[StepErasure]  # one per step, in the order they run
    statements: list[_Statement]


def erase(
    loaded: LoadedMap,
    discovery: Discovery,
    engines: Mapping[str, Engine],
    *,
    key: bytes,
    now: datetime,
    progress: Progress | None = None,
    actions: Mapping[TableKey, TableAction] | None = None,
    committing: Committing | None = None,
) -> ErasureResult:
    """Erase the rows ``discovery`` selected, in every system of its plan.

    ``key`` is the installation's secret key (the keyed hash derives its own from it); ``now`` the
    moment holds are judged at. ``actions`` says what to do to a table instead of its ``erase:``
    (a retention rule deletes rows a person's erasure would anonymise, and its cascade with them);
    a table it leaves out is erased as the map declares. ``committing`` is told what each system's
    transaction changed before it commits (a request keeps it, to count it when resumed). Raises
    :class:`RequestError` before any change when a strategy does not fit its column; a database
    error fails that system only (see :attr:`ErasureResult.systems`).
    """
    keys = Keys.for_run(key)

    def build(system: str, reflector: Reflector) -> _SystemWork:
        return _system_work(loaded, discovery, system, reflector, keys, now, actions or {})

    prepared_work, failed = prepare(loaded, engines, discovery, build)
    total = sum(1 for work in prepared_work.values() for s in work.statements if s.built.does not in ("held", "kept"))
    done = 0

    def run(system: str, work: _SystemWork, connection: Connection) -> None:
        nonlocal done
        register_functions(connection)
        for item, (rows, count) in zip(
            work.statements, _results(connection, work.statements, one_by_one=progress is not None), strict=True
        ):
            if item.built.does == "held":
                _count_held(item, tuple(rows[0]))
                continue
            if item.built.does == "kept":
                kept = int(rows[0][0])
                item.outcome.kept += kept
                item.outcome.kept_referenced += kept
                continue
            setattr(item.outcome, item.built.does, getattr(item.outcome, item.built.does) + count)
            done += 1
            if progress is not None:
                progress(system, item.outcome.step, done, total)

    def ready(system: str, work: _SystemWork) -> None:
        if committing is not None:
            steps = {outcome.step: outcome.to_dict() for outcome in work.outcomes}
            committing(system, steps, sum(outcome.changed for outcome in work.outcomes))

    systems, committed = commit(engines, discovery, prepared_work, failed, run, ready)
    return ErasureResult(systems, [outcome for work in committed for outcome in work.outcomes])


def _results(
    connection: Connection, statements: list[_Statement], *, one_by_one: bool
) -> Iterator[tuple[Sequence[Any], int]]:
    """Each statement's rows and rows changed, in order. PostgreSQL's were built once per shape and
    run on the driver's cursor, all sent before the first answer is read unless ``one_by_one``
    (progress is told as each one ends); elsewhere each runs through SQLAlchemy in turn."""
    queries = [item.query for item in statements if item.query is not None]
    if queries and len(queries) == len(statements) and not one_by_one:
        yield from execute_counted(connection, queries)
        return
    for item in statements:
        if item.query is not None:
            (ran,) = execute_counted(connection, [item.query])
            yield ran
            continue
        result = connection.execute(item.built.statement)
        if item.built.does in ("held", "kept"):
            yield result.all(), 0
        else:
            yield (), result.rowcount


def _count_held(item: _Statement, row: tuple[Any, ...]) -> None:
    count, latest = row
    item.outcome.kept += count
    assert item.built.hold is not None
    until = item.built.hold.until(latest)
    if until is not None and (item.outcome.held_until is None or until > item.outcome.held_until):
        item.outcome.held_until = until


def _system_work(
    loaded: LoadedMap,
    discovery: Discovery,
    system: str,
    reflector: Reflector,
    keys: Keys,
    now: datetime,
    actions: Mapping[TableKey, TableAction],
) -> _SystemWork:
    work = _SystemWork([], [])
    dialect = reflector.connection.dialect.name
    for step, selection in children_first(loaded, selected_steps(discovery, system), lambda item: item[0].table):
        outcome = StepErasure(step.label, actions.get(step.table) or _action(loaded.table(*step.table).table))
        outcome.shared, outcome.shared_with = selection.shared_rows, selection.shared_with
        work.outcomes.append(outcome)
        changeable = selection.changeable().by_key()  # a shared parent row is other people's data too
        if changeable.is_empty() or outcome.action == "none":
            continue
        table = reflector.step(step)
        _check_hold(loaded, step, reflector)
        if prepared(reflector.connection):
            bound = bind(table, step, changeable.conditions, changeable.tenant)
            if bound is None:  # no value could match a row
                continue
            build = partial(_step_statements, loaded, outcome.action, step, bound.clause, reflector, keys, now)
            built = built_once(reflector.connection, ("erasure", outcome.action, bound.key), loaded, build)
            params = {**bound.params, **keys.params(), **(built.hold.params(now) if built.hold else {})}
            queries: list[Query | None] = [
                Query(("erasure", built.token, n), partial(_statement_of, item), params)
                for n, item in enumerate(built.statements)
            ]
        else:
            selecting = partial(clauses, table, changeable, dialect)
            built = _step_statements(loaded, outcome.action, step, selecting, reflector, keys, now)
            queries = [None] * len(built.statements)
        outcome.untouched = list(built.untouched)
        outcome.hold_purpose = built.hold.hold.purpose if built.hold else None
        work.statements.extend(_Statement(outcome, b, q) for b, q in zip(built.statements, queries, strict=True))
    return work


def _statement_of(built: _Built) -> sa.ClauseElement:
    assert isinstance(built.statement, sa.ClauseElement)  # a SELECT, UPDATE or DELETE
    return built.statement


def _check_hold(loaded: LoadedMap, step: Step, reflector: Reflector) -> None:
    """A hold counted from text that is not a date would keep such rows silently: refuse instead
    (looked at in every run: it is about the data, not the statements)."""
    hold = loaded.table(*step.table).table.hold
    if hold is None:
        return
    problem = after_problem(loaded, step.table, hold.after, reflector, reflector.connection)
    if problem is not None:  # such rows would count as "not started" and be kept silently
        raise RequestError(f"the hold of {step.label} cannot be judged: {problem}")


def _step_statements(
    loaded: LoadedMap,
    action: Action,
    step: Step,
    selecting: Callable[[], sa.ColumnElement[bool] | list[sa.ColumnElement[bool]]],
    reflector: Reflector,
    keys: Keys,
    now: datetime,
) -> _StepBuilt:
    """The step's statements over the WHERE clause(s) ``selecting`` gives (each run's values, or
    named parameters on PostgreSQL, where they are built once per shape: keys and the hold's
    cutoff are bound by name, see :meth:`Keys.params` and :meth:`HoldCondition.params`)."""
    table = reflector.step(step)
    selected = selecting()
    where = selected if isinstance(selected, list) else [selected]
    declared = loaded.table(*step.table).table
    dialect = reflector.connection.dialect.name
    protected = key_columns(loaded, step.table)
    untouched: list[str] = []

    def erasing(fields: Mapping[str, FieldErasure]) -> dict[str, Rewrite]:
        rewrites = {}
        for name, erasure in fields.items():
            if name in protected and erasure.strategy is not FieldStrategy.keep:
                if name not in untouched:  # a minimise field is met twice
                    untouched.append(name)
                continue
            done = rewrite(
                Erasing(f"{step.label}.{name}", mapped_column(table, step.label, name), erasure, dialect, keys)
            )
            if done is not None:
                rewrites[name] = done
        return rewrites

    statements: list[_Built] = []
    hold = hold_condition(loaded, step.table, table, reflector, now)
    live: sa.ColumnElement[bool] = sa.true()
    if hold is not None:
        count = sa.select(sa.func.count(), sa.func.max(hold.moment)).select_from(table)
        statements += [_Built("held", count.where(clause, hold.held), hold) for clause in where]
        minimise = erasing({name: _minimised(declared.fields.get(name)) for name in hold.hold.minimise})
        statements += _updates("minimised", table, where, hold.held, minimise)
        live = hold.released
    if action == "delete":
        # Rows that stay (held, anonymised, other people's) were not deleted before this statement
        # (children first), so those still pointing here keep what they point at, held or not.
        below = still_referenced(loaded, step.table, table, reflector)
        if below is not None:  # a row a row that stays references stays with it (its fields erased where declared)
            counted = sa.select(sa.func.count()).select_from(table)
            statements += [_Built("kept", counted.where(clause, live, below)) for clause in where]
            declared_erasure = {
                name: f.erase
                for name, f in declared.personal_fields().items()
                if f.erase is not None and f.erase.strategy is not FieldStrategy.keep
            }
            statements += _updates("minimised", table, where, sa.and_(live, below), erasing(declared_erasure))
            live = sa.and_(live, sa.not_(below))
        statements += [_Built("deleted", table.delete().where(clause, live)) for clause in where]
    else:
        personal = {name: f.erase or _NULLIFY for name, f in declared.personal_fields().items()}
        statements += _updates("anonymised", table, where, live, erasing(personal))
    return _StepBuilt(next(_TOKENS), tuple(statements), tuple(untouched), hold)


def _action(table: Table) -> Action:
    """The table's ``erase``; without one, anonymise when a personal field names a strategy."""
    if table.erase is TableErasure.delete:
        return "delete"
    if table.erase is TableErasure.anonymize:
        return "anonymize"
    fields = table.personal_fields().values()
    return "anonymize" if any(f.erase and f.erase.strategy is not FieldStrategy.keep for f in fields) else "none"


def _minimised(declared: DataField | None) -> FieldErasure:
    """A ``minimise`` field is erased by its strategy, or set to NULL when it has none (or keep)."""
    if declared is None or declared.erase is None or declared.erase.strategy is FieldStrategy.keep:
        return _NULLIFY
    return declared.erase


def _updates(
    does: Literal["anonymised", "minimised"],
    table: sa.Table,
    where: list[sa.ColumnElement[bool]],
    rows: sa.ColumnElement[bool],
    rewrites: Mapping[str, Rewrite],
) -> list[_Built]:
    if not rewrites:
        return []
    values = {name: done.value for name, done in rewrites.items()}
    pending = sa.or_(*(done.pending for done in rewrites.values()))
    return [_Built(does, table.update().where(clause, rows, pending).values(values)) for clause in where]
