"""Where each controller's offboarding stands, as ``tenant_offboardings`` records it: reading it.

The functions that move an offboarding on are in :mod:`datavow.retention.offboarding`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from datavow.errors import ErrorKind, RequestError, shown
from datavow.store import Store
from datavow.store.models import OffboardingRow


@dataclass(frozen=True)
class Offboarding:
    """Where one controller's offboarding stands."""

    id: int
    system: str
    tenant: str
    controller: str | None
    status: str  # ended, exported, deleted, certified
    contract_ended_at: datetime
    due_at: datetime
    reason: str | None
    exported_at: datetime | None
    export_path: str | None
    export_sha256: str | None
    deleted_at: datetime | None
    forced: bool
    certified_at: datetime | None
    certificate_path: str | None
    counts: Mapping[str, Any]

    @property
    def object_id(self) -> str:
        return object_id(self.system, self.tenant)

    def overdue(self, now: datetime) -> bool:
        """Its data should be gone by now and is not."""
        return self.status in ("ended", "exported") and self.due_at <= now

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        def when(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment is not None else None

        return {
            "id": self.id,
            "system": self.system,
            "tenant": self.tenant,
            "controller": self.controller,
            "status": self.status,
            "contract_ended_at": when(self.contract_ended_at),
            "due_at": when(self.due_at),
            "overdue": self.overdue(now or datetime.now(UTC)),
            "reason": self.reason,
            "exported_at": when(self.exported_at),
            "export_path": self.export_path,
            "export_sha256": self.export_sha256,
            "deleted_at": when(self.deleted_at),
            "forced": self.forced,
            "certified_at": when(self.certified_at),
            "certificate_path": self.certificate_path,
            "counts": dict(self.counts),
        }


def object_id(system: str, tenant: str) -> str:
    """How the audit log names a tenant: ``<system>:<tenant>``."""
    return f"{system}:{tenant}"


def view_of(row: OffboardingRow) -> Offboarding:
    return Offboarding(
        row.id,
        row.system,
        row.tenant,
        row.controller,
        row.status,
        row.contract_ended_at,
        row.due_at,
        row.reason,
        row.exported_at,
        row.export_path,
        row.export_sha256,
        row.deleted_at,
        row.forced,
        row.certified_at,
        row.certificate_path,
        dict(row.counts),
    )


# --------------------------------------------------------------------------- reading


def get_offboarding(store: Store, system: str, tenant: str) -> Offboarding:
    """The offboarding of ``tenant`` in ``system``; :class:`RequestError` when its contract was never ended."""
    with store.session(write=False) as session:
        row = row_of(session, system, tenant)
        return view_of(row)


def list_offboardings(store: Store, *, system: str | None = None) -> list[Offboarding]:
    """Every offboarding, soonest due first."""
    statement = sa.select(OffboardingRow).order_by(OffboardingRow.due_at, OffboardingRow.id)
    if system is not None:
        statement = statement.where(OffboardingRow.system == system)
    with store.session(write=False) as session:
        return [view_of(row) for row in session.scalars(statement)]


def due_offboardings(store: Store, now: datetime) -> list[Offboarding]:
    """Offboardings whose deletion is due at ``now`` and not done: ended or exported, past their due
    date; and deleted ones whose rows a legal hold kept, once that hold has ended."""
    statement = (
        sa.select(OffboardingRow).where(OffboardingRow.due_at <= now).order_by(OffboardingRow.due_at, OffboardingRow.id)
    )
    with store.session(write=False) as session:
        return [view_of(row) for row in session.scalars(statement) if _due(row, now)]


def _due(row: OffboardingRow, now: datetime) -> bool:
    if row.status in ("ended", "exported"):
        return True
    kept = (row.counts or {}).get("kept") or []
    return any(_ended(item.get("until"), now) for item in kept if isinstance(item, dict))


def _ended(until: object, now: datetime) -> bool:
    """Whether a hold that keeps rows until ``until`` (ISO text; None: not started) has ended."""
    if not isinstance(until, str):
        return False
    moment = datetime.fromisoformat(until)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment <= now


def row_of(session: Session, system: str, tenant: str) -> OffboardingRow:
    row = session.scalars(
        sa.select(OffboardingRow).where(OffboardingRow.system == system, OffboardingRow.tenant == tenant)
    ).one_or_none()
    if row is None:
        raise RequestError(
            f"the contract of tenant {shown(tenant)} of {system} was never ended — "
            "record the end of the contract first",
            kind=ErrorKind.NOT_FOUND,
        )
    return row
