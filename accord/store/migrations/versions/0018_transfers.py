"""transfers: payment transfers carried by reports, for money runs on a node

Revision ID: 0018
Revises: 0017

A new table, empty. (Chained to 0015 in this branch; the lead re-chains it at merge.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("report_id", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=2100), nullable=False),
        sa.Column("target", sa.String(length=2100), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("rail", sa.String(length=40), nullable=True),
        sa.Column("from_country", sa.String(length=2), nullable=True),
        sa.Column("to_country", sa.String(length=2), nullable=True),
        sa.Column("marking", sa.String(length=20), nullable=False),
        sa.Column("submitted", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_transfers_org_id_organisations")),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_transfers_report_id_reports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
    )
    op.create_index(op.f("ix_transfers_org_id_report_id"), "transfers", ["org_id", "report_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_transfers_org_id_report_id"), table_name="transfers")
    op.drop_table("transfers")
