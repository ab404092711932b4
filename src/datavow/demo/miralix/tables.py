"""Miralix's two databases, as SQLAlchemy Core tables (``datavow.yaml`` declares every column)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, Integer, MetaData, String, Table, Text

telephony = MetaData()
support = MetaData()

companies = Table(
    "companies",
    telephony,
    Column("id", Integer, primary_key=True),
    Column("name", String(160), nullable=False),
    Column("cvr", String(8)),
    Column("main_number", String(30)),
    Column("street", String(120)),
    Column("postal_code", String(10)),
    Column("city", String(80)),
    Column("created_at", DateTime, nullable=False),
    Column("contract_end", Date),
)
users = Table(
    "users",
    telephony,
    Column("id", Integer, primary_key=True),
    Column("company_id", Integer, ForeignKey("companies.id"), nullable=False, index=True),
    Column("first_name", String(80), nullable=False),
    Column("last_name", String(80), nullable=False),
    Column("email", String(254), index=True),
    Column("phone", String(30), index=True),  # the direct number; the switchboard's when there is none
    Column("mobile", String(30), index=True),
    Column("extension", String(6)),
    Column("title", String(80)),
    Column("language", String(5), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)
call_history = Table(
    "call_history",
    telephony,
    Column("id", Integer, primary_key=True),
    Column("company_id", Integer, ForeignKey("companies.id"), nullable=False, index=True),
    Column("user_id", Integer, ForeignKey("users.id"), index=True),  # NULL: queue, switchboard, missed
    Column("caller_number", String(30), nullable=False, index=True),
    Column("callee_number", String(30), nullable=False, index=True),
    Column("direction", String(8), nullable=False),
    Column("started_at", DateTime, nullable=False, index=True),
    Column("duration_s", Integer, nullable=False),
    Column("answered", Boolean, nullable=False),
)
voicemail = Table(
    "voicemail",
    telephony,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("message_no", Integer, primary_key=True, autoincrement=False),  # numbered per mailbox
    Column("company_id", Integer, ForeignKey("companies.id"), nullable=False, index=True),
    Column("caller_number", String(30), index=True),  # NULL: withheld number
    Column("received_at", DateTime, nullable=False),
    Column("duration_s", Integer, nullable=False),
    Column("audio_ref", String(200), nullable=False),
    Column("transcription", Text),
    Column("listened", Boolean, nullable=False),
)

cases = Table(
    "cases",
    support,
    Column("id", Integer, primary_key=True),
    Column("company_id", Integer, nullable=False, index=True),  # telephony.companies.id
    Column("reporter_user_id", Integer, index=True),  # telephony.users.id; NULL: not a user (a partner, IT)
    Column("reporter_name", String(160)),
    Column("reporter_email", String(254), index=True),
    Column("reporter_phone", String(30), index=True),
    Column("subject", String(200), nullable=False),
    Column("description", Text),
    Column("status", String(20), nullable=False),
    Column("agent", String(10)),
    Column("opened_at", DateTime, nullable=False),
    Column("closed_at", DateTime),
)
