"""federation: the peer registry, signed agreements, received nonces and envelopes with their receipts

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "peers",
        sa.Column("node_id", sa.String(length=128), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("identity", sa.Text(), nullable=False),
        sa.Column("orgs", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("added_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("node_id", name=op.f("pk_peers")),
    )
    op.create_table(
        "signed_agreements",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("signed", sa.Text(), nullable=False),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.Column("valid_from", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", accord.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("stored_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signed_agreements")),
    )
    op.create_index(op.f("ix_signed_agreements_valid_from"), "signed_agreements", ["valid_from"], unique=False)
    op.create_table(
        "federation_nonces",
        sa.Column("sender", sa.String(length=128), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("created", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sender", "nonce", name=op.f("pk_federation_nonces")),
    )
    op.create_index(op.f("ix_federation_nonces_created"), "federation_nonces", ["created"], unique=False)
    op.create_table(
        "federation_envelopes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("peer", sa.String(length=128), nullable=False),
        sa.Column("agreement_id", sa.String(length=40), nullable=False),
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("receipt", sa.LargeBinary(), nullable=True),
        sa.Column("verdict", sa.String(length=10), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("clause", sa.String(length=40), nullable=True),
        sa.Column("at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_envelopes")),
    )
    op.create_index(op.f("ix_federation_envelopes_org_id"), "federation_envelopes", ["org_id"], unique=False)
    op.create_index(op.f("ix_federation_envelopes_digest"), "federation_envelopes", ["digest"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_federation_envelopes_digest"), table_name="federation_envelopes")
    op.drop_index(op.f("ix_federation_envelopes_org_id"), table_name="federation_envelopes")
    op.drop_table("federation_envelopes")
    op.drop_index(op.f("ix_federation_nonces_created"), table_name="federation_nonces")
    op.drop_table("federation_nonces")
    op.drop_index(op.f("ix_signed_agreements_valid_from"), table_name="signed_agreements")
    op.drop_table("signed_agreements")
    op.drop_table("peers")
