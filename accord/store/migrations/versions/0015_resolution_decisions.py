"""resolution_decisions: analysts' merge and split verdicts on entity resolution

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resolution_decisions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("record_a", sa.String(length=300), nullable=False),
        sa.Column("record_b", sa.String(length=300), nullable=False),
        sa.Column("decided_by", sa.String(length=40), nullable=False),
        sa.Column("decided_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_resolution_decisions_org_id"), "resolution_decisions", ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_resolution_decisions_org_id"), table_name="resolution_decisions")
    op.drop_table("resolution_decisions")
