"""What a request found, kept before anything is changed (written by :mod:`datavow.requests`).

An erasure changes the very values that found the person (an e-mail is hashed), so a run that
stops halfway could not find the rest again. The discovery is therefore sealed and stored first;
a resumed run uses it instead of searching again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from datavow.store.models.base import Base, UTCDateTime


class RequestDiscoveryRow(Base):
    """The sealed selections of one request: per table, the values that select the person's rows."""

    __tablename__ = "request_discoveries"

    request_id: Mapped[int] = mapped_column(Integer, ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
