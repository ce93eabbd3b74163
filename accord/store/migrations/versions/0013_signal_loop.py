"""signal_loop: verdicts on matches, entry flags, reviews after a retraction, vPDQ frames, re-scan marks

Revision ID: 0013
Revises: 0012

- `match_verdicts` (one current verdict per match, earlier ones kept with `superseded_at`), `entry_flags`
  (an entry flagged to its bank's owner), `reviews` (reports and cases to look at again after a
  retraction), `bank_entry_frames` (a vPDQ entry's frames).
- `banks` gains the flag thresholds (`fp_flag_count` 3, `fp_flag_share` 50 %), the vPDQ settings
  (`frame_quality` 50, `query_match_percent` 80, `compared_match_percent` 0) and `rescanned_version` (0).
- `matches` gains `status` ("active"; "retracted" once its entry is) and `retracted_at`.
Existing rows take the server defaults; nothing else moves.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.String(length=40)
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, accord.store.types.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("banks") as t:
        t.add_column(sa.Column("fp_flag_count", sa.Integer(), nullable=False, server_default=sa.text("3")))
        t.add_column(sa.Column("fp_flag_share", sa.Integer(), nullable=False, server_default=sa.text("50")))
        t.add_column(sa.Column("rescanned_version", sa.Integer(), nullable=False, server_default=sa.text("0")))
        t.add_column(sa.Column("frame_quality", sa.Integer(), nullable=False, server_default=sa.text("50")))
        t.add_column(sa.Column("query_match_percent", sa.Float(), nullable=False, server_default=sa.text("80")))
        t.add_column(sa.Column("compared_match_percent", sa.Float(), nullable=False, server_default=sa.text("0")))
    with op.batch_alter_table("matches") as t:
        t.add_column(sa.Column("status", sa.String(length=20), nullable=False, server_default=sa.text("'active'")))
        t.add_column(_ts("retracted_at", nullable=True))
    op.create_table(
        "bank_entry_frames",
        sa.Column("entry_id", _SERIAL, nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("frame_number", sa.Integer(), nullable=False),
        sa.Column("pdq_hex", sa.String(length=64), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["bank_entries.id"], name=op.f("fk_bank_entry_frames_entry_id_bank_entries")
        ),
        sa.PrimaryKeyConstraint("entry_id", "position", name=op.f("pk_bank_entry_frames")),
    )
    op.create_table(
        "match_verdicts",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("match_id", _SERIAL, nullable=False),
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("bank_id", _ID, nullable=False),
        sa.Column("entry_id", _SERIAL, nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=40), nullable=True),
        sa.Column("actor_id", _ID, nullable=True),
        _ts("at"),
        _ts("superseded_at", nullable=True),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name=op.f("fk_match_verdicts_bank_id_banks")),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["bank_entries.id"], name=op.f("fk_match_verdicts_entry_id_bank_entries")
        ),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"], name=op.f("fk_match_verdicts_match_id_matches")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_match_verdicts_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_verdicts")),
    )
    op.create_index("ix_match_verdicts_match_id", "match_verdicts", ["match_id"], unique=False)
    op.create_index("ix_match_verdicts_entry_id", "match_verdicts", ["entry_id"], unique=False)
    op.create_index(
        "uq_match_verdicts_current",
        "match_verdicts",
        ["match_id"],
        unique=True,
        sqlite_where=sa.text("superseded_at IS NULL"),
        postgresql_where=sa.text("superseded_at IS NULL"),
    )
    op.create_table(
        "entry_flags",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("bank_id", _ID, nullable=False),
        sa.Column("entry_id", _SERIAL, nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("false_positives", sa.Integer(), nullable=False),
        sa.Column("verdicts", sa.Integer(), nullable=False),
        _ts("raised_at"),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name=op.f("fk_entry_flags_bank_id_banks")),
        sa.ForeignKeyConstraint(["entry_id"], ["bank_entries.id"], name=op.f("fk_entry_flags_entry_id_bank_entries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_flags")),
        sa.UniqueConstraint("entry_id", "reason", name=op.f("uq_entry_flags_entry_id_reason")),
    )
    op.create_index("ix_entry_flags_bank_id", "entry_flags", ["bank_id"], unique=False)
    op.create_table(
        "reviews",
        sa.Column("id", _ID, nullable=False),
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("object_type", sa.String(length=20), nullable=False),
        sa.Column("object_id", _ID, nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("bank_id", _ID, nullable=False),
        sa.Column("entry_id", _SERIAL, nullable=False),
        sa.Column("matches", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("resolved_at", nullable=True),
        sa.Column("resolved_by", _ID, nullable=True),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name=op.f("fk_reviews_bank_id_banks")),
        sa.ForeignKeyConstraint(["entry_id"], ["bank_entries.id"], name=op.f("fk_reviews_entry_id_bank_entries")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_reviews_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint(
            "org_id", "object_type", "object_id", "entry_id", name=op.f("uq_reviews_org_id_object_type_object_id_entry_id")
        ),
    )
    op.create_index("ix_reviews_org_id_resolved_at", "reviews", ["org_id", "resolved_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_reviews_org_id_resolved_at", table_name="reviews")
    op.drop_table("reviews")
    op.drop_index("ix_entry_flags_bank_id", table_name="entry_flags")
    op.drop_table("entry_flags")
    op.drop_index("uq_match_verdicts_current", table_name="match_verdicts")
    op.drop_index("ix_match_verdicts_entry_id", table_name="match_verdicts")
    op.drop_index("ix_match_verdicts_match_id", table_name="match_verdicts")
    op.drop_table("match_verdicts")
    op.drop_table("bank_entry_frames")
    with op.batch_alter_table("matches") as t:
        t.drop_column("retracted_at")
        t.drop_column("status")
    with op.batch_alter_table("banks") as t:
        for name in (
            "compared_match_percent",
            "query_match_percent",
            "frame_quality",
            "rescanned_version",
            "fp_flag_share",
            "fp_flag_count",
        ):
            t.drop_column(name)
