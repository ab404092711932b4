"""Finding requests: by a person's identities, by state and deadline, and those due soon."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from datavow.datamap import LoadedMap
from datavow.errors import ErrorKind, RequestError
from datavow.plan.identity_keys import IdentityInput, identity_hashes
from datavow.requests.lifecycle.clock import DUE_SOON, utc_now
from datavow.requests.lifecycle.record import OPEN, RequestRecord, Status, choice, record_of
from datavow.store import Store
from datavow.store.models import RequestIdentityRow, RequestRow, UTCDateTime


def find_requests(store: Store, loaded: LoadedMap, identities: IdentityInput) -> list[RequestRecord]:
    """Every request naming any of these identities, oldest first (by keyed hash, nothing is unsealed)."""
    hashes = identity_hashes(store, loaded, identities)
    matching = sa.select(RequestIdentityRow.request_id).where(RequestIdentityRow.identity_hash.in_(hashes))
    with store.session(write=False) as session:
        rows = session.scalars(sa.select(RequestRow).where(RequestRow.id.in_(matching)).order_by(RequestRow.id))
        return [record_of(row) for row in rows]


def list_requests(
    store: Store,
    status: Status | str | None = None,
    due_within: timedelta | None = None,
    overdue: bool = False,
    now: datetime | None = None,
) -> list[RequestRecord]:
    """Requests, soonest deadline first.

    ``overdue`` keeps open requests past their deadline; ``due_within`` open requests not yet
    overdue whose deadline falls within that period (:data:`~datavow.requests.lifecycle.clock.DUE_SOON` is
    the usual one). Both together: either.
    """
    moment = utc_now(now)
    deadline = sa.func.coalesce(RequestRow.extended_to, RequestRow.due_at)
    query = sa.select(RequestRow)
    if status is not None:
        query = query.where(RequestRow.status == choice(Status, status, "status", "status").value)
    windows = []
    if overdue:
        windows.append(deadline < sa.literal(moment, UTCDateTime()))
    if due_within is not None:
        if due_within < timedelta(0):
            raise RequestError("due_within must not be negative", kind=ErrorKind.INVALID, field="due_within")
        start_, end = sa.literal(moment, UTCDateTime()), sa.literal(moment + due_within, UTCDateTime())
        windows.append(sa.and_(deadline >= start_, deadline <= end))
    if windows:
        query = query.where(RequestRow.status.in_([s.value for s in OPEN]), sa.or_(*windows))
    query = query.order_by(deadline, RequestRow.id)
    with store.session(write=False) as session:
        return [record_of(row) for row in session.scalars(query)]


def due_soon(store: Store, now: datetime | None = None, within: timedelta = DUE_SOON) -> list[RequestRecord]:
    """Open requests not yet overdue that are due within ``within`` (7 days by default)."""
    return list_requests(store, due_within=within, now=now)
