"""The fingerprint of the key a state store was made with (checked by :mod:`datavow.store.key`).

One row. The fingerprint is a subkey derived from the installation's key, never the key: it tells
whether a key is the store's without revealing it. While a rotation is unfinished the row also
says which key the store is moving to and how far it got, committed with each batch.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from datavow.store.models.base import Base, UTCDateTime

#: The key table holds exactly one row, with this id.
KEY_ROW_ID = 1


class StoreKeyRow(Base):
    """The store's key fingerprint, and the rotation in progress, if any."""

    __tablename__ = "store_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set while a rotation is unfinished: the new key's fingerprint, when it started, the step it
    # is on and the last position that step finished (text: a number or a key, as the step has it).
    rotating_to: Mapped[str | None] = mapped_column(String(64))
    rotation_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rotation_step: Mapped[str | None] = mapped_column(String(100))
    rotation_after: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (CheckConstraint(f"id = {KEY_ROW_ID}", name="single_row"),)
