"""banks: hash banks, their entries (with the bank version each arrived and left in), and intake matches

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.String(length=40)
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, accord.store.types.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "banks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("signal_type", sa.String(length=20), nullable=False),
        sa.Column("marking", sa.String(length=20), nullable=False),
        sa.Column("agreement_id", _ID, nullable=True),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", _ID, nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(["agreement_id"], ["agreements.id"], name=op.f("fk_banks_agreement_id_agreements")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_banks_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_banks")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_banks_org_id_name")),
    )
    op.create_index("ix_banks_agreement_id", "banks", ["agreement_id"], unique=False)
    op.create_table(
        "bank_entries",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("bank_id", _ID, nullable=False),
        sa.Column("signal_type", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=2100), nullable=False),
        sa.Column("added_by", _ID, nullable=True),
        _ts("added_at"),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("added_in_version", sa.Integer(), nullable=False),
        sa.Column("removed_in_version", sa.Integer(), nullable=True),
        _ts("removed_at", nullable=True),
        sa.Column("retracted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("retracted_reason", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name=op.f("fk_bank_entries_bank_id_banks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_entries")),
    )
    op.create_index("ix_bank_entries_signal_type_value", "bank_entries", ["signal_type", "value"], unique=False)
    op.create_index(
        "ix_bank_entries_bank_id_added_in_version", "bank_entries", ["bank_id", "added_in_version"], unique=False
    )
    op.create_index(
        "ix_bank_entries_bank_id_removed_in_version", "bank_entries", ["bank_id", "removed_in_version"], unique=False
    )
    op.create_table(
        "matches",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("report_id", _ID, nullable=False),
        sa.Column("key", sa.String(length=2100), nullable=False),
        sa.Column("bank_id", _ID, nullable=False),
        sa.Column("entry_id", _SERIAL, nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("bank_version", sa.Integer(), nullable=False),
        _ts("matched_at"),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name=op.f("fk_matches_bank_id_banks")),
        sa.ForeignKeyConstraint(["entry_id"], ["bank_entries.id"], name=op.f("fk_matches_entry_id_bank_entries")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_matches_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matches")),
    )
    op.create_index("ix_matches_org_id_report_id", "matches", ["org_id", "report_id"], unique=False)
    op.create_index("ix_matches_entry_id", "matches", ["entry_id"], unique=False)
    op.create_index("ix_matches_bank_id", "matches", ["bank_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_matches_bank_id", table_name="matches")
    op.drop_index("ix_matches_entry_id", table_name="matches")
    op.drop_index("ix_matches_org_id_report_id", table_name="matches")
    op.drop_table("matches")
    op.drop_index("ix_bank_entries_bank_id_removed_in_version", table_name="bank_entries")
    op.drop_index("ix_bank_entries_bank_id_added_in_version", table_name="bank_entries")
    op.drop_index("ix_bank_entries_signal_type_value", table_name="bank_entries")
    op.drop_table("bank_entries")
    op.drop_index("ix_banks_agreement_id", table_name="banks")
    op.drop_table("banks")
