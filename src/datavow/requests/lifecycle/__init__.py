"""The life of a data subject request: received, verified, in progress, completed.

::

    received ──verify──▶ verified ──start──▶ in_progress ──complete──▶ completed
       │  └──forward──▶ forwarded (processor mode, Art. 28(3)(e))
       └──────────────────┴──────────deny──────────┴──▶ denied (Art. 12(4))

Every change of state is written together with its audit entry, in one transaction: a request
is never in a state the audit log does not show. The clock (:mod:`datavow.requests.lifecycle.clock`) is
set on receipt and can be extended once, within the first month.

Functions that change a request take a :class:`~datavow.store.Store` (their own transaction) or
a session from ``store.session()`` (the caller's transaction), like :func:`datavow.audit.append`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from datavow.audit import append
from datavow.connectors.databases import Databases
from datavow.datamap import LoadedMap
from datavow.datamap.model import Role
from datavow.errors import ErrorKind, RequestError
from datavow.plan.identity_keys import (
    IdentityInput,
    IdentityKeys,
    canonical_identities,
    kinds_text,
)
from datavow.requests.lifecycle.clock import aware, due_date, extended_due_date, utc_now
from datavow.requests.lifecycle.listing import due_soon, find_requests, list_requests
from datavow.requests.lifecycle.record import (
    OPEN,
    TRANSITIONS,
    RequestKind,
    RequestRecord,
    Source,
    Status,
    choice,
    record_of,
)
from datavow.requests.lifecycle.runs import hold, new_run, take_up
from datavow.requests.lifecycle.tenants import controller_name
from datavow.store import Store
from datavow.store.models import RequestIdentityRow, RequestRow

# Per state: the verb that moves a request into it (for "allowed now: verify, deny"), how the
# message says it ("cannot be started") and the audit action that records it.
_VERB = {
    Status.verified: ("verify", "verified", "request.verified"),
    Status.in_progress: ("start", "started", "request.started"),
    Status.completed: ("complete", "completed", "request.completed"),
    Status.denied: ("deny", "denied", "request.denied"),
    Status.forwarded: ("forward", "forwarded", "request.forwarded"),
}


# --------------------------------------------------------------------------- receiving


def receive(
    store: Store,
    loaded: LoadedMap,
    kind: RequestKind | str,
    identities: IdentityInput,
    *,
    source: Source | str,
    tenant: str | None = None,
    actor: str,
    received_at: datetime | None = None,
    controller: str | None = None,
    databases: Databases | None = None,
    verified_by: str | None = None,
) -> RequestRecord:
    """Record a new request and start its clock (due one month after ``received_at``, now by
    default; pass the date a letter arrived).

    ``verified_by`` says how the person's identity was verified already (a signed letter, a
    controller's request): the request is then received and verified in one transaction, as
    :func:`verify` would record it.

    ``identities`` name the person (``{"email": "jane@example.com"}``), validated against the
    map and sealed at rest. ``tenant`` scopes the request to one controller of a tenant-scoped
    system. In processor mode a request from the data subject (``source="data_subject"``) about
    a tenant is not ours to answer: it is recorded as ``forwarded`` to that controller (Art.
    28(3)(e)), whose name is read from the tenant table (on the engines of ``databases`` when
    given) unless ``controller`` gives it.
    """
    prepared = prepare_receipt(
        store,
        loaded,
        kind,
        identities,
        source=source,
        tenant=tenant,
        actor=actor,
        received_at=received_at,
        controller=controller,
        databases=databases,
        verified_by=verified_by,
    )
    with store.session() as session:
        return prepared.record(session)


@dataclass(frozen=True)
class Receipt:
    """A request checked and ready to be recorded (:func:`prepare_receipt`): :meth:`record`
    writes it in the caller's transaction, so a caller can commit it together with what follows."""

    loaded: LoadedMap
    kind: RequestKind
    source: Source
    identities: dict[str, tuple[str, ...]]  # canonical: what is sealed and hashed
    tenant: str | None
    controller: str | None
    received_at: datetime
    now: datetime
    actor: str
    verified_by: str | None
    keys: IdentityKeys  # the installation's, checked against the store before anything is recorded

    @property
    def forwarded(self) -> bool:
        """Recorded as forwarded to the controller (processor mode), not ours to verify or answer."""
        return self.source is Source.data_subject and self.controller is not None

    def record(self, session: Session) -> RequestRecord:
        """Write the request with ``request.received`` (then ``request.forwarded`` or, given
        ``verified_by``, ``request.verified``) in ``session``; the caller commits."""
        keys = self.keys
        row = RequestRow(
            kind=self.kind.value,
            status=Status.received.value,
            source=self.source.value,
            tenant=self.tenant,
            received_at=self.received_at,
            due_at=due_date(self.received_at),
            identity_kinds=kinds_text(self.identities),
            identities=b"",
        )
        session.add(row)
        session.flush()  # the id is part of what the identities are sealed to
        row.identities = keys.seal(self.identities, _context(row.id))
        session.add_all(RequestIdentityRow(request_id=row.id, identity_hash=h) for h in keys.hashes(self.identities))
        details = {
            "kind": self.kind.value,
            "source": self.source.value,
            "tenant": self.tenant,
            "identity_kinds": sorted(self.identities),
            "due_at": row.due_at.isoformat(),
        }
        reason = _ARTICLE[self.kind]
        append(session, self.actor, "request.received", "request", str(row.id), reason=reason, details=details)
        if self.forwarded:
            assert self.controller is not None
            return forward(session, row.id, self.controller, self.actor, now=self.now)
        if self.verified_by is not None:
            return verify(session, row.id, self.actor, method=self.verified_by, now=self.now)
        return record_of(row)


