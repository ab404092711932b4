"""Offboarding a processor's controller (Art. 28(3)(g)): when a tenant's contract ends, its data is
returned as an export and deleted within ``retention.offboarding`` (90 days unless the map says
otherwise), and a certificate of deletion is written from the audit log.

Each step is a function, recorded in ``tenant_offboardings`` and in the audit log (object type
``tenant``, id ``<system>:<tenant>``):

- :func:`end_contract`: the contract ended (``tenant.contract_ended``); the deletion is due
  ``retention.offboarding`` after;
- :func:`export_tenant`: every row of the tenant in an encrypted package (``tenant.exported``, with
  the package's SHA-256 and rows per table);
- :func:`delete_tenant`: every row of the tenant deleted, children first, in bounded chunks by the
  retention sweeper, locked per system, legal holds respected (``tenant.deleted``);
- :func:`~datavow.retention.offboarding.certificate.write_certificate`: the certificate of deletion;
- :func:`run_due_offboardings`: for the worker, what is due (exporting first what was never
  returned).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from datavow.audit import append
from datavow.connectors.sql import connect, redact, translate_errors
from datavow.datamap.load import LoadedMap
from datavow.errors import DatavowError, ErrorKind, RequestError, shown
from datavow.plan.sql import NO_MATCH, reflected, typed_value
from datavow.retention.offboarding.delete import Kept, kept_of, tenant_works
from datavow.retention.offboarding.documents import file_safe
from datavow.retention.offboarding.export import ReturnFacts, ReturnPackage, write_return
from datavow.retention.offboarding.plan import tenant_plan, tenant_system, tenant_table
from datavow.retention.offboarding.state import (
    Offboarding,
    due_offboardings,
    get_offboarding,
    list_offboardings,
    object_id,
    row_of,
    view_of,
)
from datavow.retention.sweep import Progress, Sweeper
from datavow.retention.work import Work
from datavow.secrets import state_directory
from datavow.store import Store
from datavow.store.key import given_or_stored_key
from datavow.store.models import OffboardingRow

__all__ = [
    "DueRun",
    "Offboarding",
    "TenantDeletion",
    "TenantExport",
    "delete_tenant",
    "due_offboardings",
    "end_contract",
    "export_tenant",
    "get_offboarding",
    "list_offboardings",
    "object_id",
    "run_due_offboardings",
]

#: The shortest time a return package stays readable, even when the deletion is due sooner.
RETURN_READABLE = timedelta(days=30)


# --------------------------------------------------------------------------- ending the contract


def end_contract(
    store: Store,
    loaded: LoadedMap,
    system: str | None,
    tenant: str,
    *,
    ended_at: datetime | date,
    actor: str,
    reason: str | None = None,
    engine: Engine | None = None,
) -> Offboarding:
    """Record that the contract of ``tenant`` (a key of ``system``'s tenant table) ended at
    ``ended_at``: its data is to be returned and deleted within ``retention.offboarding``.

    Refuses a system without ``tenant:``, a tenant not in its tenant table, and a contract ended
    already. Here and in the other offboarding steps, ``system`` may be ``None`` when the map has
    exactly one system with tenants.
    """
    system = tenant_system(loaded, system)
    tenant = str(tenant).strip()
    moment = _moment(ended_at)
    with _engine(loaded, system, engine) as connected:
        controller = _controller(loaded, system, tenant, connected)
    period = loaded.model.retention.offboarding
    due_at = moment + period.delta()
    now = datetime.now(UTC)
    with store.session() as session:
        existing = session.scalars(
            sa.select(OffboardingRow).where(OffboardingRow.system == system, OffboardingRow.tenant == tenant)
        ).one_or_none()
        if existing is not None:
            raise RequestError(
                f"the contract of tenant '{tenant}' of {system} was ended already, on "
                f"{existing.contract_ended_at:%Y-%m-%d} (status {existing.status}) — the list of offboardings shows it",
                kind=ErrorKind.CONFLICT,
            )
        row = OffboardingRow(
            system=system,
            tenant=tenant,
            controller=controller,
            status="ended",
            contract_ended_at=moment,
            due_at=due_at,
            reason=reason,
            ended_by=actor,
            recorded_at=now,
            forced=False,
            counts={},
        )
        session.add(row)
        session.flush()
        append(
            session,
            actor,
            "tenant.contract_ended",
            "tenant",
            object_id(system, tenant),
            reason,
            {
                "offboarding": row.id,
                "system": system,
                "tenant": tenant,
                "controller": controller,
                "contract_ended_at": moment.isoformat(),
                "period": str(period),
                "due_at": due_at.isoformat(),
            },
        )
        return view_of(row)


def _moment(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise RequestError(
                "the contract's end must be a time-zone-aware moment — pass tzinfo=UTC",
                kind=ErrorKind.INVALID,
                field="ended_at",
            )
        return value.astimezone(UTC)
    return datetime.combine(value, time(), tzinfo=UTC)


def _controller(loaded: LoadedMap, system: str, tenant: str, engine: Engine) -> str | None:
    """The tenant's name (the tenant's ``name`` column, when declared); refuses an unknown tenant."""
    _, table_name = tenant_table(loaded, system)
    spec = loaded.model.systems[system]
    assert spec.tenant is not None
    ref = loaded.table(system, table_name)
    with translate_errors(engine.url, system), engine.connect() as connection:
        table = reflected(connection, ref.schema, table_name, system=system)
        column = table.c[spec.tenant.key[0]]
        value = typed_value(column, tenant)
        row = None
        if value is not NO_MATCH:
            named = [table.c[spec.tenant.name]] if spec.tenant.name else [sa.literal(None)]
            row = connection.execute(sa.select(*named).where(column == value).limit(1)).first()
    if row is None:
        raise RequestError(
            f"tenant {shown(tenant)} is not in {system}.{table_name} — check the tenant's {column.name}",
            kind=ErrorKind.NOT_FOUND,
            field="tenant",
        )
    return None if row[0] is None else str(row[0])


def _present(loaded: LoadedMap, system: str, tenant: str, engine: Engine) -> bool:
    """Whether the tenant's own row is still there."""
    try:
        _controller(loaded, system, tenant, engine)
    except RequestError:
        return False
    return True


