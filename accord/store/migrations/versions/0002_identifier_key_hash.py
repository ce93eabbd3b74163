"""identifier search through a 64-bit hash of (org_id, key)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from accord.store.keyhash import key_hash

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_table = sa.table(
    "report_identifiers",
    sa.column("report_id", sa.String),
    sa.column("key", sa.String),
    sa.column("org_id", sa.String),
    sa.column("key_hash", sa.BigInteger),
)


def upgrade() -> None:
    op.add_column("report_identifiers", sa.Column("key_hash", sa.BigInteger(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.select(_table.c.report_id, _table.c.key, _table.c.org_id)).all()
    if rows:
        conn.execute(
            sa.update(_table)
            .where(_table.c.report_id == sa.bindparam("rid"), _table.c.key == sa.bindparam("k"))
            .values(key_hash=sa.bindparam("h")),
            [{"rid": r.report_id, "k": r.key, "h": key_hash(r.org_id, r.key)} for r in rows],
        )
    with op.batch_alter_table("report_identifiers") as batch_op:
        batch_op.alter_column("key_hash", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_index("ix_report_identifiers_org_id_key")
        batch_op.create_index("ix_report_identifiers_key_hash", ["key_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report_identifiers") as batch_op:
        batch_op.drop_index("ix_report_identifiers_key_hash")
        batch_op.create_index("ix_report_identifiers_org_id_key", ["org_id", "key"], unique=False)
        batch_op.drop_column("key_hash")
