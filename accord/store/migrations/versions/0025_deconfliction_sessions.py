"""deconfliction sessions in the database, and the PDQ threshold of a run

Revision ID: 0025
Revises: 0024

A new table, empty (sessions held in memory before this are lost, as a restart lost them); a nullable
column on deconfliction_runs. (Chained to 0021, the head when this branch was cut; the lead re-chains it.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deconfliction_runs", sa.Column("threshold", sa.Integer(), nullable=True))
    op.create_table(
        "deconfliction_sessions",
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("peer", sa.String(length=128), nullable=False),
        sa.Column("session", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("agreement_id", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_deconfliction_sessions")),
        sa.UniqueConstraint("peer", "session", name=op.f("uq_deconfliction_sessions_peer_session")),
    )
    op.create_index(
        op.f("ix_deconfliction_sessions_expires_at"), "deconfliction_sessions", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_deconfliction_sessions_expires_at"), table_name="deconfliction_sessions")
    op.drop_table("deconfliction_sessions")
    with op.batch_alter_table("deconfliction_runs") as batch:
        batch.drop_column("threshold")