@contextmanager
def _engine(loaded: LoadedMap, system: str, engine: Engine | None) -> Iterator[Engine]:
    tenant_table(loaded, system)  # refuse a system without tenants before connecting
    if engine is not None:
        yield engine
        return
    made = connect(loaded.system_url(system), system=system)
    try:
        yield made
    finally:
        made.dispose()


# --------------------------------------------------------------------------- returning the data


@dataclass(frozen=True)
class TenantExport:
    offboarding: Offboarding
    package: ReturnPackage


def export_tenant(
    store: Store,
    loaded: LoadedMap,
    system: str | None,
    tenant: str,
    *,
    actor: str,
    key: bytes | None = None,
    engine: Engine | None = None,
    out_dir: Path | None = None,
) -> TenantExport:
    """Return the tenant's data: every row of it in ``system`` in one encrypted package (in
    ``.datavow/exports`` unless ``out_dir`` says otherwise), readable until the deletion is due
    and for at least 30 days. Running it again replaces the package."""
    system = tenant_system(loaded, system)
    tenant = str(tenant).strip()
    current = get_offboarding(store, system, tenant)
    if current.status in ("deleted", "certified"):
        raise RequestError(
            f"the data of tenant '{tenant}' of {system} was deleted on {current.deleted_at:%Y-%m-%d}: "
            "there is nothing left to return"
        )
    key = given_or_stored_key(store, state_directory(loaded.path), key)
    folder = out_dir or state_directory(loaded.path) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"offboarding-{current.id}-{file_safe(system)}-{file_safe(tenant)}.zip.dvs"
    expires_at = max(current.due_at, datetime.now(UTC) + RETURN_READABLE)
    facts = ReturnFacts(current.id, system, tenant, current.controller, current.contract_ended_at, current.due_at)
    with _engine(loaded, system, engine) as connected:
        package = write_return(
            loaded, connected, tenant_plan(loaded, system, tenant), path, key=key, facts=facts, expires_at=expires_at
        )
    now = datetime.now(UTC)
    with store.session() as session:
        row = row_of(session, system, tenant)
        if row.export_path and row.export_path != str(path):
            Path(row.export_path).unlink(missing_ok=True)  # one copy of the tenant's data, not two
        row.status = "exported"
        row.exported_at, row.exported_by = now, actor
        row.export_path, row.export_sha256 = str(path), package.sha256
        row.counts = {**row.counts, "exported": package.rows}
        append(
            session,
            actor,
            "tenant.exported",
            "tenant",
            object_id(system, tenant),
            None,
            {
                "offboarding": row.id,
                "package": path.name,
                "sha256": package.sha256,
                "bytes": package.size,
                "expires_at": package.header.expires_at.isoformat(),
                "rows": package.rows,
            },
        )
        view = view_of(row)
    return TenantExport(view, package)


