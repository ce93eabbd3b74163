"""sync of sightings and verdict counts: report share rules, received sightings' provenance, remote verdicts

Revision ID: 0021
Revises: 0020

Three new tables, empty; a nullable column on sync_mirrors; an index on sync_feed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sync_mirrors", sa.Column("category", sa.String(length=40), nullable=True))
    op.create_index(
        "ix_sync_feed_agreement_id_object_id", "sync_feed", ["agreement_id", "object_id"], unique=False
    )
    op.create_table(
        "sync_report_shares",
        sa.Column("agreement_id", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("marking_max", sa.String(length=20), nullable=False),
        sa.Column("at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agreement_id", "category", name=op.f("pk_sync_report_shares")),
    )
    op.create_table(
        "sync_sightings",
        sa.Column("report_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("peer", sa.String(length=128), nullable=False),
        sa.Column("origin_report", sa.String(length=200), nullable=False),
        sa.Column("agreement_id", sa.String(length=40), nullable=False),
        sa.Column("at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_sync_sightings")),
        sa.UniqueConstraint("peer", "origin_report", name=op.f("uq_sync_sightings_peer_origin_report")),
    )
    op.create_table(
        "sync_remote_verdicts",
        sa.Column("peer", sa.String(length=128), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("bank_id", sa.String(length=40), nullable=False),
        sa.Column("confirmed", sa.Integer(), nullable=False),
        sa.Column("false_positive", sa.Integer(), nullable=False),
        sa.Column("not_actionable", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("peer", "entry_id", name=op.f("pk_sync_remote_verdicts")),
    )
    op.create_index(
        op.f("ix_sync_remote_verdicts_entry_id"), "sync_remote_verdicts", ["entry_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sync_remote_verdicts_entry_id"), table_name="sync_remote_verdicts")
    op.drop_table("sync_remote_verdicts")
    op.drop_table("sync_sightings")
    op.drop_table("sync_report_shares")
    op.drop_index("ix_sync_feed_agreement_id_object_id", table_name="sync_feed")
    with op.batch_alter_table("sync_mirrors") as batch:
        batch.drop_column("category")
