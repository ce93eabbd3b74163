"""sync receipts not yet taken by their sender; inbox rate counts shared by worker processes

Revision ID: 0022
Revises: 0021

Two new tables, empty. (Chained to 0021, the head when this branch was cut; the lead re-chains it at merge.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_receipts_unsent",
        sa.Column("envelope_id", sa.String(length=40), nullable=False),
        sa.Column("peer", sa.String(length=128), nullable=False),
        sa.Column("agreement_id", sa.String(length=40), nullable=False),
        sa.Column("at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("envelope_id", name=op.f("pk_sync_receipts_unsent")),
    )
    op.create_index(
        op.f("ix_sync_receipts_unsent_peer_agreement_id_at"),
        "sync_receipts_unsent",
        ["peer", "agreement_id", "at"],
        unique=False,
    )
    op.create_table(
        "inbox_rate_windows",
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("window_start", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sender", "window_start", name=op.f("pk_inbox_rate_windows")),
    )
    op.create_index(op.f("ix_inbox_rate_windows_window_start"), "inbox_rate_windows", ["window_start"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_inbox_rate_windows_window_start"), table_name="inbox_rate_windows")
    op.drop_table("inbox_rate_windows")
    op.drop_index(op.f("ix_sync_receipts_unsent_peer_agreement_id_at"), table_name="sync_receipts_unsent")
    op.drop_table("sync_receipts_unsent")