def prepare_receipt(
    store: Store,
    loaded: LoadedMap,
    kind: RequestKind | str,
    identities: IdentityInput,
    *,
    source: Source | str,
    tenant: str | None = None,
    actor: str,
    received_at: datetime | None = None,
    controller: str | None = None,
    databases: Databases | None = None,
    verified_by: str | None = None,
) -> Receipt:
    """What :func:`receive` checks before it writes anything (same arguments, same errors): the
    request ready to be recorded with :meth:`Receipt.record`."""
    kind = choice(RequestKind, kind, "request kind", "kind")
    source = choice(Source, source, "source", "source")
    parsed = canonical_identities(loaded, identities)
    now = utc_now(None)
    received = aware(received_at, "received_at") if received_at is not None else now
    if received > now + timedelta(minutes=5):
        raise RequestError(
            f"received_at {received:%Y-%m-%d %H:%M} UTC is in the future: give when it arrived",
            kind=ErrorKind.INVALID,
            field="received_at",
        )
    roles = set(loaded.model.organization.roles)
    if tenant is None and source is Source.data_subject and Role.controller not in roles:
        raise RequestError(
            f"{loaded.model.organization.name} is only a processor: name the controller (tenant) the request "
            "is about, so it can be forwarded to them (Art. 28(3)(e))",
            kind=ErrorKind.INVALID,
            field="tenant",
        )
    if tenant is not None:
        tenant = tenant.strip()
        controller = controller or controller_name(loaded, tenant, databases)
    keys = IdentityKeys.for_store(store, loaded)  # the key is the store's before anything is done for the request
    return Receipt(loaded, kind, source, parsed, tenant, controller, received, now, actor, verified_by, keys)


_ARTICLE = {
    RequestKind.access: "Art. 15",
    RequestKind.erasure: "Art. 17",
    RequestKind.rectification: "Art. 16",
    RequestKind.restriction: "Art. 18",
    RequestKind.objection: "Art. 21",
    RequestKind.portability: "Art. 20",
}


# --------------------------------------------------------------------------- moving on


def verify(
    target: Store | Session, request_id: int, actor: str, *, method: str = "manual", now: datetime | None = None
) -> RequestRecord:
    """The person's identity is verified (``method``: how, e.g. ``email code``): received → verified."""
    with _session(target) as session:
        row = request_row(session, request_id, lock=True)
        moment = utc_now(now)
        _move(session, row, Status.verified, actor, details={"method": method}, verified_at=moment)
        return record_of(row)


