"""cross-border requests (preservation, disclosure, urgent disclosure) and their events

Revision ID: 0026
Revises: 0025

Two new tables, empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("origin_node", sa.String(length=128), nullable=False),
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("peer", sa.String(length=128), nullable=False),
        sa.Column("agreement_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("legal_basis", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.String(length=100), nullable=False),
        sa.Column("keys", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("from_org", sa.String(length=40), nullable=False),
        sa.Column("to_org", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("marking", sa.String(length=20), nullable=False),
        sa.Column("initial_deadline", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("deadline", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("answer_code", sa.String(length=40), nullable=True),
        sa.Column("answered_at", accord.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("changed_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", accord.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("origin_node", "id", name=op.f("pk_requests")),
    )
    op.create_index(op.f("ix_requests_org_id_state"), "requests", ["org_id", "state"], unique=False)
    op.create_index(op.f("ix_requests_id"), "requests", ["id"], unique=False)
    op.create_table(
        "request_events",
        sa.Column("origin_node", sa.String(length=128), nullable=False),
        sa.Column("request_id", sa.String(length=100), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("transition", sa.String(length=20), nullable=False),
        sa.Column("at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=True),
        sa.Column("deadline", accord.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("origin_node", "request_id", "side", "n", name=op.f("pk_request_events")),
    )


def downgrade() -> None:
    op.drop_table("request_events")
    op.drop_index(op.f("ix_requests_id"), table_name="requests")
    op.drop_index(op.f("ix_requests_org_id_state"), table_name="requests")
    op.drop_table("requests")
