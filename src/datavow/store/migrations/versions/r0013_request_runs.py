"""Which run holds a request in progress, and what each system's transaction changed for it, so a
run that takes up an interrupted request says so and counts what every run changed.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("requests", sa.Column("run_id", sa.String(length=100), nullable=True))
    op.add_column("requests", sa.Column("run_step", sa.String(length=200), nullable=True))
    op.create_table(
        "request_progress",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=100), nullable=False),
        sa.Column("run_id", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_request_progress_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "system", name=op.f("pk_request_progress")),
    )


def downgrade() -> None:
    op.drop_table("request_progress")
    op.drop_column("requests", "run_step")  # SQLite drops a column itself since 3.35
    op.drop_column("requests", "run_id")
