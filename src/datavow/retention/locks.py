"""One sweep per system at a time, across processes and machines sharing the state store.

A lock is a row per system in ``retention_locks`` with a lease. Taking it is one statement that
either inserts the row or takes over a row whose lease has run out; both are atomic in SQLite (a
write transaction locks the file) and in PostgreSQL (the row lock makes the second of two
concurrent takeovers re-read the row, find the new lease and change nothing). A holder renews the
lease as it works; if it finds the lease taken it stops, so a worker that stalled past its lease
never sweeps beside the one that took over. A holder named ``host:pid`` (the default) whose process
is gone from this very host is taken over at once: a sweep killed here is resumed without waiting.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from datavow.errors import StateError
from datavow.store import Store
from datavow.store.models import SweepLockRow

#: How long a lease lasts without renewal: longer than any chunk, short enough to recover soon.
LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Holder:
    """Who holds a system's lock, and until when."""

    system: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


class LockLost(StateError):
    """Another worker took the lock over: this one must stop sweeping."""


def acquire(store: Store, system: str, holder: str, *, now: datetime | None = None) -> Holder | None:
    """Take ``system``'s lock for ``holder``; None when someone else holds a live lease."""
    now = now or datetime.now(UTC)
    values = {"holder": holder, "acquired_at": now, "expires_at": now + LEASE, "sweep_id": None}
    try:
        with store.session() as session:
            session.add(SweepLockRow(system=system, **values))
    except IntegrityError:
        free = sa.or_(SweepLockRow.expires_at < now, SweepLockRow.holder == holder)
        current = holder_of(store, system, now=now)
        if current is not None and _dead_here(current.holder):
            free = sa.or_(free, SweepLockRow.holder == current.holder)  # its process is gone: take over now
        statement = sa.update(SweepLockRow).where(SweepLockRow.system == system, free).values(**values)
        with store.session() as session:
            if session.execute(statement).rowcount != 1:  # type: ignore[attr-defined]
                return None
    return Holder(system, holder, now, now + LEASE)


def renew(store: Store, system: str, holder: str, *, sweep_id: int | None = None) -> None:
    """Extend the lease; raise :class:`LockLost` when ``holder`` no longer holds it."""
    now = datetime.now(UTC)
    values: dict[str, object] = {"expires_at": now + LEASE}
    if sweep_id is not None:
        values["sweep_id"] = sweep_id
    statement = sa.update(SweepLockRow).where(SweepLockRow.system == system, SweepLockRow.holder == holder)
    statement = statement.values(**values)
    with store.session() as session:
        if session.execute(statement).rowcount != 1:  # type: ignore[attr-defined]
            raise LockLost(f"another worker took over the sweep of {system} — this one stops")


def release(store: Store, system: str, holder: str) -> None:
    with store.session() as session:
        session.execute(sa.delete(SweepLockRow).where(SweepLockRow.system == system, SweepLockRow.holder == holder))


def holder_of(store: Store, system: str, *, now: datetime | None = None) -> Holder | None:
    """Who holds a live lease on ``system`` now, if anyone."""
    now = now or datetime.now(UTC)
    with store.session(write=False) as session:
        row = session.get(SweepLockRow, system)
        if row is None or row.expires_at < now:
            return None
        return Holder(row.system, row.holder, row.acquired_at, row.expires_at)


def _dead_here(holder: str) -> bool:
    """Whether ``holder`` names a process of this machine (``host:pid``) that no longer runs: a
    sweep killed here need not wait for its lease to run out."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
