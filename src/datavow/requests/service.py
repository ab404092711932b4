"""Running a verified request end to end: plan, discover (kept), then erase, rectify or export.

This is where the parts meet: the lifecycle (:mod:`datavow.requests.lifecycle`) moves the request and
writes the audit log; the planner finds the person; the executors change or read the databases.
What discovery found is sealed into the state store *before* anything changes, so a run that
stops halfway (a crash, an unreachable system) resumes on exactly the same rows when run again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from datavow.audit import append
from datavow.changes.systems import SystemsResult
from datavow.connectors.databases import Databases
from datavow.consent.transfer import ledger_for_export
from datavow.datamap import LoadedMap
from datavow.errors import DatavowError, ErrorKind, RequestError
from datavow.plan import compile_plan, parse_identities
from datavow.plan.identity_keys import IdentityKeys
from datavow.plan.model import Discovery, Plan
from datavow.requests.erasure import erase
from datavow.requests.erasure.still_held import still_held
from datavow.requests.export import ExportInfo, export_access
from datavow.requests.lifecycle import (
    Receipt,
    RequestKind,
    RequestRecord,
    Status,
    begin,
    complete,
    ensure_startable,
    get,
    read_request,
    request_identities,
)
from datavow.requests.lifecycle.persisted import load_discovery, save_discovery
from datavow.requests.lifecycle.runs import Changes, interrupted, mark_step, new_run
from datavow.requests.reading import Source, find_person, snapshots
from datavow.requests.rectification import rectify
from datavow.requests.restricting import set_restriction_flags
from datavow.secrets import state_directory
from datavow.store import Store
from datavow.store.key import check_key

Progress = Callable[[str, str, int, int], None]


@dataclass(frozen=True)
class RunOptions:
    """What a run needs beyond the request itself."""

    key: bytes
    export_dir: Path | None = None  # where access packages are written (default: .datavow/exports)
    export_days: int = 30  # how long a package stays downloadable
    corrections: Mapping[str, str] = field(default_factory=dict)  # rectification: category or field -> value
    progress: Progress | None = None


def plan_for(loaded: LoadedMap, record: RequestRecord, identities: Mapping[str, frozenset[object]]) -> Plan:
    return compile_plan(loaded, identities.keys(), tenant=record.tenant)


def run_request(
    store: Store,
    loaded: LoadedMap,
    request_id: int,
    options: RunOptions,
    actor: str,
    *,
    databases: Databases,
    now: datetime | None = None,
) -> RequestRecord:
    """Execute a verified request (or resume one in progress) and complete it, on the engines of
    ``databases``; run once more when a system's schema changed under what was reflected.

    The state store sees three transactions: the request read (with any discovery kept for it),
    the request started together with what discovery found (``request.started`` and
    ``request.discovered``, committed before anything changes), and the request completed. A
    failure writes ``request.interrupted`` and leaves the request in progress, to be run again.
    """
    check_key(store, options.key)
    keys = IdentityKeys.for_store(store, loaded)
    with store.session(write=False) as session:
        record, given = read_request(session, keys, request_id)
        kept = _kept_discovery(session, loaded, record, given, options.key)
    ensure_startable(record)
    return _run(store, loaded, record, given, kept, options, actor, databases=databases, now=now)


def run_received(
    store: Store,
    loaded: LoadedMap,
    receipt: Receipt,
    options: RunOptions,
    *,
    databases: Databases,
    now: datetime | None = None,
) -> RequestRecord:
    """Record a request verified on arrival (``receipt`` with ``verified_by``) and run it at once,
    as :func:`receive` then :func:`run_request` would, in two transactions instead of three:
    discovery runs first, and the request is received, verified, started and what discovery found
    kept in one; then it is completed. If it fails before that, the request is still recorded as
    received and verified (its clock runs from receipt), started and interrupted as
    :func:`run_request` records a failure, and the error is raised."""
    if receipt.verified_by is None or receipt.forwarded:
        raise RequestError("only a request verified on arrival, and not forwarded, is run as it is received")
    check_key(store, options.key)
    # not in the store yet: what planning needs (kind, tenant); the id comes when it is recorded
    pending = RequestRecord(
        id=0,
        kind=receipt.kind,
        status=Status.verified,
        source=receipt.source,
        tenant=receipt.tenant,
        received_at=receipt.received_at,
        due_at=receipt.received_at,
        extended_to=None,
        extension_reason=None,
        verified_at=receipt.now,
        started_at=None,
        completed_at=None,
        denied_reason=None,
        forwarded_to=None,
        identity_kinds=tuple(sorted(receipt.identities)),
        result=None,
    )
    return _run(
        store,
        loaded,
        pending,
        receipt.identities,
        None,
        options,
        receipt.actor,
        databases=databases,
        now=now,
        receipt=receipt,
    )


def _run(
    store: Store,
    loaded: LoadedMap,
    record: RequestRecord,
    given: Mapping[str, Sequence[str]],
    kept: Discovery | None,
    options: RunOptions,
    actor: str,
    *,
    databases: Databases,
    now: datetime | None = None,
    receipt: Receipt | None = None,
) -> RequestRecord:
    """Run ``record`` (startable); with ``receipt`` it is not recorded yet, and is recorded in the
    transaction that starts it, or, on a failure before that, in the one that writes the failure."""
    started = False
    run, resuming = new_run(), record.status is Status.in_progress
    changes: Changes | None = None  # one for the run, whichever attempt commits a system

    def begun(session: Session) -> RequestRecord:
        """Start the request in ``session``, recording it first when it is not recorded yet."""
        current = record if receipt is None else receipt.record(session)
        return begin(session, current, actor, now=now, run=run)

    def found(plan: Plan, identities: Mapping[str, frozenset[object]], sources: Mapping[str, Source]) -> Discovery:
        """What discovery found (or the discovery kept), kept in the store in the transaction that
        starts (or resumes) the request."""
        nonlocal record, started, kept
        discovery = kept
        if discovery is None:  # a tenant the request names was looked up when it was received
            discovery = find_person(loaded, plan, identities, sources, check_tenant=record.tenant is None)
        if not started:
            with store.session() as session:
                running = begun(session)
                if kept is None:
                    _keep(session, running, discovery, options.key, actor, [running.id])
            record, started, kept = running, True, discovery  # committed
        return discovery

    def attempt() -> dict[str, Any]:
        nonlocal changes
        identities = parse_identities(loaded, given)
        plan = plan_for(loaded, record, identities)
        engines = databases.engines(loaded, plan.systems())
        if record.kind in READS_ONLY:  # discovery and export read one view of each system
            with snapshots(engines) as connections:
                discovery = found(plan, identities, connections)
                return _export(store, loaded, record, identities, discovery, connections, options)
        discovery = found(plan, identities, engines)  # before ``record`` is read: this records it
        changes = changes or Changes(store, record.id, run, [record.id], resumed=resuming)
        done = _carry_out(loaded, record, identities, discovery, engines, options, changes)
        if record.kind is RequestKind.erasure and not done.get("found", True):
            # found nothing now, but earlier erasures may have left rows a hold keeps: say so
            done["still_held"] = still_held(store, loaded, given, datetime.now(UTC))
        return done

    try:
        result = databases.retrying(attempt)
    except DatavowError as exc:
        with store.session() as session:
            if not started:  # failed before it began: it begins, and is interrupted, in one transaction
                record = begun(session)
            interrupted(session, actor, record.id, exc)
        raise
    except BaseException:
        if receipt is not None and not started:  # recorded as received and verified all the same
            with store.session() as session:
                receipt.record(session)
        raise
    return complete(store, record.id, result, actor, now=now)


def _kept_discovery(
    session: Session, loaded: LoadedMap, record: RequestRecord, given: Mapping[str, Sequence[str]], key: bytes
) -> Discovery | None:
    """The discovery kept for a request in progress (None for one not started)."""
    if record.status is not Status.in_progress:
        return None
    return load_discovery(session, record.id, plan_for(loaded, record, parse_identities(loaded, given)), key)


def _keep(
    session: Session, record: RequestRecord, discovery: Discovery, key: bytes, actor: str, holders: Sequence[int]
) -> None:
    """Seal what discovery found into the store, before anything changes, with its audit entry;
    the run holding ``holders`` has reached its changes."""
    save_discovery(session, record.id, discovery, key)
    details = {"rows": discovery.counts(), "systems": discovery.plan.systems()}
    append(session, actor, "request.discovered", "request", str(record.id), details=details)
    mark_step(session, holders, "discovered")


READS_ONLY = (RequestKind.access, RequestKind.portability)
BATCHABLE = (RequestKind.erasure, RequestKind.restriction, RequestKind.objection)


def run_batch(
    store: Store,
    loaded: LoadedMap,
    request_ids: Sequence[int],
    options: RunOptions,
    actor: str,
    *,
    databases: Databases,
    now: datetime | None = None,
) -> list[RequestRecord]:
    """Execute many verified requests of one kind as ONE plan: one discovery and one statement per
    table step for all the people at once (the day a controller sends ten thousand erasures).

    The batch is kept under its first request's id, so an interrupted batch resumes like a single
    request. Every request is moved, and completed, with its own audit entries.
    """
    ids = sorted(dict.fromkeys(request_ids))
    if not ids:
        raise RequestError("a batch needs at least one request", kind=ErrorKind.INVALID, field="requests")
    check_key(store, options.key)
    records = [get(store, request_id) for request_id in ids]
    kinds = {record.kind for record in records}
    tenants = {record.tenant for record in records}
    if len(kinds) != 1 or len(tenants) != 1:
        raise RequestError(
            "a batch holds requests of one kind for one tenant; split it — found kinds "
            f"{', '.join(sorted(k.value for k in kinds))} and tenants {sorted(map(str, tenants))}",
            kind=ErrorKind.INVALID,
            field="requests",
        )
    lead = records[0]
    if lead.kind not in BATCHABLE:
        raise RequestError(
            f"{lead.kind.value} requests are answered one by one (each gets its own package or "
            "corrections); batches are for " + ", ".join(k.value for k in BATCHABLE),
            kind=ErrorKind.INVALID,
            field="requests",
        )
    waiting = [r for r in records if r.status not in (Status.verified, Status.in_progress)]
    if waiting:
        listed = ", ".join(f"#{r.id} ({r.status.value})" for r in waiting[:10])
        raise RequestError(f"only verified requests can run; not these: {listed}")
    people = [parse_identities(loaded, request_identities(store, loaded, record.id)) for record in records]
    merged: dict[str, set[object]] = {}
    for person in people:
        for kind, values in person.items():
            merged.setdefault(kind, set()).update(values)
    identities = {kind: frozenset(values) for kind, values in merged.items()}
    run = new_run()
    with store.session() as session:  # each request started, or taken up (resumed), by this run
        for record in records:
            begin(session, record, actor, now=now, run=run)
        append(session, actor, "request.batched", "request", str(lead.id), details={"requests": ids})
    plan = plan_for(loaded, lead, identities)
    changes = Changes(store, lead.id, run, ids, resumed=any(r.status is Status.in_progress for r in records))

    def attempt() -> dict[str, Any]:
        engines = databases.engines(loaded, plan.systems())
        discovery = _kept_or_found(store, loaded, lead, plan, identities, engines, options.key, actor, people, ids)
        return _carry_out(loaded, lead, identities, discovery, engines, options, changes)

    try:
        result = databases.retrying(attempt)
    except DatavowError as exc:
        interrupted(store, actor, ids, exc, {"batch": ids})
        raise
    summary = {**result, "batch": lead.id, "batch_size": len(ids)}
    with store.session() as session:
        return [complete(session, record.id, summary, actor, now=now) for record in records]


def _kept_or_found(
    store: Store,
    loaded: LoadedMap,
    record: RequestRecord,
    plan: Plan,
    identities: Mapping[str, frozenset[object]],
    sources: Mapping[str, Source],
    key: bytes,
    actor: str,
    people: Sequence[Mapping[str, frozenset[object]]] | None = None,
    holders: Sequence[int] = (),
) -> Discovery:
    with store.session(write=False) as session:
        kept = load_discovery(session, record.id, plan, key)
    if kept is not None:
        return kept
    discovery = find_person(loaded, plan, identities, sources, people=people)
    with store.session() as session:
        _keep(session, record, discovery, key, actor, holders or [record.id])
    return discovery


def _carry_out(
    loaded: LoadedMap,
    record: RequestRecord,
    identities: Mapping[str, frozenset[object]],
    discovery: Discovery,
    engines: Mapping[str, Engine],
    options: RunOptions,
    changes: Changes,
) -> dict[str, Any]:
    """Erase, rectify or flag; the result counts what every run of the request changed."""
    now = datetime.now(UTC)
    kind = RequestKind(record.kind)
    if kind is RequestKind.erasure:
        erased = erase(
            loaded,
            discovery,
            engines,
            key=options.key,
            now=now,
            progress=options.progress,
            committing=changes.committing,
        )
        return {"found": discovery.found_anything, **_counted(_finished(erased, "erasure"), changes, "steps", "step")}
    if kind is RequestKind.rectification:
        if not options.corrections:
            raise RequestError(
                "a rectification needs the corrected values: give each as a category or field and its new value",
                kind=ErrorKind.INVALID,
                field="corrections",
            )
        rectified = rectify(loaded, discovery, engines, options.corrections, now=now, committing=changes.committing)
        return _counted(_finished(rectified, "rectification"), changes, "fields", "field")
    if kind in (RequestKind.restriction, RequestKind.objection):
        flagged = set_restriction_flags(loaded, discovery, engines, True, changes.committing)
        counted = changes.steps()
        return {
            "found": bool(discovery.found_anything),
            "flagged": {label: int(counted.get(label, {}).get("flagged", rows)) for label, rows in flagged.items()},
        }
    raise RequestError(f"requests of kind {kind.value} are not executed here")


def _export(
    store: Store,
    loaded: LoadedMap,
    record: RequestRecord,
    identities: Mapping[str, frozenset[object]],
    discovery: Discovery,
    sources: Mapping[str, Source],
    options: RunOptions,
) -> dict[str, Any]:
    """The access or portability package, with what datavow itself keeps about the person."""
    now = datetime.now(UTC)
    folder = options.export_dir or state_directory(loaded.path) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    consent = _consent_ledger(store, loaded, identities, options.key)
    package = export_access(
        loaded,
        discovery,
        sources,
        folder / f"request-{record.id}.zip.dvs",
        key=options.key,
        request=ExportInfo(request_id=str(record.id), received_at=record.received_at, identities=identities),
        expires_at=now + timedelta(days=options.export_days),
        own_records={"consent": consent},
    )
    return {
        "found": package.found_anything or bool(consent),
        "package": str(package.path),
        "rows": package.rows,
        "consent_events": len(consent),
        "tables": {t.label: t.rows for t in package.tables},
        "expires_at": package.header.expires_at.isoformat(),
    }


def _counted(done: dict[str, Any], changes: Changes, items: str, label: str) -> dict[str, Any]:
    """``done`` with each of its ``items`` (steps, fields), and the rows changed in all, as the run
    that changed each system counted them: a resumed run finds nothing left where another committed."""
    counted = changes.steps()
    done[items] = [counted.get(item[label], item) for item in done[items]]
    done["changed"] = changes.changed
    return done


def _finished(result: SystemsResult, what: str) -> dict[str, Any]:
    """The result, when every system finished; otherwise an error that leaves the request in
    progress (the systems that failed changed nothing, and a re-run finishes them)."""
    failed = {name: outcome for name, outcome in result.systems.items() if outcome.status != "done"}
    if failed:
        names = ", ".join(f"{name} ({outcome.error})" for name, outcome in failed.items())
        raise RequestError(
            f"the {what} could not finish on {names}; nothing there was changed — fix it and run "
            "the request again to finish (what was found is kept)"
        )
    return result.to_dict()


def _consent_ledger(
    store: Store, loaded: LoadedMap, identities: Mapping[str, frozenset[object]], key: bytes
) -> list[dict[str, Any]]:
    """The person's consent and preference events (Art. 15: what datavow itself holds about them)."""
    return ledger_for_export(
        store, loaded, {kind: [str(v) for v in values] for kind, values in identities.items()}, key
    )
