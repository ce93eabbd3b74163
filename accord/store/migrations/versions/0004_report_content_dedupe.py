"""reports without an external id are unique by content digest within their organisation

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No report is deleted to make room for the index: evidence is never removed by a migration. A node
    # that already holds two reports with the same content and no external id fails here, naming the
    # index, and its operator decides (link one to the other's case, or keep both under an external id).
    with op.batch_alter_table("reports") as batch_op:
        batch_op.create_index(
            "ix_reports_org_id_digest",
            ["org_id", "digest"],
            unique=True,
            sqlite_where=sa.text("external_id IS NULL"),
            postgresql_where=sa.text("external_id IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch_op:
        batch_op.drop_index("ix_reports_org_id_digest")
