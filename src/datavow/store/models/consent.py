"""The consent and communication-preference ledger (written by :mod:`datavow.consent`).

``consent_events`` is append-only and hash-chained (``consent_head`` holds the last seq and
hash, as ``audit_head`` does for the audit log). Identity values are sealed on each event; their
keyed hashes are rows of ``consent_event_identities``. ``consent_state`` is derived: the latest
event per identity hash and scope, upserted in the same transaction as each append and fully
rebuildable from the ledger. Notice texts are stored once, by their SHA-256.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datavow.store.models.base import Base, UTCDateTime, UTCTimestamp
from datavow.store.models.requests import one_of

CONSENT_EVENTS = ("granted", "withdrawn")
#: Where a consent event came from: a form, an import, the API, an authorised agent, a GPC signal.
CONSENT_SOURCES = ("form", "import", "api", "agent", "gpc")
#: The channels a contact preference can name (``all`` for every channel).
CONSENT_CHANNELS = ("email", "phone", "sms", "post", "all")
#: The consent head table holds exactly one row, with this id.
CONSENT_HEAD_ID = 1


class ConsentNoticeRow(Base):
    """A notice text as shown to people, stored once and referred to by its SHA-256."""

    __tablename__ = "consent_notices"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConsentEventRow(Base):
    """One consent or preference event. Never updated, never deleted."""

    __tablename__ = "consent_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())  # when it happened
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when datavow recorded it
    event: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str | None] = mapped_column(String(10))
    topic: Mapped[str | None] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(220))  # "purpose|channel|topic", empty parts for none
    source: Mapped[str] = mapped_column(String(20))
    source_detail: Mapped[str | None] = mapped_column(String(200))  # "unsubscribe link", "line 7 of prefs.csv"
    notice_hash: Mapped[str | None] = mapped_column(ForeignKey("consent_notices.hash"))
    basis: Mapped[str | None] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    identity_kinds: Mapped[str] = mapped_column(String(200))
    identities: Mapped[bytes] = mapped_column(LargeBinary)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        CheckConstraint(one_of("event", CONSENT_EVENTS), name="event"),
        CheckConstraint(one_of("source", CONSENT_SOURCES), name="source"),
    )


class ConsentEventIdentityRow(Base):
    """A keyed hash of one identity value an event names: "which events name jane@x.org?"."""

    __tablename__ = "consent_event_identities"

    identity_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(ForeignKey("consent_events.seq"), primary_key=True)


class ConsentStateRow(Base):
    """The current state per identity hash and scope: the latest event (by ``at``, then seq)."""

    __tablename__ = "consent_state"

    identity_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(220), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    # Integer microseconds on SQLite: the filter compares millions of these (see migration 0010).
    at: Mapped[datetime] = mapped_column(UTCTimestamp())
    seq: Mapped[int] = mapped_column(BigInteger)

    # Filtering a mailing list groups everyone's states by identity: on SQLite the rows lie in
    # key order, so the grouping streams through the table (see migration 0009).
    __table_args__ = {"sqlite_with_rowid": False}


class ConsentHeadRow(Base):
    """The last event's seq and hash; writers lock it to serialise appends."""

    __tablename__ = "consent_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (CheckConstraint(f"id = {CONSENT_HEAD_ID}", name="single_row"),)


class ConsentImportRow(Base):
    """One committed import, by its batch id (the file's SHA-256 unless the importer names one)."""

    __tablename__ = "consent_imports"

    batch_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(300))
    rows: Mapped[int] = mapped_column(Integer)  # rows in the file
    events: Mapped[int] = mapped_column(Integer)  # events it recorded (rows imported before are skipped)
    first_seq: Mapped[int | None] = mapped_column(BigInteger)
    last_seq: Mapped[int | None] = mapped_column(BigInteger)


class ConsentImportedRow(Base):
    """The checksum of one imported row and the event it became: a row seen again is skipped."""

    __tablename__ = "consent_import_rows"

    checksum: Mapped[str] = mapped_column(String(64), primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("consent_imports.batch_id"))
    seq: Mapped[int] = mapped_column(ForeignKey("consent_events.seq"))

    __table_args__ = {"sqlite_with_rowid": False}
