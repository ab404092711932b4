"""Data subject requests and their e-mail verification codes (written by :mod:`datavow.requests`).

Identity values are never stored in clear: ``identities`` is an AES-GCM blob bound to the
request's id, and each value also gets a keyed hash (``request_identities``) so requests can be
found by a person's e-mail without decrypting every row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datavow.store.models.base import Base, UTCDateTime

REQUEST_KINDS = ("access", "erasure", "rectification", "restriction", "objection", "portability")
REQUEST_STATUSES = ("received", "verified", "in_progress", "completed", "denied", "forwarded")
REQUEST_SOURCES = ("data_subject", "controller", "agent")


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK condition: ``column`` holds one of ``values`` (plain identifiers only)."""
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class RequestRow(Base):
    """One data subject request (Art. 15–21) and where it stands on its clock (Art. 12(3))."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    source: Mapped[str] = mapped_column(String(20))
    tenant: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    extended_to: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extension_reason: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    denied_reason: Mapped[str | None] = mapped_column(Text)
    forwarded_to: Mapped[str | None] = mapped_column(String(300))
    # Which kinds of identity the request names ("email,phone"): not personal, shown in listings.
    identity_kinds: Mapped[str] = mapped_column(String(200))
    identities: Mapped[bytes] = mapped_column(LargeBinary)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The run that holds the request in progress ("host:pid:token") and the step it last recorded;
    # cleared when a run ends. A run that finds another's left behind writes request.interrupted.
    run_id: Mapped[str | None] = mapped_column(String(100))
    run_step: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint(one_of("kind", REQUEST_KINDS), name="kind"),
        CheckConstraint(one_of("status", REQUEST_STATUSES), name="status"),
        CheckConstraint(one_of("source", REQUEST_SOURCES), name="source"),
    )


class RequestIdentityRow(Base):
    """A keyed hash (HMAC-SHA256) of one identity value of a request, for lookups."""

    __tablename__ = "request_identities"

    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    identity_hash: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_request_identities_identity_hash", "identity_hash"),)


class VerificationCodeRow(Base):
    """A one-time code sent to the request's e-mail address; only its argon2 hash is kept."""

    __tablename__ = "verification_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
