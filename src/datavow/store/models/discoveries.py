"""What a request found, kept before anything is changed, and what each system's transaction
changed, kept before it commits (written by :mod:`datavow.requests`).

An erasure changes the very values that found the person (an e-mail is hashed), so a run that
stops halfway could not find the rest again. The discovery is therefore sealed and stored first;
a resumed run uses it instead of searching again. A resumed run finds nothing left to change in a
system an earlier run finished: what that run changed there is kept, so the request's result
counts every run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from datavow.store.models.base import Base, UTCDateTime


class RequestDiscoveryRow(Base):
    """The sealed selections of one request: per table, the values that select the person's rows."""

    __tablename__ = "request_discoveries"

    request_id: Mapped[int] = mapped_column(Integer, ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class RequestProgressRow(Base):
    """What one system's transaction changed for a request (counts per step, never personal data),
    written before that transaction commits."""

    __tablename__ = "request_progress"

    request_id: Mapped[int] = mapped_column(Integer, ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    system: Mapped[str] = mapped_column(String(100), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed: Mapped[int] = mapped_column(Integer)
    steps: Mapped[dict[str, Any]] = mapped_column(JSON)  # step label -> that step's result
