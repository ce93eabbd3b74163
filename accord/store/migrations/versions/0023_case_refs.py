"""sync of case references: cases shared into agreement feeds, and the references received from peers

Revision ID: 0023
Revises: 0022

Two new tables, empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_case_shares",
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("agreement_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("marking", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("withdrawn_at", accord.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_sync_case_shares_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", "agreement_id", name=op.f("pk_sync_case_shares")),
    )
    op.create_table(
        "sync_case_refs",
        sa.Column("peer", sa.String(length=128), nullable=False),
        sa.Column("origin_case", sa.String(length=100), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("agreement_id", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("marking", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("jurisdiction", sa.String(length=10), nullable=False),
        sa.Column("lead_org_id", sa.String(length=100), nullable=False),
        sa.Column("lead_org_name", sa.String(length=200), nullable=False),
        sa.Column("linked_reports", sa.Integer(), nullable=False),
        sa.Column("created_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("received_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("changed_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("peer", "origin_case", name=op.f("pk_sync_case_refs")),
    )
    op.create_index(op.f("ix_sync_case_refs_org_id"), "sync_case_refs", ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sync_case_refs_org_id"), table_name="sync_case_refs")
    op.drop_table("sync_case_refs")
    op.drop_table("sync_case_shares")
