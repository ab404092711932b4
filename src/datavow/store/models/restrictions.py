"""The restriction (Art. 18) and objection (Art. 21) ledger (written by
:mod:`datavow.requests.restriction`).

One entry covers a person however many identities they gave: the identities are sealed on the
entry, and each value's keyed hash is a row of ``restriction_identities``, so asking by e-mail
or by phone finds the same entry. Entries are never deleted; lifting one records when and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datavow.store.models.base import Base, UTCDateTime
from datavow.store.models.requests import one_of

RESTRICTION_KINDS = ("restriction", "objection")


class RestrictionRow(Base):
    """A restriction of processing, or an objection to one purpose, for one person."""

    __tablename__ = "restrictions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    # NULL: every purpose (a restriction of all processing but storage).
    purpose: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, index=True)
    # An objection to direct marketing (Art. 21(3)): honoured without weighing any grounds.
    absolute: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_reason: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    identity_kinds: Mapped[str] = mapped_column(String(200))
    identities: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (CheckConstraint(one_of("kind", RESTRICTION_KINDS), name="kind"),)


class RestrictionIdentityRow(Base):
    """A keyed hash of one identity value of a ledger entry, for "is this person restricted?"."""

    __tablename__ = "restriction_identities"

    restriction_id: Mapped[int] = mapped_column(ForeignKey("restrictions.id", ondelete="CASCADE"), primary_key=True)
    identity_hash: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_restriction_identities_identity_hash", "identity_hash"),)
