"""federation API: share ids, removed bank shares, agreements' data categories

Revision ID: 0024
Revises: 0023

Bank shares and report share rules get an id (what ``DELETE /v1/federation/shares/{id}`` and ``accord peer
unshare`` name); rows already there get one here. A bank share gets ``removed_at``: a removed share stays
on file, since retractions of the entries it shared still travel and verdict counts on them still come
back (docs/federation.md, "Removing a share"). The ``agreements`` table gets the agreement's data
categories, which TAXII collections check; rows already there get none, so they serve and accept no
report until their categories are set (fail closed, as an agreement without categories lets nothing
through).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types
from accord.ids import new_ulid

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def _backfill(table: str, keys: list[str]) -> None:
    conn = op.get_bind()
    t = sa.table(table, *(sa.column(k) for k in [*keys, "id"]))
    for row in conn.execute(sa.select(*(t.c[k] for k in keys)).where(t.c.id.is_(None))).all():
        match = sa.and_(*(t.c[k] == v for k, v in zip(keys, row, strict=True)))
        conn.execute(sa.update(t).where(match).values(id=f"shr_{new_ulid()}"))


def upgrade() -> None:
    op.add_column("agreements", sa.Column("categories", sa.JSON(), server_default="[]", nullable=False))
    op.add_column("sync_shares", sa.Column("id", sa.String(length=40), nullable=True))
    op.add_column(
        "sync_shares", sa.Column("removed_at", accord.store.types.UtcDateTime(timezone=True), nullable=True)
    )
    op.add_column("sync_report_shares", sa.Column("id", sa.String(length=40), nullable=True))
    _backfill("sync_shares", ["bank_id", "agreement_id"])
    _backfill("sync_report_shares", ["agreement_id", "category"])
    for table in ("sync_shares", "sync_report_shares"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("id", existing_type=sa.String(length=40), nullable=False)
            batch.create_unique_constraint(op.f(f"uq_{table}_id"), ["id"])


def downgrade() -> None:
    for table in ("sync_report_shares", "sync_shares"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"uq_{table}_id"), type_="unique")
            batch.drop_column("id")
    with op.batch_alter_table("sync_shares") as batch:
        batch.drop_column("removed_at")
    with op.batch_alter_table("agreements") as batch:
        batch.drop_column("categories")