# --------------------------------------------------------------------------- deleting it


@dataclass
class TenantDeletion:
    """What one deletion run did: ``status`` as a sweep's (``done``, ``locked``, ``failed``,
    ``stopped``, ``interrupted``), rows deleted per table, and what stays."""

    offboarding: Offboarding
    status: str
    deleted: dict[str, int] = field(default_factory=dict)
    kept: list[Kept] = field(default_factory=list)
    error: str | None = None
    sweep_id: int | None = None
    chunks: int = 0
    longest_transaction: float = 0.0

    @property
    def changed(self) -> int:
        return sum(self.deleted.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "offboarding": self.offboarding.to_dict(),
            "status": self.status,
            "error": self.error,
            "sweep": self.sweep_id,
            "deleted": dict(self.deleted),
            "kept": [kept.to_dict() for kept in self.kept],
            "chunks": self.chunks,
            "longest_transaction": round(self.longest_transaction, 3),
        }


def delete_tenant(
    store: Store,
    loaded: LoadedMap,
    system: str | None,
    tenant: str,
    *,
    actor: str,
    force: bool = False,
    engine: Engine | None = None,
    now: datetime | None = None,
    worker: str | None = None,
    chunk_rows: int | None = None,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
) -> TenantDeletion:
    """Delete every row of the tenant in ``system``, children first, in short transactions, under
    the system's sweep lock; rows a legal hold keeps stay (and rows that a staying row references).

    Refused before the data was returned (:func:`export_tenant`) unless ``force`` (recorded).
    Running it again deletes what a stopped run left, and what a hold kept once the hold ended;
    otherwise it changes nothing.
    """
    system = tenant_system(loaded, system)
    tenant = str(tenant).strip()
    now = now or datetime.now(UTC)
    current = get_offboarding(store, system, tenant)
    unreturned = current.exported_at is None
    if unreturned and not force:
        raise RequestError(
            f"the data of tenant '{tenant}' of {system} was never returned to its controller — export it "
            "first, or delete it without returning it by forcing the deletion",
            field="force",
        )
    plan = tenant_plan(loaded, system, tenant)
    sweeper = Sweeper.for_map(
        loaded,
        store,
        actor=actor,
        worker=worker,
        chunk_rows=chunk_rows,
        progress=progress,
        stop=stop,
        kind="offboarding",
    )
    with _engine(loaded, system, engine) as connected:
        works = tenant_works(loaded, plan, connected, now)

        def listed() -> list[Work]:
            return list(works)

        details = {"map": str(loaded.path), "url": redact(connected.url), "offboarding": current.id, "tenant": tenant}
        outcome = sweeper.sweep(system, listed, now, details=details)
        result = TenantDeletion(current, outcome.status, error=outcome.error, sweep_id=outcome.sweep_id)
        for rule in outcome.rules:
            result.deleted.update({label: rows for label, rows in rule.changed.items() if rows})
            result.chunks += rule.chunks
            result.longest_transaction = max(result.longest_transaction, rule.longest_transaction)
        if outcome.status != "locked":
            result.kept = kept_of(works)
    if outcome.status == "locked":
        return result
    result.offboarding = _record_deletion(store, result, actor, forced=unreturned and force)
    return result


