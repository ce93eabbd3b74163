"""people, sessions and auth failure windows: people's sign-in with TOTP and lockout

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("actor_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("totp_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("failures_since", accord.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("locked_until", accord.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("refused_while_locked", sa.Integer(), nullable=False),
        sa.Column("created_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["actors.id"], name=op.f("fk_people_actor_id_actors")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_people_org_id_organisations")),
        sa.PrimaryKeyConstraint("actor_id", name=op.f("pk_people")),
    )
    with op.batch_alter_table("people") as batch_op:
        batch_op.create_index("ix_people_org_id", ["org_id"], unique=False)

    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", accord.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["actors.id"], name=op.f("fk_sessions_actor_id_actors")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_sessions_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sessions_token_hash")),
    )
    with op.batch_alter_table("sessions") as batch_op:
        batch_op.create_index("ix_sessions_actor_id", ["actor_id"], unique=False)
        batch_op.create_index("ix_sessions_org_id", ["org_id"], unique=False)

    op.create_table(
        "auth_failure_windows",
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("window_start", accord.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_auth_failure_windows")),
    )


def downgrade() -> None:
    op.drop_table("auth_failure_windows")
    with op.batch_alter_table("sessions") as batch_op:
        batch_op.drop_index("ix_sessions_org_id")
        batch_op.drop_index("ix_sessions_actor_id")
    op.drop_table("sessions")
    with op.batch_alter_table("people") as batch_op:
        batch_op.drop_index("ix_people_org_id")
    op.drop_table("people")
