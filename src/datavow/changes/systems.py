"""What erasure and rectification share: the plan's tables reflected per system, the key columns
that references use, and one transaction per system whose failure is recorded, not raised.

Systems are independent databases: one failing (a constraint, a lost connection) rolls back all of
its own changes and leaves the others to finish. Re-running the request completes what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from datavow.connectors.sql import translate
from datavow.datamap.load import LoadedMap
from datavow.errors import ConnectionError_, DatavowError, ErrorKind, QueryError, RequestError
from datavow.plan.model import Discovery, Selection, Step, TableKey
from datavow.plan.sql import reflect_table, reflected, selection_clauses

Status = Literal["done", "failed"]
T = TypeVar("T")
#: Told in a system's open transaction, once its statements ran, what they changed (each step's
#: result as JSON by its label, and the rows changed in all), before the transaction commits.
Committing = Callable[[str, Mapping[str, Mapping[str, Any]], int], None]


@dataclass(frozen=True)
class SystemOutcome:
    """How one system's transaction ended."""

    system: str
    status: Status
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"system": self.system, "status": self.status, "error": self.error}


@dataclass
class SystemsResult:
    """What a request did, system by system; subclasses add what changed in committed systems."""

    systems: dict[str, SystemOutcome]

    @property
    def complete(self) -> bool:
        return all(outcome.status == "done" for outcome in self.systems.values())

    @property
    def changed(self) -> int:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "changed": self.changed,
            "systems": {name: outcome.to_dict() for name, outcome in self.systems.items()},
        }


def check_engines(discovery: Discovery, engines: Mapping[str, Engine]) -> None:
    missing = [system for system in discovery.plan.systems() if system not in engines]
    if missing:
        raise RequestError(
            f"no database connection for system(s) {', '.join(missing)} — pass an engine for every system "
            "the plan touches"
        )


def selected_steps(discovery: Discovery, system: str) -> list[tuple[Step, Selection]]:
    """The plan's steps in ``system`` that select some rows, in plan order."""
    found = []
    for step in discovery.plan.steps:
        selection = discovery.selections.get(step.table)
        if step.table[0] == system and selection is not None and not selection.is_empty():
            found.append((step, selection))
    return found


class Reflector:
    """Reflects the tables of one system once each: plan steps through the planner's helper, other
    tables (a hold's path) by name."""

    def __init__(self, loaded: LoadedMap, connection: Connection) -> None:
        self.loaded, self.connection = loaded, connection
        self.tables: dict[TableKey, sa.Table] = {}

    def step(self, step: Step) -> sa.Table:
        if step.table not in self.tables:
            self.tables[step.table] = reflect_table(self.loaded, step, self.connection)
        return self.tables[step.table]

    def __call__(self, where: TableKey) -> sa.Table:
        if where not in self.tables:
            ref = self.loaded.table(*where)
            self.tables[where] = reflected(self.connection, ref.schema, ref.table_name, system=ref.system_name)
        return self.tables[where]


def clauses(table: sa.Table, selection: Selection, dialect: str) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses whose union is the step's rows, within its tenant; several (never
    overlapping) only when the values need more parameters than one statement carries."""
    return list(selection_clauses(table, selection, dialect))


def mapped_column(table: sa.Table, label: str, name: str, error: type[DatavowError] = RequestError) -> sa.Column[Any]:
    """The column ``name`` of the reflected ``table`` (``label`` is the map's name of the table); an
    ``error`` of kind schema when the database lacks it."""
    if name not in table.c:
        raise error(
            f"{label}.{name} is in the data map but not in the database — compare the data map with the database "
            "(its drift check), then fix the map or the table",
            kind=ErrorKind.SCHEMA,
        )
    return table.c[name]


def key_columns(loaded: LoadedMap, where: TableKey) -> set[str]:
    """Columns of ``where`` that references use, from either side, and its tenant column."""
    here = loaded.table(*where)
    keys = {column for reference in here.table.references.values() for column in reference.columns}
    if here.table.tenant_column:
        keys.add(here.table.tenant_column)
    for _, _, reference in loaded.references_to(where):
        keys.update(reference.target_columns)
    return keys


def commit(
    engines: Mapping[str, Engine],
    discovery: Discovery,
    prepared: Mapping[str, T],
    failed: Mapping[str, SystemOutcome],
    run: Callable[[str, T, Connection], None],
    ready: Callable[[str, T], None] | None = None,
) -> tuple[dict[str, SystemOutcome], list[T]]:
    """Run each prepared system's work in one transaction of its own; a database error rolls that
    system back. ``ready`` is told of each system's work once it ran, before it commits. Returns
    every system's outcome, in plan order, and the work that committed."""
    outcomes = dict(failed)
    for system, work in prepared.items():
        engine = engines[system]
        try:
            with engine.begin() as connection:
                run(system, work, connection)
                if ready is not None:
                    ready(system, work)
        except SQLAlchemyError as exc:
            outcomes[system] = SystemOutcome(system, "failed", str(translate(exc, engine.url, system)))
        else:
            outcomes[system] = SystemOutcome(system, "done")
    systems = {system: outcomes[system] for system in discovery.plan.systems()}
    return systems, [work for system, work in prepared.items() if systems[system].status == "done"]


def prepare(
    loaded: LoadedMap,
    engines: Mapping[str, Engine],
    discovery: Discovery,
    build: Callable[[str, Reflector], T],
) -> tuple[dict[str, T], dict[str, SystemOutcome]]:
    """Build every system's work from its reflected tables before any system changes.

    A :class:`RequestError` (a strategy that cannot fit, say) propagates, so nothing changes
    anywhere; a system that cannot be read is recorded as failed and the others go on.
    """
    check_engines(discovery, engines)
    prepared: dict[str, T] = {}
    failed: dict[str, SystemOutcome] = {}
    for system in discovery.plan.systems():
        engine = engines[system]
        try:
            with engine.connect() as connection:
                prepared[system] = build(system, Reflector(loaded, connection))
        except SQLAlchemyError as exc:
            failed[system] = SystemOutcome(system, "failed", str(translate(exc, engine.url, system)))
        except (ConnectionError_, QueryError) as exc:  # reflection translates driver errors itself
            failed[system] = SystemOutcome(system, "failed", str(exc))
    return prepared, failed
