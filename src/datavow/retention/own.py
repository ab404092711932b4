"""datavow's own retention: what it keeps about requests, codes, exports and sweeps, swept as the
map's ``retention.own`` says, by the same sweeper as the map's rules (system ``datavow``).

- verification codes: ``verification_codes`` (1 day) after they expire, then deleted;
- export packages: ``exports`` (none) after they expire, then the file is deleted;
- closed requests: ``requests`` (3 years, the proof period) after they close, then deleted with
  their identities, codes and sealed discoveries; a restriction one made keeps its facts and loses
  the link;
- the sweep history: ``sweeps`` (1 year) after a sweep ends, then deleted;
- the audit log: only when ``audit_log`` gives a period, its entries older than that are pruned,
  oldest first, behind a checkpoint the chain itself records (:mod:`datavow.retention.audit_prune`),
  so ``datavow audit verify`` still proves the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from datavow.datamap.load import LoadedMap
from datavow.datamap.model import Duration
from datavow.errors import RequestError
from datavow.requests.export import export_header
from datavow.retention.audit_prune import AuditPrune
from datavow.retention.work import Chunk, Due, Work
from datavow.secrets import state_directory
from datavow.store import Store
from datavow.store.models import RequestRow, RestrictionRow, SweepRow, VerificationCodeRow

#: The name datavow's own records are swept (and locked, and audited) under.
OWN_SYSTEM = "datavow"

_CLOSED = ("completed", "denied", "forwarded")


class StoreWork:
    """Delete rows of one state-store table whose moment is ``period`` or more ago."""

    def __init__(
        self,
        store: Store,
        label: str,
        model: Any,
        moment: Any,
        period: Duration,
        now: datetime,
        *,
        narrower: sa.ColumnElement[bool] | None = None,
        before: Callable[[sa.Connection, Any], None] | None = None,
    ) -> None:
        self.store, self._label, self.model, self.moment = store, label, model, moment
        self.cutoff = period.before(now)
        narrowed = narrower if narrower is not None else sa.true()
        self.where = sa.and_(moment.is_not(None), moment <= self.cutoff, narrowed)
        self.before = before
        self.period = period

    @property
    def label(self) -> str:
        return self._label

    @property
    def does(self) -> str:
        return "delete rows"

    def due(self) -> Due:
        statement = sa.select(sa.func.count(), sa.func.min(self.moment)).select_from(self.model).where(self.where)
        with self.store.engine.connect() as connection:
            rows, oldest = connection.execute(statement).one()
        return Due(int(rows), oldest, 0)

    def chunk(self, rows: int) -> Chunk:
        key = self.model.__table__.primary_key.columns.values()[0]
        chosen = sa.select(key).where(self.where).limit(rows)
        started = time.perf_counter()
        with self.store.engine.begin() as connection:
            if self.before is not None:
                self.before(connection, chosen)
            changed = connection.execute(sa.delete(self.model).where(key.in_(chosen))).rowcount
        return Chunk(changed, {self.label: changed} if changed else {}, seconds=time.perf_counter() - started)


class ExportWork:
    """Delete export packages ``period`` or more after they expired."""

    label = "datavow.exports"
    does = "delete files"

    def __init__(self, folder: Path, period: Duration, now: datetime) -> None:
        self.folder, self.cutoff = folder, period.before(now)

    def _due(self) -> list[tuple[Path, datetime]]:
        found = []
        for path in sorted(self.folder.glob("*.dvs")) if self.folder.is_dir() else []:
            try:
                header = export_header(path)
            except (RequestError, OSError):
                continue  # not a package datavow can read: left for a person to look at
            if header.expires_at <= self.cutoff:
                found.append((path, header.expires_at))
        return found

    def due(self) -> Due:
        found = self._due()
        return Due(len(found), min((moment for _, moment in found), default=None), 0)

    def chunk(self, rows: int) -> Chunk:
        started = time.perf_counter()
        deleted = 0
        for path, _ in self._due()[:rows]:
            path.unlink(missing_ok=True)
            deleted += 1
        return Chunk(deleted, {self.label: deleted} if deleted else {}, seconds=time.perf_counter() - started)


def own_works(loaded: LoadedMap, store: Store, now: datetime, *, exports: Path | None = None) -> list[Work]:
    """datavow's own records as sweep works, in an order that respects their references."""
    own = loaded.model.retention.own

    def unlink_restrictions(connection: sa.Connection, chosen: sa.Select[Any]) -> None:
        connection.execute(
            sa.update(RestrictionRow).where(RestrictionRow.request_id.in_(chosen)).values(request_id=None)
        )

    works: list[Work] = [
        StoreWork(
            store,
            "datavow.verification_codes",
            VerificationCodeRow,
            VerificationCodeRow.expires_at,
            own.verification_codes,
            now,
        ),
        ExportWork(exports or state_directory(loaded.path) / "exports", own.exports, now),
        StoreWork(
            store,
            "datavow.requests",
            RequestRow,
            RequestRow.completed_at,
            own.requests,
            now,
            narrower=RequestRow.status.in_(_CLOSED),
            before=unlink_restrictions,
        ),
        StoreWork(
            store,
            "datavow.sweeps",
            SweepRow,
            SweepRow.finished_at,
            own.sweeps,
            now,
            narrower=SweepRow.status != "running",
        ),
    ]
    if own.audit_log is not None:
        works.append(AuditPrune(store, own.audit_log, now))
    return works
