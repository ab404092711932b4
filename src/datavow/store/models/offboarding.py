"""Tenant offboarding (Art. 28(3)(g)), written by :mod:`datavow.retention.offboarding`.

One row per controller whose contract with the processor ended, in one tenant-scoped system: when
the contract ended, when its data must be gone, and how far the offboarding got (``ended``, then
``exported`` once its data was returned, ``deleted``, ``certified`` once the certificate of
deletion was written). The proof is the audit log; this row is where the work stands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from datavow.store.models.base import Base, UTCDateTime
from datavow.store.models.requests import one_of

OFFBOARDING_STATUSES = ("ended", "exported", "deleted", "certified")


class OffboardingRow(Base):
    """One controller's offboarding from one system."""

    __tablename__ = "tenant_offboardings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(100))
    tenant: Mapped[str] = mapped_column(String(200))
    controller: Mapped[str | None] = mapped_column(String(300))  # the tenant's name when the contract ended
    status: Mapped[str] = mapped_column(String(20), index=True)
    contract_ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # ended + retention.offboarding
    reason: Mapped[str | None] = mapped_column(Text)
    ended_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exported_by: Mapped[str | None] = mapped_column(String(200))
    export_path: Mapped[str | None] = mapped_column(Text)
    export_sha256: Mapped[str | None] = mapped_column(String(64))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_by: Mapped[str | None] = mapped_column(String(200))
    forced: Mapped[bool] = mapped_column(Boolean, default=False)  # deleted before its data was returned
    certified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    certified_by: Mapped[str | None] = mapped_column(String(200))
    certificate_path: Mapped[str | None] = mapped_column(Text)
    certificate_sha256: Mapped[str | None] = mapped_column(String(64))
    # {"exported": {table: rows}, "deleted": {table: rows}, "kept": {table: {...}}}
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("system", "tenant"),
        CheckConstraint(one_of("status", OFFBOARDING_STATUSES), name="status"),
    )
