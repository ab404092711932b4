"""The fingerprint of the store's key, and the state of a key rotation.

A store made before this revision has no fingerprint yet: the first key used with it is recorded.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "store_key",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotating_to", sa.String(length=64), nullable=True),
        sa.Column("rotation_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rotation_step", sa.String(length=100), nullable=True),
        sa.Column("rotation_after", sa.String(length=200), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_store_key_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_store_key"),
    )


def downgrade() -> None:
    op.drop_table("store_key")
