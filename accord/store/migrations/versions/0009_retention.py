"""retention: rules, tombstones of purged data, reports' agreement, links that outlive a purged report

Revision ID: 0009
Revises: 0008

- `retention_rules` (per organisation, data category and optionally agreement) and `report_purges` (one
  tombstone per purged report and category).
- `reports.agreement_id` (nullable, no foreign key: adding one would rebuild the reports table on SQLite)
  and an index on (org_id, ingested_at), by which retention finds expired reports oldest first.
- `case_reports.report_id` and `unseal_requests.report_id` lose their foreign keys to `reports`: a case
  still lists a purged report, and an opening or an emergency disclosure under review outlives it. On
  SQLite dropping a foreign key rebuilds the table (with foreign keys off meanwhile: see
  `accord.store.migrate`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import accord.store.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.String(length=40)


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, accord.store.types.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "retention_rules",
        sa.Column("id", _ID, nullable=False),
        sa.Column("org_id", _ID, nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("agreement_id", _ID, nullable=True),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("set_by", _ID, nullable=True),
        _ts("set_at"),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreements.id"], name=op.f("fk_retention_rules_agreement_id_agreements")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_retention_rules_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_rules")),
        sa.UniqueConstraint(
            "org_id", "category", "agreement_id", name=op.f("uq_retention_rules_org_id_category_agreement_id")
        ),
    )
    op.create_index(
        "uq_retention_rules_general",
        "retention_rules",
        ["org_id", "category"],
        unique=True,
        sqlite_where=sa.text("agreement_id IS NULL"),
        postgresql_where=sa.text("agreement_id IS NULL"),
    )
    op.create_table(
        "report_purges",
        sa.Column("report_id", _ID, nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("org_id", _ID, nullable=False),
        _ts("purged_at"),
        sa.Column("rule_id", _ID, nullable=True),
        sa.Column("agreement_id", _ID, nullable=True),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("custody_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_report_purges_org_id_organisations")),
        sa.PrimaryKeyConstraint("report_id", "category", name=op.f("pk_report_purges")),
    )
    op.create_index("ix_report_purges_org_id", "report_purges", ["org_id"], unique=False)

    with op.batch_alter_table("reports") as batch_op:
        batch_op.add_column(sa.Column("agreement_id", _ID, nullable=True))
        batch_op.create_index("ix_reports_org_id_ingested_at", ["org_id", "ingested_at"], unique=False)

    with op.batch_alter_table("case_reports") as batch_op:
        batch_op.drop_constraint("fk_case_reports_report_id_reports", type_="foreignkey")
    with op.batch_alter_table("unseal_requests") as batch_op:
        batch_op.drop_constraint("fk_unseal_requests_report_id_reports", type_="foreignkey")


def downgrade() -> None:
    # Restoring the foreign keys needs every linked report to exist: purged reports' links go first.
    op.execute("DELETE FROM case_reports WHERE report_id NOT IN (SELECT id FROM reports)")
    op.execute(
        "DELETE FROM unseal_approvals WHERE request_id IN "
        "(SELECT id FROM unseal_requests WHERE report_id NOT IN (SELECT id FROM reports))"
    )
    op.execute("DELETE FROM unseal_requests WHERE report_id NOT IN (SELECT id FROM reports)")
    with op.batch_alter_table("unseal_requests") as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_unseal_requests_report_id_reports"), "reports", ["report_id"], ["id"]
        )
    with op.batch_alter_table("case_reports") as batch_op:
        batch_op.create_foreign_key(op.f("fk_case_reports_report_id_reports"), "reports", ["report_id"], ["id"])
    with op.batch_alter_table("reports") as batch_op:
        batch_op.drop_index("ix_reports_org_id_ingested_at")
        batch_op.drop_column("agreement_id")
    op.drop_index("ix_report_purges_org_id", table_name="report_purges")
    op.drop_table("report_purges")
    op.drop_index("uq_retention_rules_general", table_name="retention_rules")
    op.drop_table("retention_rules")
