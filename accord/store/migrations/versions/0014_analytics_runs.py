"""analytics_runs: analyses of an organisation's reports run as jobs, with their stored results

Revision ID: 0014
Revises: 0013

A new table, empty. (Chained to 0012 in this branch; the entity-resolution branch adds 0013, and the merge
re-chains this one after it.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("started_at", accord.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", accord.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", accord.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("data_version", sa.JSON(), nullable=True),
        sa.Column("result", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["actors.id"], name=op.f("fk_analytics_runs_actor_id_actors")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_analytics_runs_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_runs")),
    )
    with op.batch_alter_table("analytics_runs") as batch_op:
        batch_op.create_index("ix_analytics_runs_org_id_created_at", ["org_id", "created_at"], unique=False)
        batch_op.create_index("ix_analytics_runs_status_created_at", ["status", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("analytics_runs") as batch_op:
        batch_op.drop_index("ix_analytics_runs_status_created_at")
        batch_op.drop_index("ix_analytics_runs_org_id_created_at")
    op.drop_table("analytics_runs")
