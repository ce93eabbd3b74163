"""observable_pending: what a SQLite bulk import added to existing observable records, folded in later

Revision ID: 0012
Revises: 0011

One row per record and import batch, appended (see ``accord.store.observables``). A new table, empty: the
records already hold everything linked before this revision, so nothing moves.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "observable_pending",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("observable_id", SERIAL, nullable=False),
        sa.Column("first_seen", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observable_pending")),
    )


def downgrade() -> None:
    # Fold what is pending into the records before the table goes, so no count is lost.
    conn = op.get_bind()
    p = sa.table(
        "observable_pending",
        sa.column("observable_id", SERIAL),
        sa.column("first_seen", accord.store.types.UtcDateTime()),
        sa.column("last_seen", accord.store.types.UtcDateTime()),
        sa.column("report_count", sa.Integer),
    )
    o = sa.table(
        "observables",
        sa.column("id", SERIAL),
        sa.column("first_seen", accord.store.types.UtcDateTime()),
        sa.column("last_seen", accord.store.types.UtcDateTime()),
        sa.column("report_count", sa.Integer),
    )
    pending = conn.execute(
        sa.select(
            p.c.observable_id,
            sa.func.sum(p.c.report_count),
            sa.func.min(p.c.first_seen),
            sa.func.max(p.c.last_seen),
        )
        .group_by(p.c.observable_id)
        .order_by(p.c.observable_id)
    ).all()
    if pending:
        first, last = sa.bindparam("f", type_=o.c.first_seen.type), sa.bindparam("l", type_=o.c.last_seen.type)
        conn.execute(
            sa.update(o)
            .where(o.c.id == sa.bindparam("oid"))
            .values(
                first_seen=sa.case((o.c.first_seen > first, first), else_=o.c.first_seen),
                last_seen=sa.case((o.c.last_seen < last, last), else_=o.c.last_seen),
                report_count=o.c.report_count + sa.bindparam("n", type_=sa.Integer()),
            ),
            [{"oid": oid, "n": n, "f": f, "l": la} for oid, n, f, la in pending],
        )
    op.drop_table("observable_pending")
