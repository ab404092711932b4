"""MIRA Software's two databases, as SQLAlchemy Core tables (``datavow.yaml`` declares every column)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

platform = MetaData()
business = MetaData()

customers = Table(
    "customers",
    platform,
    Column("id", Integer, primary_key=True),
    Column("name", String(160), nullable=False),
    Column("vat_number", String(20)),
    Column("plan", String(20), nullable=False),
    Column("subscription_start", Date, nullable=False),
    Column("subscription_end", Date),
    Column("created_at", DateTime, nullable=False),
)
users = Table(
    "users",
    platform,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False, index=True),
    Column("email", String(254), nullable=False, index=True),
    Column("first_name", String(80)),
    Column("last_name", String(80)),
    Column("role", String(40), nullable=False),
    Column("password_hash", String(80)),
    Column("active", Boolean, nullable=False),
    Column("processing_restricted", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_login_at", DateTime),
    UniqueConstraint("customer_id", "email"),
)
user_sessions = Table(
    "user_sessions",
    platform,
    Column("token", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("ip_address", String(45)),
    Column("user_agent", String(200)),
)
login_events = Table(
    "login_events",
    platform,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, index=True),  # NULL, like user_id, when no user has the address
    Column("user_id", Integer, index=True),
    Column("email_entered", String(254), nullable=False),
    Column("at", DateTime, nullable=False, index=True),
    Column("success", Boolean, nullable=False),
    Column("ip_address", String(45), nullable=False),
    Column("user_agent", String(200)),
)
materials = Table(
    "materials",
    platform,
    Column("customer_id", Integer, ForeignKey("customers.id"), primary_key=True),
    Column("material_no", Integer, primary_key=True, autoincrement=False),  # numbered per tenant
    Column("name", String(120), nullable=False),
    Column("unit", String(10), nullable=False),
    Column("category", String(40), nullable=False),
)
material_usage = Table(
    "material_usage",
    platform,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, nullable=False),
    Column("material_no", Integer, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("quantity", Integer, nullable=False),
    Column("used_at", DateTime, nullable=False),
    Column("site", String(120)),
    Column("note", Text),
    ForeignKeyConstraint(["customer_id", "material_no"], ["materials.customer_id", "materials.material_no"]),
    Index("ix_material_usage_material", "customer_id", "material_no"),
)
support_tickets = Table(
    "support_tickets",
    platform,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False, index=True),
    Column("requester_id", Integer, ForeignKey("users.id"), index=True),  # NULL: mailed in, no account
    Column("requester_name", String(160)),
    Column("requester_email", String(254), nullable=False, index=True),
    Column("assignee_id", Integer, index=True),  # an IZIT user, no constraint; NULL while unassigned
    Column("subject", String(200), nullable=False),
    Column("body", Text),
    Column("status", String(20), nullable=False),
    Column("priority", String(10), nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("closed_at", DateTime),
)

companies = Table(
    "companies",
    business,
    Column("id", Integer, primary_key=True),
    Column("name", String(160), nullable=False),
    Column("vat_number", String(20)),
    Column("status", String(20), nullable=False),
    Column("platform_customer_id", Integer, index=True),  # platform.customers.id; NULL for prospects
    Column("street", String(120)),
    Column("postal_code", String(10)),
    Column("city", String(80)),
    Column("country", String(2), nullable=False),
    Column("created_at", DateTime, nullable=False),
)
contacts = Table(
    "contacts",
    business,
    Column("id", Integer, primary_key=True),
    Column("company_id", Integer, ForeignKey("companies.id"), nullable=False, index=True),
    Column("first_name", String(80), nullable=False),
    Column("last_name", String(80), nullable=False),
    Column("email", String(254), index=True),
    Column("phone", String(30)),
    Column("job_title", String(80)),
    Column("created_at", DateTime, nullable=False),
    Column("last_contacted_at", DateTime),
)
contact_submissions = Table(
    "contact_submissions",
    business,
    Column("id", Integer, primary_key=True),
    Column("submitted_at", DateTime, nullable=False),
    Column("name", String(160)),
    Column("email", String(254), nullable=False, index=True),
    Column("phone", String(30)),
    Column("company", String(160)),
    Column("message", Text),
    Column("ip_address", String(45)),
    Column("user_agent", String(200)),
    Column("contact_id", Integer, index=True),  # set when sales matched it to a contact
)
suppliers = Table(
    "suppliers",
    business,
    Column("id", Integer, primary_key=True),
    Column("name", String(160), nullable=False),
    Column("vat_number", String(20)),
    Column("iban", String(34)),
    Column("billing_email", String(254)),
    Column("street", String(120)),
    Column("postal_code", String(10)),
    Column("city", String(80)),
    Column("country", String(2), nullable=False),
)
supplier_contacts = Table(
    "supplier_contacts",
    business,
    Column("id", Integer, primary_key=True),
    Column("supplier_id", Integer, ForeignKey("suppliers.id"), nullable=False, index=True),
    Column("name", String(160), nullable=False),
    Column("email", String(254), index=True),
    Column("phone", String(30)),
    Column("role", String(60)),
)
invoices = Table(
    "invoices",
    business,
    Column("id", Integer, primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("company_id", Integer, ForeignKey("companies.id"), nullable=False, index=True),
    Column("platform_customer_id", Integer, nullable=False, index=True),
    Column("contact_id", Integer, index=True),  # the billing contact; kept when the contact is erased
    Column("issued_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("paid_on", Date),
    Column("amount_cents", Integer, nullable=False),
    Column("vat_cents", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("billing_name", String(160), nullable=False),
    Column("billing_email", String(254), index=True),
    Column("billing_street", String(120)),
    Column("billing_postal_code", String(10)),
    Column("billing_city", String(80)),
    Column("billing_country", String(2)),
    Column("vat_number", String(20)),
)
invoice_lines = Table(
    "invoice_lines",
    business,
    Column("invoice_id", Integer, ForeignKey("invoices.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True, autoincrement=False),
    Column("description", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_cents", Integer, nullable=False),
)