def _record_deletion(store: Store, result: TenantDeletion, actor: str, *, forced: bool) -> Offboarding:
    """The row and the audit log after a deletion run: ``tenant.deleted`` when it finished (the
    first time, or when it deleted something), ``tenant.deletion_incomplete`` when it stopped or
    failed having deleted something."""
    done = result.status == "done"
    current = result.offboarding
    first = current.status in ("ended", "exported")
    if not result.deleted and not (done and first):
        return current
    now = datetime.now(UTC)
    with store.session() as session:
        row = row_of(session, current.system, current.tenant)
        deleted = dict(row.counts.get("deleted", {}))
        for label, rows in result.deleted.items():
            deleted[label] = deleted.get(label, 0) + rows
        row.counts = {**row.counts, "deleted": deleted, "kept": [kept.to_dict() for kept in result.kept]}
        if done:
            row.status = "deleted"
            row.deleted_at, row.deleted_by = now, actor
            row.forced = row.forced or forced
        append(
            session,
            actor,
            "tenant.deleted" if done else "tenant.deletion_incomplete",
            "tenant",
            object_id(current.system, current.tenant),
            result.error if not done else ("deleted before its data was returned (forced)" if forced else None),
            {
                "offboarding": row.id,
                "sweep": result.sweep_id,
                "status": result.status,
                "forced": forced,
                "rows": result.deleted,
                "kept": [kept.to_dict() for kept in result.kept],
            },
        )
        return view_of(row)


# --------------------------------------------------------------------------- for the worker


@dataclass
class DueRun:
    """What the worker did for one due offboarding."""

    offboarding: Offboarding
    exported: TenantExport | None = None
    deletion: TenantDeletion | None = None
    error: str | None = None

    @property
    def status(self) -> str:
        if self.error is not None:
            return "failed"
        return self.deletion.status if self.deletion is not None else "skipped"


def run_due_offboardings(
    loaded: LoadedMap,
    engines: Mapping[str, Engine],
    store: Store,
    *,
    now: datetime,
    actor: str,
    worker: str,
    key: bytes,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
) -> list[DueRun]:
    """Delete the tenants whose deletion is due at ``now`` (exporting first those never returned,
    so that a controller always gets its data back) in the systems of ``loaded`` that ``engines``
    connect. One failing offboarding is reported and the others go on; a system another worker
    sweeps is reported ``locked`` and tried again next time."""
    runs = []
    for due in due_offboardings(store, now):
        if due.system not in engines or due.system not in loaded.model.systems:
            continue
        run = DueRun(due)
        runs.append(run)
        engine = engines[due.system]
        try:
            # a deletion already made without a package (forced) goes on without one
            gone = due.exported_at is None and due.status not in ("ended", "exported")
            if due.exported_at is None and due.status == "ended":
                if _present(loaded, due.system, due.tenant, engine):
                    run.exported = export_tenant(
                        store, loaded, due.system, due.tenant, actor=actor, key=key, engine=engine
                    )
                else:  # a retention rule deleted the tenant's own row already: nothing is left to return
                    gone = True
            run.deletion = delete_tenant(
                store,
                loaded,
                due.system,
                due.tenant,
                actor=actor,
                force=gone,
                engine=engine,
                now=now,
                worker=worker,
                progress=progress,
                stop=stop,
            )
        except DatavowError as exc:
            run.error = str(exc)
        if stop is not None and stop():
            break
    return runs
