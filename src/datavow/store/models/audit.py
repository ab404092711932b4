"""Tables of the hash-chained audit log (written by :mod:`datavow.audit`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datavow.store.models.base import Base, UTCDateTime

#: The audit head table holds exactly one row, with this id.
HEAD_ID = 1


class AuditEntryRow(Base):
    """One audit entry. Never updated; deleted only by pruning, the oldest first, when the map's
    ``retention.own.audit_log`` says so (see :mod:`datavow.audit.prune`)."""

    __tablename__ = "audit_entries"

    # seq is the primary key and prev_hash is unique: two writers that read the same head can
    # never both commit, so the chain cannot fork even if a lock is bypassed.
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    # Canonical JSON as text, not JSON/JSONB: JSONB reorders keys and normalises numbers, and
    # the hash must be recomputable from exactly what was written.
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (Index("ix_audit_entries_object", "object_type", "object_id"),)


class AuditHeadRow(Base):
    """The last entry's seq and hash, updated in the same transaction as each append.

    Writers lock this row to serialise appends; verification compares it with the last entry
    so that deleting entries from the end of the log is noticed.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    # The first entry appended under a signature (an ``audit.signed`` entry) and the HMAC of
    # (seq, hash, signed_from) under a key kept outside the store; both empty in a log that was
    # never signed (see :mod:`datavow.audit.signing`).
    signed_from: Mapped[int | None] = mapped_column(BigInteger)
    signature: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (CheckConstraint(f"id = {HEAD_ID}", name="single_row"),)


class AuditCheckpointRow(Base):
    """Where the log starts after pruning: the last pruned entry's seq and hash.

    Verification starts its chain here instead of at the genesis hash, and checks that an
    ``audit.pruned`` entry in the chain itself records this very checkpoint.
    """

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    pruned: Mapped[int] = mapped_column(BigInteger)  # entries pruned in all
    pruned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # HMAC of the checkpoint and the pruned range its ``audit.pruned`` entry records; empty when
    # the log was not signed at the time of the prune.
    signature: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (CheckConstraint(f"id = {HEAD_ID}", name="single_checkpoint"),)
