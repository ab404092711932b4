"""Filling one demo company's databases: the part every company shares.

A company module describes its tables (SQLAlchemy Core) and returns, for a :class:`Context`,
one :class:`TableData` per table: how many rows and a generator of them, run while the table is
written. Everything random is drawn from ``random.Random`` seeded by (seed, company, table), and
tables are written in a fixed order, so the same seed, scale and day always give the same rows.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import import_module
from typing import Protocol

import sqlalchemy as sa

from datavow.demo.bulk import Database, Row
from datavow.demo.fake import Clock
from datavow.errors import DemoError, ErrorKind

# The demo companies, in the order they are built; each is a module of this package.
COMPANIES: tuple[str, ...] = ("mira-software", "mira-network", "miralix")

# progress(company, "system.table", rows written, rows in the table)
Progress = Callable[[str, str, int, int], None]


@dataclass(frozen=True)
class Context:
    """What a company's generator may depend on: nothing else, so it is deterministic."""

    company: str
    seed: int
    scale: float
    clock: Clock

    def rng(self, *names: str) -> random.Random:
        return random.Random("/".join((str(self.seed), self.company, *names)))

    def count(self, base: float, minimum: int = 1) -> int:
        """``base`` rows at scale 1, scaled; never fewer than ``minimum``."""
        return max(minimum, round(base * self.scale))


@dataclass(frozen=True)
class TableData:
    system: str
    table: sa.Table
    total: int
    rows: Callable[[], Iterable[Row]]

    @property
    def label(self) -> str:
        return f"{self.system}.{self.table.name}"


class CompanyRows(Protocol):
    """A company's data for one context: its tables, and then who turned up in them."""

    def tables(self) -> list[TableData]:
        """Every table, in the order they are written (rows are generated while writing)."""

    def people(self) -> dict[str, int]:
        """People per subject category; complete once every table's rows were generated."""

    def distinct_people(self) -> int:
        """People in the company's data, each counted once however many places hold them."""


@dataclass(frozen=True)
class Company:
    """A demo company: its name, its systems' tables and the generator of its rows."""

    name: str
    title: str
    systems: Mapping[str, sa.MetaData]
    rows: Callable[[Context], CompanyRows]


@dataclass(frozen=True)
class Generated:
    """What the generator wrote: rows per table and people per subject category."""

    rows: dict[str, int] = field(default_factory=dict)  # "system.table" -> rows written
    people: dict[str, int] = field(default_factory=dict)  # subject category -> people in it
    distinct_people: int = 0


def company(name: str) -> Company:
    """The demo company called ``name`` (one of :data:`COMPANIES`)."""
    if name not in COMPANIES:
        raise DemoError(
            f"there is no demo company '{name}' — choose from {', '.join(COMPANIES)}",
            kind=ErrorKind.INVALID,
            field="companies",
        )
    module = import_module(f"datavow.demo.{name.replace('-', '_')}")
    found: Company = module.COMPANY
    return found


def generate(
    name: str,
    urls: Mapping[str, str],
    scale: float = 1.0,
    seed: int = 7,
    *,
    schemas: Mapping[str, str] | None = None,
    today: date | None = None,
    progress: Progress | None = None,
) -> Generated:
    """Create ``name``'s tables in the databases at ``urls`` (one per system) and fill them.

    ``schemas`` names the schema per system on PostgreSQL/MariaDB (created when missing).
    Refuses (:class:`DemoError`) to write into a system that already has tables.
    """
    spec = company(name)
    if scale <= 0:
        raise DemoError(f"the scale must be above 0, not {scale}", kind=ErrorKind.INVALID, field="scale")
    missing = sorted(set(spec.systems) - set(urls))
    if missing:
        raise DemoError(f"{name} needs a database URL for {', '.join(missing)}")
    databases = {system: Database(urls[system], (schemas or {}).get(system)) for system in spec.systems}
    for system, database in databases.items():
        found = sorted(set(database.existing_tables()) & set(spec.systems[system].tables))
        if found:
            raise DemoError(
                f"{system} at {database.url if database.dialect == 'sqlite' else database.schema} "
                f"already has the tables {', '.join(found)} — build into an empty database "
                "(or pass force=True to build_demo)"
            )
    for system, database in databases.items():
        database.create(spec.systems[system].sorted_tables)

    context = Context(name, seed, scale, Clock(today or date.today()))
    data = spec.rows(context)
    result = Generated()
    for item in data.tables():

        def chunk_done(done: int, label: str = item.label, total: int = item.total) -> None:
            if progress is not None:
                progress(name, label, done, total)

        chunk_done(0)
        written = databases[item.system].load(item.table, item.rows(), chunk_done)
        if written != item.total:  # the progress bars promised item.total
            raise DemoError(f"{item.label}: wrote {written} rows, expected {item.total} (a bug in the demo)")
        result.rows[item.label] = written
    result.people.update(data.people())
    result = replace(result, distinct_people=data.distinct_people())
    for system, database in databases.items():
        database.finish(spec.systems[system].sorted_tables)
        database.engine.dispose()
    return result
