"""custody log: leaves, perfect-subtree hashes, the tree state, signed checkpoints and signing keys

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH of the empty tree (RFC 9162 2.1.1)


def upgrade() -> None:
    op.create_table(
        "custody_leaves",
        sa.Column("seq", _SEQ, autoincrement=False, nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=128), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_custody_leaves")),
    )
    with op.batch_alter_table("custody_leaves") as batch_op:
        batch_op.create_index("ix_custody_leaves_leaf_hash", ["leaf_hash"], unique=False)
        batch_op.create_index(
            "ix_custody_leaves_org_id_object_type_object_id", ["org_id", "object_type", "object_id"], unique=False
        )
    op.create_table(
        "custody_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", _SEQ, autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_custody_nodes")),
        sqlite_with_rowid=False,
    )
    tree = op.create_table(
        "custody_tree",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_tree")),
    )
    # The empty tree: size 0 (8 zero bytes, no hashes) and the root of the empty list.
    op.bulk_insert(tree, [{"id": 1, "origin": None, "size": 0, "frontier": bytes(8), "root": _EMPTY_ROOT}])
    op.create_table(
        "custody_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_checkpoints")),
    )
    with op.batch_alter_table("custody_checkpoints") as batch_op:
        batch_op.create_index("ix_custody_checkpoints_size", ["size"], unique=False)
    op.create_table(
        "custody_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", accord.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_keys")),
        sa.UniqueConstraint("name", "public_key", name=op.f("uq_custody_keys_name_public_key")),
    )


def downgrade() -> None:
    op.drop_table("custody_keys")
    with op.batch_alter_table("custody_checkpoints") as batch_op:
        batch_op.drop_index("ix_custody_checkpoints_size")
    op.drop_table("custody_checkpoints")
    op.drop_table("custody_tree")
    op.drop_table("custody_nodes")
    with op.batch_alter_table("custody_leaves") as batch_op:
        batch_op.drop_index("ix_custody_leaves_org_id_object_type_object_id")
        batch_op.drop_index("ix_custody_leaves_leaf_hash")
    op.drop_table("custody_leaves")