def start(target: Store | Session, request_id: int, actor: str, *, now: datetime | None = None) -> RequestRecord:
    """Execution begins: verified → in_progress. The caller then runs the plan."""
    with _session(target) as session:
        row = request_row(session, request_id, lock=True)
        _move(session, row, Status.in_progress, actor, started_at=utc_now(now))
        return record_of(row)


def complete(
    target: Store | Session,
    request_id: int,
    result: Mapping[str, Any],
    actor: str,
    *,
    now: datetime | None = None,
) -> RequestRecord:
    """The request was answered: in_progress → completed, keeping ``result`` (JSON).

    ``result`` is written to the audit entry too, which outlives the request: counts, tables,
    a package id; never personal data.
    """
    payload = dict(result)
    with _session(target) as session:
        row = request_row(session, request_id, lock=True)
        _move(
            session,
            row,
            Status.completed,
            actor,
            details={"result": payload},
            completed_at=utc_now(now),
            result=payload,
        )
        return record_of(row)


def deny(
    target: Store | Session, request_id: int, reason: str, actor: str, *, now: datetime | None = None
) -> RequestRecord:
    """Refuse the request with a reason (Art. 12(4)); :func:`~datavow.requests.lifecycle.letters.denial_letter`
    writes the answer, which must tell the person they may complain to the supervisory authority."""
    reason = required(reason, "a refusal needs its reason (Art. 12(4)): pass reason")
    with _session(target) as session:
        row = request_row(session, request_id, lock=True)
        _move(session, row, Status.denied, actor, reason=reason, completed_at=utc_now(now), denied_reason=reason)
        return record_of(row)


def forward(
    target: Store | Session, request_id: int, controller: str, actor: str, *, now: datetime | None = None
) -> RequestRecord:
    """Hand a received request to the controller it belongs to (Art. 28(3)(e)): received → forwarded."""
    controller = required(controller, "name the controller the request is forwarded to", "controller")
    with _session(target) as session:
        row = request_row(session, request_id, lock=True)
        _move(
            session,
            row,
            Status.forwarded,
            actor,
            reason=f"Art. 28(3)(e): forwarded to the controller, {controller}",
            details={"controller": controller, "tenant": row.tenant},
            completed_at=utc_now(now),
            forwarded_to=controller,
        )
        return record_of(row)


