"""deconfliction: PSI runs between nodes and the alerts their overlaps raise

Revision ID: 0020
Revises: 0019

Two new tables, empty. (Chained to 0018, the head when this branch was cut; the lead re-chains it at merge.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deconfliction_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("peer", sa.String(length=128), nullable=False),
        sa.Column("peer_org", sa.String(length=40), nullable=False),
        sa.Column("agreement_id", sa.String(length=40), nullable=False),
        sa.Column("set", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("session", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("own_size", sa.Integer(), nullable=False),
        sa.Column("peer_size", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("members", sa.JSON(), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("started_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", accord.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deconfliction_runs")),
        sa.UniqueConstraint("role", "peer", "session", name=op.f("uq_deconfliction_runs_role_peer_session")),
    )
    op.create_index(
        op.f("ix_deconfliction_runs_peer_role_started_at"),
        "deconfliction_runs",
        ["peer", "role", "started_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_deconfliction_runs_org_id_started_at"), "deconfliction_runs", ["org_id", "started_at"], unique=False
    )
    op.create_table(
        "deconfliction_alerts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("peer", sa.String(length=128), nullable=False),
        sa.Column("peer_org", sa.String(length=40), nullable=False),
        sa.Column("agreement_id", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deconfliction_alerts")),
    )
    op.create_index(op.f("ix_deconfliction_alerts_org_id_at"), "deconfliction_alerts", ["org_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_deconfliction_alerts_org_id_at"), table_name="deconfliction_alerts")
    op.drop_table("deconfliction_alerts")
    op.drop_index(op.f("ix_deconfliction_runs_org_id_started_at"), table_name="deconfliction_runs")
    op.drop_index(op.f("ix_deconfliction_runs_peer_role_started_at"), table_name="deconfliction_runs")
    op.drop_table("deconfliction_runs")
