"""The audit log's signatures: the head and the checkpoint are signed with a key kept outside the
store, and the head records the entry from which the log is signed.

Existing logs keep no signature until their next append: an entry before ``signed_from`` was
written unsigned.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_head") as table:
        table.add_column(sa.Column("signed_from", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("signature", sa.String(length=64), nullable=True))
    with op.batch_alter_table("audit_checkpoint") as table:
        table.add_column(sa.Column("signature", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_checkpoint") as table:
        table.drop_column("signature")
    with op.batch_alter_table("audit_head") as table:
        table.drop_column("signature")
        table.drop_column("signed_from")