def extend(
    target: Store | Session,
    request_id: int,
    months: int,
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> RequestRecord:
    """Extend the deadline by 1 or 2 further months (Art. 12(3)): once, with a reason, and only
    within the first month. Tell the person, with the reason
    (:func:`~datavow.requests.lifecycle.letters.extension_letter`)."""
    reason = required(reason, "an extension needs its reason (Art. 12(3)): pass reason")
    with _session(target) as session:
        row = request_row(session, request_id, lock=True)
        status = Status(row.status)
        if status not in OPEN:
            raise RequestError(f"request {request_id} is {status.value}: only an open request can be extended")
        new_due = extended_due_date(
            row.received_at, row.due_at, months, utc_now(now), extended=row.extended_to is not None
        )
        row.extended_to, row.extension_reason = new_due, reason
        details = {"months": months, "due_at": row.due_at.isoformat(), "extended_to": new_due.isoformat()}
        append(session, actor, "request.extended", "request", str(row.id), reason=reason, details=details)
        return record_of(row)


# --------------------------------------------------------------------------- reading


def get(store: Store, request_id: int) -> RequestRecord:
    """The request with this id; :class:`RequestError` if there is none."""
    with store.session(write=False) as session:
        return record_of(request_row(session, request_id))


def request_identities(store: Store, loaded: LoadedMap, request_id: int) -> dict[str, tuple[str, ...]]:
    """The identities a request names, unsealed: what the planner needs to find the person."""
    with store.session(write=False) as session:
        return read_request(session, IdentityKeys.for_store(store, loaded), request_id)[1]


def read_request(
    session: Session, keys: IdentityKeys, request_id: int
) -> tuple[RequestRecord, dict[str, tuple[str, ...]]]:
    """The request and the identities it names, unsealed with ``keys`` (the installation's, checked
    against the store: :meth:`IdentityKeys.for_store`), read in the caller's transaction."""
    row = request_row(session, request_id)
    identities = keys.unseal(row.identities, _context(request_id))
    return record_of(row), identities


def ensure_startable(record: RequestRecord) -> None:
    """Raise the :class:`RequestError` :func:`start` would, unless ``record`` is verified (or in
    progress, to be resumed): checked before any work is done for it."""
    if record.status is not Status.in_progress and Status.in_progress not in TRANSITIONS[record.status]:
        raise RequestError(_refusal(record.id, record.status, Status.in_progress))


def begin(
    session: Session, record: RequestRecord, actor: str, *, now: datetime | None = None, run: str | None = None
) -> RequestRecord:
    """In the caller's transaction: start a verified request, or take up one in progress
    (``request.resumed``, after ``request.interrupted`` for a run that left it without a word);
    either way ``run`` (a new one by default) holds it until it ends (see :mod:`.runs`)."""
    run = run or new_run()
    row = request_row(session, record.id, lock=True)
    if Status(row.status) is Status.in_progress:
        take_up(session, row, actor, run)
        return record_of(row)
    started = start(session, record.id, actor, now=now)
    hold(row, run)
    return started


# --------------------------------------------------------------------------- internals


def _context(request_id: int) -> str:
    return f"request:{request_id}"


def required(text: str, message: str, field: str = "reason") -> str:
    """``text`` stripped; :class:`RequestError` with ``message`` about ``field`` when it is empty."""
    if not isinstance(text, str) or not text.strip():
        raise RequestError(message, kind=ErrorKind.INVALID, field=field)
    return text.strip()


@contextmanager
def _session(target: Store | Session) -> Iterator[Session]:
    if isinstance(target, Session):
        yield target
    else:
        with target.session() as session:
            yield session


def request_row(session: Session, request_id: int, *, lock: bool = False) -> RequestRow:
    """The request's row in ``session``; :class:`RequestError` if there is none.

    ``lock``: held until the transaction ends (PostgreSQL; SQLite write sessions hold the
    database lock already), so two agents cannot move one request at once.
    """
    query = sa.select(RequestRow).where(RequestRow.id == request_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = session.scalars(query).one_or_none()
    if row is None:
        raise RequestError(
            f"there is no request {request_id}: the list of requests shows them", kind=ErrorKind.NOT_FOUND
        )
    return row


def _move(
    session: Session,
    row: RequestRow,
    to: Status,
    actor: str,
    *,
    reason: str | None = None,
    details: Mapping[str, object] | None = None,
    **changes: Any,
) -> None:
    """Check the transition, change the row, and append ``request.<state>`` in the same transaction."""
    current = Status(row.status)
    if to not in TRANSITIONS[current]:
        raise RequestError(_refusal(row.id, current, to))
    row.status = to.value
    if to is not Status.in_progress:  # an ended request is held by no run
        row.run_id = row.run_step = None
    for name, value in changes.items():
        setattr(row, name, value)
    session.flush()
    append(session, actor, _VERB[to][2], "request", str(row.id), reason=reason, details=details)


def _refusal(request_id: int, current: Status, to: Status) -> str:
    allowed = sorted(_VERB[s][0] for s in TRANSITIONS[current])
    then = f"allowed now: {', '.join(allowed)}" if allowed else f"a {current.value} request is final"
    return f"request {request_id} is {current.value}, so it cannot be {_VERB[to][1]}: {then}"


__all__ = [
    "OPEN",
    "TRANSITIONS",
    "Receipt",
    "RequestKind",
    "RequestRecord",
    "Source",
    "Status",
    "begin",
    "complete",
    "deny",
    "due_soon",
    "ensure_startable",
    "extend",
    "find_requests",
    "forward",
    "get",
    "list_requests",
    "prepare_receipt",
    "read_request",
    "receive",
    "request_identities",
    "request_row",
    "required",
    "start",
    "verify",
]
