"""Mira Network's three databases, as SQLAlchemy Core tables (``datavow.yaml`` declares every column)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, Integer, MetaData, String, Table, Text

crm = MetaData()
platform = MetaData()
hr = MetaData()

person_categories = Table(
    "person_categories",
    crm,
    Column("id", Integer, primary_key=True),
    Column("name", String(80), nullable=False),
    Column("description", String(200)),
)
collaboration_categories = Table(
    "collaboration_categories",
    crm,
    Column("id", Integer, primary_key=True),
    Column("name", String(80), nullable=False),
)
organisations = Table(
    "organisations",
    crm,
    Column("id", Integer, primary_key=True),
    Column("name", String(160), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("org_number", String(20)),
    Column("street", String(120)),
    Column("postal_code", String(10)),
    Column("city", String(80)),
    Column("country", String(2), nullable=False),
    Column("website", String(120)),
    Column("collaboration_category_id", Integer, ForeignKey("collaboration_categories.id"), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
)
persons = Table(
    "persons",
    crm,
    Column("id", Integer, primary_key=True),
    Column("first_name", String(80), nullable=False),
    Column("last_name", String(80), nullable=False),
    Column("birth_date", Date),
    Column("email", String(254), index=True),
    Column("phone", String(30)),
    Column("mobile", String(30), index=True),
    Column("street", String(120)),
    Column("postal_code", String(10)),
    Column("city", String(80)),
    Column("country", String(2)),
    Column("education", String(200)),
    Column("relationship", String(30), nullable=False),
    Column("source", String(60)),
    Column("restricted", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("last_contacted_at", DateTime),
)
person_category_members = Table(
    "person_category_members",
    crm,
    Column("person_id", Integer, ForeignKey("persons.id"), primary_key=True),
    Column("category_id", Integer, ForeignKey("person_categories.id"), primary_key=True, index=True),
    Column("added_on", Date, nullable=False),
)
affiliations = Table(
    "affiliations",
    crm,
    Column("person_id", Integer, ForeignKey("persons.id"), primary_key=True),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), primary_key=True, index=True),
    Column("title", String(120)),
    Column("department", String(120)),
    Column("started_on", Date),
    Column("ended_on", Date),
    Column("is_primary", Boolean, nullable=False),
)
meeting_notes = Table(
    "meeting_notes",
    crm,
    Column("id", Integer, primary_key=True),
    Column("person_id", Integer, ForeignKey("persons.id"), nullable=False, index=True),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), index=True),
    Column("employee_id", Integer, index=True),  # hr.employees.id, in another database
    Column("met_on", Date, nullable=False),
    Column("subject", String(200), nullable=False),
    Column("notes", Text),
)
correspondence = Table(
    "correspondence",
    crm,
    Column("id", Integer, primary_key=True),
    Column("person_id", Integer, index=True),  # NULL: an address no person in the CRM has
    Column("email_address", String(254), nullable=False, index=True),
    Column("direction", String(3), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text),
    Column("sent_at", DateTime, nullable=False),
    Column("campaign", String(80)),
)
communication_preferences = Table(
    "communication_preferences",
    crm,
    Column("person_id", Integer, ForeignKey("persons.id"), primary_key=True),
    Column("channel", String(10), primary_key=True),  # email, phone, post, sms or all
    Column("allowed", Boolean, nullable=False),
    Column("changed_at", DateTime, nullable=False),
    Column("source", String(40), nullable=False),
)

clients = Table(
    "clients",
    platform,
    Column("id", Integer, primary_key=True),
    Column("name", String(160), nullable=False),
    Column("organisation_id", Integer, index=True),  # crm.organisations.id
    Column("modules", String(200), nullable=False),
    Column("contract_start", Date, nullable=False),
    Column("contract_end", Date),
)
users = Table(
    "users",
    platform,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id"), nullable=False, index=True),
    Column("email", String(254), nullable=False, index=True),
    Column("first_name", String(80)),
    Column("last_name", String(80)),
    Column("role", String(40), nullable=False),
    Column("password_hash", String(80)),
    Column("created_at", DateTime, nullable=False),
    Column("last_login_at", DateTime),
)
records = Table(
    "records",
    platform,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id"), nullable=False, index=True),
    Column("person_category", String(80), nullable=False),
    Column("collaboration_category", String(80)),
    Column("first_name", String(80), nullable=False),
    Column("last_name", String(80), nullable=False),
    Column("email", String(254), index=True),
    Column("phone", String(30), index=True),
    Column("birth_date", Date),
    Column("street", String(120)),
    Column("postal_code", String(10)),
    Column("city", String(80)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)
usage_logs = Table(
    "usage_logs",
    platform,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, nullable=False, index=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("at", DateTime, nullable=False, index=True),
    Column("module", String(40), nullable=False),
    Column("action", String(40), nullable=False),
    Column("ip_address", String(45)),
)

employees = Table(
    "employees",
    hr,
    Column("id", Integer, primary_key=True),
    Column("personal_number", String(64), nullable=False, unique=True),  # wide enough for its keyed hash
    Column("first_name", String(80), nullable=False),
    Column("last_name", String(80), nullable=False),
    Column("email", String(254), nullable=False, index=True),
    Column("private_email", String(254), index=True),
    Column("phone", String(30)),
    Column("street", String(120)),
    Column("postal_code", String(10)),
    Column("city", String(80)),
    Column("bank_account", String(30)),
    Column("title", String(80)),
    Column("hired_on", Date, nullable=False),
    Column("left_on", Date),
)
payslips = Table(
    "payslips",
    hr,
    Column("employee_id", Integer, ForeignKey("employees.id"), primary_key=True),
    Column("period", String(7), primary_key=True),  # YYYY-MM
    Column("gross_cents", Integer, nullable=False),
    Column("tax_cents", Integer, nullable=False),
    Column("net_cents", Integer, nullable=False),
    Column("paid_on", Date, nullable=False),
)
candidates = Table(
    "candidates",
    hr,
    Column("id", Integer, primary_key=True),
    Column("first_name", String(80), nullable=False),
    Column("last_name", String(80), nullable=False),
    Column("email", String(254), index=True),
    Column("phone", String(30)),
    Column("agency", String(120)),
    Column("position", String(120), nullable=False),
    Column("cv_ref", String(200)),
    Column("applied_on", Date, nullable=False),
    Column("status", String(20), nullable=False),
    Column("decided_on", Date),
    Column("notes", Text),
)
