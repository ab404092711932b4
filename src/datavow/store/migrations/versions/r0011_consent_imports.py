"""Consent imports by batch id, and a checksum per imported row: an import run again adds nothing.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "consent_imports",
        sa.Column("batch_id", sa.String(length=100), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_consent_imports")),
    )
    op.create_table(
        "consent_import_rows",
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["consent_imports.batch_id"],
            name=op.f("fk_consent_import_rows_batch_id_consent_imports"),
        ),
        sa.ForeignKeyConstraint(
            ["seq"], ["consent_events.seq"], name=op.f("fk_consent_import_rows_seq_consent_events")
        ),
        sa.PrimaryKeyConstraint("checksum", name=op.f("pk_consent_import_rows")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("consent_import_rows")
    op.drop_table("consent_imports")
