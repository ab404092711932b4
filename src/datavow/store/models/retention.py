"""Retention sweeps and the locks that keep one sweep per system (written by :mod:`datavow.retention`).

A sweep row records who swept which system, when, and what each rule changed; a sweep that never
finished (its process was killed) stays ``running`` until the next sweep of its system finds its
lock expired and marks it ``interrupted``. The lock is a row per system with a lease: a worker
holds it while it renews it, and another may take it only once the lease has run out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datavow.store.models.base import Base, UTCDateTime


class SweepRow(Base):
    """One sweep of one system (or of datavow's own records, system ``datavow``)."""

    __tablename__ = "retention_sweeps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # retention (the map's rules) or offboarding (a tenant's data)
    status: Mapped[str] = mapped_column(String(20), index=True)  # running, done, failed, interrupted
    worker: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)  # rule label -> what it changed so far
    error: Mapped[str | None] = mapped_column(Text)


class SweepLockRow(Base):
    """The lease on sweeping one system."""

    __tablename__ = "retention_locks"

    system: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    sweep_id: Mapped[int | None] = mapped_column(Integer)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
