"""sealing: custodians' keys, warrants, unseal requests and their approvals

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.String(length=40)


def _ts(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, accord.store.types.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "custodians",
        sa.Column("id", _ID, nullable=False),
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("actor_id", _ID, nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("registered_by", _ID, nullable=False),
        _ts("registered_at", nullable=False),
        _ts("revoked_at"),
        sa.ForeignKeyConstraint(["actor_id"], ["actors.id"], name=op.f("fk_custodians_actor_id_actors")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_custodians_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custodians")),
        sa.UniqueConstraint("org_id", "public_key", name=op.f("uq_custodians_org_id_public_key")),
    )
    op.create_index("ix_custodians_org_id", "custodians", ["org_id"], unique=False)

    op.create_table(
        "warrants",
        sa.Column("id", _ID, nullable=False),
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("issuing_authority", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        _ts("valid_from", nullable=False),
        _ts("valid_until", nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", _ID, nullable=False),
        _ts("recorded_at", nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_warrants_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warrants")),
    )
    op.create_index("ix_warrants_org_id", "warrants", ["org_id"], unique=False)

    op.create_table(
        "unseal_requests",
        sa.Column("id", _ID, nullable=False),
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("warrant_id", _ID, nullable=True),
        sa.Column("report_id", _ID, nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("requested_by", _ID, nullable=False),
        _ts("requested_at", nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("emergency_reason", sa.String(length=2000), nullable=True),
        _ts("opened_at"),
        sa.Column("opened_by", _ID, nullable=True),
        _ts("review_due_at"),
        _ts("escalated_at"),
        _ts("reviewed_at"),
        sa.Column("reviewed_by", _ID, nullable=True),
        sa.Column("review_outcome", sa.String(length=20), nullable=True),
        sa.Column("review_note", sa.String(length=2000), nullable=True),
        sa.Column("review_signature", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_unseal_requests_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_unseal_requests_report_id_reports")),
        sa.ForeignKeyConstraint(["warrant_id"], ["warrants.id"], name=op.f("fk_unseal_requests_warrant_id_warrants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unseal_requests")),
    )
    op.create_index("ix_unseal_requests_org_id", "unseal_requests", ["org_id"], unique=False)
    op.create_index("ix_unseal_requests_report_id", "unseal_requests", ["report_id"], unique=False)

    op.create_table(
        "unseal_approvals",
        sa.Column("request_id", _ID, nullable=False),
        sa.Column("approver_id", _ID, nullable=False),
        sa.Column("custodian_id", _ID, nullable=False),
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        _ts("approved_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["approver_id"], ["actors.id"], name=op.f("fk_unseal_approvals_approver_id_actors")
        ),
        sa.ForeignKeyConstraint(
            ["custodian_id"], ["custodians.id"], name=op.f("fk_unseal_approvals_custodian_id_custodians")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["unseal_requests.id"], name=op.f("fk_unseal_approvals_request_id_unseal_requests")
        ),
        sa.PrimaryKeyConstraint("request_id", "approver_id", name=op.f("pk_unseal_approvals")),
    )


def downgrade() -> None:
    op.drop_table("unseal_approvals")
    op.drop_index("ix_unseal_requests_report_id", table_name="unseal_requests")
    op.drop_index("ix_unseal_requests_org_id", table_name="unseal_requests")
    op.drop_table("unseal_requests")
    op.drop_index("ix_warrants_org_id", table_name="warrants")
    op.drop_table("warrants")
    op.drop_index("ix_custodians_org_id", table_name="custodians")
    op.drop_table("custodians")
