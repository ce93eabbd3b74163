"""taxii_statuses and taxii_cursors: TAXII 2.1 add-objects status resources and pull cursors

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "taxii_statuses",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("collection", sa.String(length=40), nullable=False),
        sa.Column("requested_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("resource", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_taxii_statuses_org_id"), "taxii_statuses", ["org_id"], unique=False)
    op.create_table(
        "taxii_cursors",
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("added_after", sa.String(length=40), nullable=False),
        sa.Column("updated_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("org_id", "source"),
    )


def downgrade() -> None:
    op.drop_table("taxii_cursors")
    op.drop_index(op.f("ix_taxii_statuses_org_id"), table_name="taxii_statuses")
    op.drop_table("taxii_statuses")
