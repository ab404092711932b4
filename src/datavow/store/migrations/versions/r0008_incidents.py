"""The incident register (Art. 33(5)) and the notices given about each incident.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen here as they were on the day this revision shipped; later values need a new revision.
STAGES = "'registered', 'analysed', 'classified', 'resolved', 'evaluated'"
RISKS = "'none', 'risk', 'high'"
AUDIENCES = "'authority', 'controller', 'people'"


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("aware_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("occurred_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("occurred_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discovery", sa.Text(), nullable=True),
        sa.Column("controller_hours", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column("impact", sa.JSON(), nullable=True),
        sa.Column("analysed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("analysed_by", sa.String(length=200), nullable=True),
        sa.Column("kinds", sa.JSON(), nullable=True),
        sa.Column("risk", sa.String(length=10), nullable=True),
        sa.Column("risk_reasoning", sa.Text(), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=True),
        sa.Column("consequences", sa.Text(), nullable=True),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column("exemption", sa.String(length=20), nullable=True),
        sa.Column("exemption_reason", sa.Text(), nullable=True),
        sa.Column("notify_authority", sa.Boolean(), nullable=True),
        sa.Column("notify_people", sa.Boolean(), nullable=True),
        sa.Column("classified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("classified_by", sa.String(length=200), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("lessons", sa.Text(), nullable=True),
        sa.Column("procedure_changes", sa.Text(), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evaluated_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
        sa.CheckConstraint(f"stage IN ({STAGES})", name="ck_incidents_stage"),
        sa.CheckConstraint(f"risk IS NULL OR risk IN ({RISKS})", name="ck_incidents_risk"),
    )
    op.create_index("ix_incidents_stage", "incidents", ["stage"])
    op.create_index("ix_incidents_aware_at", "incidents", ["aware_at"])
    op.create_table(
        "incident_notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("system", sa.String(length=100), nullable=True),
        sa.Column("tenant", sa.String(length=200), nullable=True),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("delay_reason", sa.Text(), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incident_notices"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name="fk_incident_notices_incident_id_incidents"),
        sa.CheckConstraint(f"audience IN ({AUDIENCES})", name="ck_incident_notices_audience"),
    )
    op.create_index("ix_incident_notices_incident_id", "incident_notices", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_incident_notices_incident_id", table_name="incident_notices")
    op.drop_table("incident_notices")
    op.drop_index("ix_incidents_aware_at", table_name="incidents")
    op.drop_index("ix_incidents_stage", table_name="incidents")
    op.drop_table("incidents")
