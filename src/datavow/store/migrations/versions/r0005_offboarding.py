"""Tenant offboarding: one row per controller whose contract ended, per system.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen here as they were on the day this revision shipped; later values need a new revision.
STATUSES = "'ended', 'exported', 'deleted', 'certified'"


def upgrade() -> None:
    op.create_table(
        "tenant_offboardings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("system", sa.String(length=100), nullable=False),
        sa.Column("tenant", sa.String(length=200), nullable=False),
        sa.Column("controller", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("contract_ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("ended_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exported_by", sa.String(length=200), nullable=True),
        sa.Column("export_path", sa.Text(), nullable=True),
        sa.Column("export_sha256", sa.String(length=64), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.String(length=200), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("certified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("certified_by", sa.String(length=200), nullable=True),
        sa.Column("certificate_path", sa.Text(), nullable=True),
        sa.Column("certificate_sha256", sa.String(length=64), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("system", "tenant", name="uq_tenant_offboardings_system"),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_tenant_offboardings_status"),
    )
    op.create_index("ix_tenant_offboardings_status", "tenant_offboardings", ["status"])
    op.create_index("ix_tenant_offboardings_due_at", "tenant_offboardings", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_tenant_offboardings_due_at", table_name="tenant_offboardings")
    op.drop_index("ix_tenant_offboardings_status", table_name="tenant_offboardings")
    op.drop_table("tenant_offboardings")
