"""sync: banks shared into agreement feeds, the feed, pull cursors, mirror banks and applied objects

Revision ID: 0019
Revises: 0018

New tables, empty. (Chained to 0018, this branch's head; the lead re-chains it at merge.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_shares",
        sa.Column("bank_id", sa.String(length=40), nullable=False),
        sa.Column("agreement_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("received_under", sa.String(length=40), nullable=True),
        sa.Column("at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name=op.f("fk_sync_shares_bank_id_banks")),
        sa.PrimaryKeyConstraint("bank_id", "agreement_id", name=op.f("pk_sync_shares")),
    )
    op.create_table(
        "sync_feed",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("agreement_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("marking", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("received_under", sa.String(length=40), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sync_feed")),
    )
    op.create_index(op.f("ix_sync_feed_agreement_id_seq"), "sync_feed", ["agreement_id", "seq"], unique=False)
    op.create_table(
        "sync_cursors",
        sa.Column("peer", sa.String(length=128), nullable=False),
        sa.Column("agreement_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", accord.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("updated_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("peer", "agreement_id", name=op.f("pk_sync_cursors")),
    )
    op.create_table(
        "sync_mirrors",
        sa.Column("peer", sa.String(length=128), nullable=False),
        sa.Column("origin_bank", sa.String(length=200), nullable=False),
        sa.Column("agreement_id", sa.String(length=40), nullable=False),
        sa.Column("bank_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name=op.f("fk_sync_mirrors_bank_id_banks")),
        sa.PrimaryKeyConstraint("peer", "origin_bank", name=op.f("pk_sync_mirrors")),
        sa.UniqueConstraint("bank_id", name=op.f("uq_sync_mirrors_bank_id")),
    )
    op.create_table(
        "sync_objects",
        sa.Column("peer", sa.String(length=128), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("local_id", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("peer", "object_id", name=op.f("pk_sync_objects")),
    )


def downgrade() -> None:
    op.drop_table("sync_objects")
    op.drop_table("sync_mirrors")
    op.drop_table("sync_cursors")
    op.drop_index(op.f("ix_sync_feed_agreement_id_seq"), table_name="sync_feed")
    op.drop_table("sync_feed")
    op.drop_table("sync_shares")
