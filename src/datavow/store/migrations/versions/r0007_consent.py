"""The consent and communication-preference ledger, its identities, notices, state and head.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "consent_notices",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_consent_notices")),
    )
    op.create_table(
        "consent_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=100), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("topic", sa.String(length=100), nullable=True),
        sa.Column("scope", sa.String(length=220), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("source_detail", sa.String(length=200), nullable=True),
        sa.Column("notice_hash", sa.String(length=64), nullable=True),
        sa.Column("basis", sa.String(length=40), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("identity_kinds", sa.String(length=200), nullable=False),
        sa.Column("identities", sa.LargeBinary(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("event IN ('granted', 'withdrawn')", name=op.f("ck_consent_events_event")),
        sa.CheckConstraint(
            "source IN ('form', 'import', 'api', 'agent', 'gpc')", name=op.f("ck_consent_events_source")
        ),
        sa.ForeignKeyConstraint(
            ["notice_hash"],
            ["consent_notices.hash"],
            name=op.f("fk_consent_events_notice_hash_consent_notices"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_consent_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_consent_events_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_consent_events_prev_hash")),
    )
    op.create_table(
        "consent_event_identities",
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seq"], ["consent_events.seq"], name=op.f("fk_consent_event_identities_seq_consent_events")
        ),
        sa.PrimaryKeyConstraint("identity_hash", "seq", name=op.f("pk_consent_event_identities")),
    )
    op.create_table(
        "consent_state",
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=220), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("identity_hash", "scope", name=op.f("pk_consent_state")),
    )
    op.create_index("ix_consent_state_scope", "consent_state", ["scope", "identity_hash"])
    op.create_table(
        "consent_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_consent_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_head")),
    )
    # The head exists from the start, so the first two writers lock the same row.
    head = sa.table("consent_head", sa.column("id"), sa.column("seq"), sa.column("hash"))
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])


def downgrade() -> None:
    op.drop_table("consent_head")
    op.drop_index("ix_consent_state_scope", table_name="consent_state")
    op.drop_table("consent_state")
    op.drop_table("consent_event_identities")
    op.drop_table("consent_events")
    op.drop_table("consent_notices")
