"""The return of a controller's data at the end of its contract (Art. 28(3)(g)): one encrypted
package with every row of the tenant in its system.

The package is the access export's container (:mod:`datavow.requests.export`): the same sealed
file that :func:`~datavow.requests.export.open_export` and :func:`~datavow.requests.export.read_export`
open, the same streaming of rows into JSON and CSV, the same columns withheld (credentials). What
differs is the reader: a controller taking its data back, not a person asking what is held about
them, so the letter is a note of return (``return.html``) and the manifest says whose data it is,
the contract's end and when the processor deletes it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from datavow.connectors.sql import translate_errors
from datavow.datamap.load import LoadedMap
from datavow.plan.discovery import discover
from datavow.plan.model import Plan, Selection
from datavow.plan.sql import reflect_table
from datavow.requests.export import ExportHeader, withheld_columns, write_sealed
from datavow.requests.export.archive import ArchiveFile, StreamingArchive
from datavow.requests.export.rows import person_rows, write_csv, write_json
from datavow.retention.offboarding.documents import organization_facts, render, system_facts
from datavow.retention.offboarding.plan import tenant_seeds

FORMAT = "datavow-tenant-return/1"
_READ = 1024 * 1024


@dataclass(frozen=True)
class ReturnFacts:
    """Whose data the package returns, and the contract behind it."""

    offboarding: int
    system: str
    tenant: str
    controller: str | None
    contract_ended_at: datetime
    due_at: datetime


@dataclass(frozen=True)
class ReturnedTable:
    system: str
    table: str
    rows: int
    files: tuple[str, str]  # the JSON and the CSV file in the package
    withheld: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.system}.{self.table}"


@dataclass(frozen=True)
class ReturnPackage:
    """A return package written to ``path``; ``sha256`` is the file's, as it lies on disk."""

    path: Path
    header: ExportHeader
    tables: tuple[ReturnedTable, ...]
    files: tuple[ArchiveFile, ...]
    size: int
    sha256: str

    @property
    def rows(self) -> dict[str, int]:
        return {table.label: table.rows for table in self.tables}


def write_return(
    loaded: LoadedMap,
    engine: Engine,
    plan: Plan,
    out_path: Path,
    *,
    key: bytes,
    facts: ReturnFacts,
    expires_at: datetime,
) -> ReturnPackage:
    """Write every row ``plan`` (a :func:`~datavow.retention.offboarding.plan.tenant_plan`) selects
    to an encrypted package at ``out_path``, read in one snapshot of the system where the database
    gives one. The file appears only once complete."""
    generated_at = datetime.now(UTC)
    header = ExportHeader(f"offboarding-{facts.offboarding}", generated_at, expires_at)
    writer = _ReturnWriter(loaded, engine, plan, facts, header, StreamingArchive(generated_at), [])
    size = write_sealed(out_path, key, header, writer.archive_bytes())
    return ReturnPackage(
        out_path, header, tuple(writer.tables), tuple(writer.archive.files), size, file_sha256(out_path)
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while piece := handle.read(_READ):
            digest.update(piece)
    return digest.hexdigest()


@dataclass
class _ReturnWriter:
    loaded: LoadedMap
    engine: Engine
    plan: Plan
    facts: ReturnFacts
    header: ExportHeader
    archive: StreamingArchive
    tables: list[ReturnedTable]

    def archive_bytes(self) -> Iterator[bytes]:
        system = self.facts.system
        with translate_errors(self.engine.url, system), self.engine.connect() as connection:
            reading = connection
            if connection.dialect.name in ("postgresql", "mysql", "mariadb"):
                reading = connection.execution_options(isolation_level="REPEATABLE READ")
            with reading.begin():
                discovery = discover(self.loaded, self.plan, {}, {system: reading}, seeds=tenant_seeds(self.plan))
                for step in self.plan.steps:
                    selection = discovery.selections[step.table]
                    if not selection.is_empty():
                        yield from self._table(reading, selection)
        yield from self._documents()

    def _table(self, connection: Connection, selection: Selection) -> Iterator[bytes]:
        system, name = selection.step.table
        table = reflect_table(self.loaded, selection.step, connection)
        withheld = withheld_columns(self.loaded, self.loaded.table(system, name))
        columns = [column for column in table.c.keys() if column not in withheld]
        batches = person_rows(connection, table, selection, columns, tenant=self.plan.tenant)
        first = next(batches, None)
        if first is None:
            return
        base = f"data/{system}/{name}"
        rows = yield from write_json(self.archive, base + ".json", columns, itertools.chain([first], batches))
        # A ZIP entry is written whole before the next begins: the CSV reads the rows again.
        again = person_rows(connection, table, selection, columns, tenant=self.plan.tenant)
        yield from write_csv(self.archive, base + ".csv", columns, again)
        self.tables.append(ReturnedTable(system, name, rows, (base + ".json", base + ".csv"), withheld))

    def _documents(self) -> Iterator[bytes]:
        facts = self._facts()
        with self.archive.text_entry("return.html") as out:
            out.write(render("return.en.html.j2", facts=facts))
        with self.archive.text_entry("manifest.json") as out:
            manifest = {**facts, "files": {f.name: {"sha256": f.sha256, "bytes": f.size} for f in self.archive.files}}
            json.dump(manifest, out, ensure_ascii=False, indent=2)
        yield self.archive.close()

    def _facts(self) -> dict[str, Any]:
        facts, header = self.facts, self.header
        return {
            "format": FORMAT,
            "offboarding": facts.offboarding,
            "organization": organization_facts(self.loaded),
            "controller": {"tenant": facts.tenant, "name": facts.controller},
            "system": system_facts(self.loaded, facts.system),
            "contract_ended_at": facts.contract_ended_at.isoformat(),
            "deleted_by": facts.due_at.isoformat(),
            "generated_at": header.generated_at.isoformat(),
            "expires_at": header.expires_at.isoformat(),
            "tables": [
                {
                    "system": table.system,
                    "table": table.table,
                    "rows": table.rows,
                    "files": list(table.files),
                    "withheld": list(table.withheld),
                }
                for table in self.tables
            ],
            "rows": sum(table.rows for table in self.tables),
        }
