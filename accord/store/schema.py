"""The relational schema, one definition for SQLite and PostgreSQL. Alembic migrations build it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)

from accord.store.types import UtcDateTime

__all__ = [
    "actors",
    "agreements",
    "audit_events",
    "case_reports",
    "cases",
    "credentials",
    "idempotency_keys",
    "jobs",
    "metadata",
    "observables",
    "organisations",
    "report_observables",
    "reports",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(40)
SERIAL = BigInteger().with_variant(Integer, "sqlite")  # SQLite: INTEGER PRIMARY KEY, the rowid itself

organisations = Table(
    "organisations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("jurisdiction", String(2), nullable=False),
    Column("operator", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
)

actors = Table(
    "actors",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

credentials = Table(
    "credentials",
    metadata,
    Column("id", ID, primary_key=True),
    Column("actor_id", ID, ForeignKey("actors.id"), nullable=False, index=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("secret_hash", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
)

reports = Table(
    "reports",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False),
    Column("submitted_by", ID, ForeignKey("actors.id"), nullable=False),
    Column("external_id", String(200)),
    Column("source", String(40), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("ingested_at", UtcDateTime, nullable=False),
    Column("incident_type", String(60), nullable=False),
    Column("urgency", JSON, nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("score", Integer, nullable=False),
    Column("marking", String(20), nullable=False),
    Column("location", JSON, nullable=False),
    Column("subjects", JSON, nullable=False),
    Column("media", JSON, nullable=False),
    Column("sealed", LargeBinary),
    Column("sealed_fields", JSON, nullable=False),
    Column("digest", String(64), nullable=False),
    UniqueConstraint("org_id", "external_id"),
    # A report without an external id is known by its content: the same content twice is one report.
    Index(
        None,
        "org_id",
        "digest",
        unique=True,
        sqlite_where=text("external_id IS NULL"),
        postgresql_where=text("external_id IS NULL"),
    ),
    Index(None, "org_id", "received_at"),
    Index(None, "org_id", "incident_type"),
)

# Identifiers and media hashes seen before are linked, not copied: one `observables` row per distinct key
# and organisation, and a `report_observables` row per report holding it. The reports' own `subjects` and
# `media` JSON stay exactly as submitted: a report is evidence, its digest is what custody hashes, and
# rewriting it into references would change what was received. These tables are the linking layer over
# that evidence, derived from it at intake (and rebuilt from it by migration 0005).
#
# One table for both kinds rather than one per kind: the rows have the same columns, the keys cannot
# collide (`email:`, `phone:`... against `md5:`, `sha256:`, `pdq:`), and intake resolves a batch's keys
# of both kinds in one pass and writes one set of links: half the statements per batch of two tables.
observables = Table(
    "observables",
    metadata,
    # Assigned in insertion order, so the link table's new rows land at the end of its index.
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("key", String(2100), nullable=False),
    # Found through a 64-bit hash of (org_id, key) (keyhash.py): an index led by the strings outgrew the
    # page cache at bulk scale (intake fell from 5,200 to 3,300 reports/s). Lookups re-check org_id and
    # key on the row, so a hash collision cannot leak or mismatch. The unique constraint leads with the
    # hash, so it is also the lookup index, and it is what two writers' upserts of one new key conflict
    # on. It holds the strings as well (uniqueness needs them), but once per key, not once per report.
    Column("key_hash", BigInteger, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("report_count", Integer, nullable=False),
    UniqueConstraint("key_hash", "org_id", "key"),
)

report_observables = Table(
    "report_observables",
    metadata,
    # Links are numbered in the order they are written, so the table and the (report_id, observable_id)
    # index only ever grow at their ends; the one index that takes random inserts, by observable, holds
    # two integers an entry. Keyed by (observable_id, report_id) instead, it held the 30-byte report id,
    # and the links of a 1,000-report batch dirtied 4,400 pages of SQLite's WAL instead of 2,550 (at
    # 100,000 reports: each such page is written out at commit).
    # A search reads one observable's links in link order, which is ingestion order: oldest first.
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("report_id", ID, ForeignKey("reports.id"), nullable=False),
    # Not a foreign key: each link is written in the transaction that has just upserted its record,
    # records are never deleted, and a link to a missing record could not be reached (search starts from
    # the record). Declared, the check locked the shared record once per link on PostgreSQL (FOR KEY
    # SHARE): the link COPY took 125 µs a report instead of 70.
    Column("observable_id", SERIAL, nullable=False),
    UniqueConstraint("report_id", "observable_id"),
    Index(None, "observable_id", "id"),
    # Which of a report's media held the hash is not kept: the hit carries the report, whose media say it.
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("org_id", ID, ForeignKey("organisations.id"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_digest", String(64), nullable=False),
    Column("report_id", ID, ForeignKey("reports.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("jurisdiction", String(2), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

case_reports = Table(
    "case_reports",
    metadata,
    Column("case_id", ID, ForeignKey("cases.id"), primary_key=True),
    Column("report_id", ID, ForeignKey("reports.id"), primary_key=True),
    Column("org_id", ID, nullable=False),
    Column("linked_at", UtcDateTime, nullable=False),
)

agreements = Table(
    "agreements",
    metadata,
    Column("id", ID, primary_key=True),
    Column("parties", JSON, nullable=False),
    Column("purposes", JSON, nullable=False),
    Column("legal_bases", JSON, nullable=False),
    Column("max_marking", String(20), nullable=False),
    Column("retention_days", Integer, nullable=False),
    Column("onward_sharing", Boolean, nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_until", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
)

agreement_parties = Table(
    "agreement_parties",
    metadata,
    Column("agreement_id", ID, ForeignKey("agreements.id"), primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), primary_key=True),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_id", ID),
    Column("org_id", ID, index=True),
    Column("action", String(60), nullable=False),
    Column("object_type", String(40)),
    Column("object_id", ID, index=True),
    Column("request_id", String(64)),
    Column("outcome", String(20), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("actor_id", ID, ForeignKey("actors.id"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("params", JSON, nullable=False),
    Column("name", String(300), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("heartbeat_at", UtcDateTime),
    Column("attempts", Integer, nullable=False),
    Column("progress", JSON, nullable=False),
    Column("rejections", JSON, nullable=False),
    Column("error", String(2000)),
    Index(None, "status", "created_at"),
)
