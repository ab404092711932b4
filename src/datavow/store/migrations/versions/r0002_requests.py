"""Data subject requests, their verification codes, and the restriction/objection ledger.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen here as they were on the day this revision shipped; later values need a new revision.
KINDS = "'access', 'erasure', 'rectification', 'restriction', 'objection', 'portability'"
STATUSES = "'received', 'verified', 'in_progress', 'completed', 'denied', 'forwarded'"
SOURCES = "'data_subject', 'controller', 'agent'"


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("tenant", sa.String(200), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("extended_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("denied_reason", sa.Text(), nullable=True),
        sa.Column("forwarded_to", sa.String(300), nullable=True),
        sa.Column("identity_kinds", sa.String(200), nullable=False),
        sa.Column("identities", sa.LargeBinary(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_requests"),
        sa.CheckConstraint(f"kind IN ({KINDS})", name="ck_requests_kind"),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_requests_status"),
        sa.CheckConstraint(f"source IN ({SOURCES})", name="ck_requests_source"),
    )
    op.create_index("ix_requests_status", "requests", ["status"])
    op.create_index("ix_requests_due_at", "requests", ["due_at"])

    op.create_table(
        "request_identities",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("identity_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "identity_hash", name="pk_request_identities"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name="fk_request_identities_request_id_requests", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_request_identities_identity_hash", "request_identities", ["identity_hash"])

    op.create_table(
        "verification_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_verification_codes"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.id"], name="fk_verification_codes_request_id_requests", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_verification_codes_request_id", "verification_codes", ["request_id"])

    op.create_table(
        "restrictions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("purpose", sa.String(100), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("absolute", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_reason", sa.Text(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("identity_kinds", sa.String(200), nullable=False),
        sa.Column("identities", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_restrictions"),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name="fk_restrictions_request_id_requests"),
        sa.CheckConstraint("kind IN ('restriction', 'objection')", name="ck_restrictions_kind"),
    )
    op.create_index("ix_restrictions_active", "restrictions", ["active"])
    op.create_index("ix_restrictions_request_id", "restrictions", ["request_id"])

    op.create_table(
        "restriction_identities",
        sa.Column("restriction_id", sa.Integer(), nullable=False),
        sa.Column("identity_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("restriction_id", "identity_hash", name="pk_restriction_identities"),
        sa.ForeignKeyConstraint(
            ["restriction_id"],
            ["restrictions.id"],
            name="fk_restriction_identities_restriction_id_restrictions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_restriction_identities_identity_hash", "restriction_identities", ["identity_hash"])


def downgrade() -> None:
    op.drop_index("ix_restriction_identities_identity_hash", table_name="restriction_identities")
    op.drop_table("restriction_identities")
    op.drop_index("ix_restrictions_request_id", table_name="restrictions")
    op.drop_index("ix_restrictions_active", table_name="restrictions")
    op.drop_table("restrictions")
    op.drop_index("ix_verification_codes_request_id", table_name="verification_codes")
    op.drop_table("verification_codes")
    op.drop_index("ix_request_identities_identity_hash", table_name="request_identities")
    op.drop_table("request_identities")
    op.drop_index("ix_requests_due_at", table_name="requests")
    op.drop_index("ix_requests_status", table_name="requests")
    op.drop_table("requests")
