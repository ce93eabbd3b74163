"""The relational schema, one definition for SQLite and PostgreSQL. Alembic migrations build it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from accord.store.types import UtcDateTime

__all__ = [
    "actors",
    "agreements",
    "analytics_runs",
    "audit_events",
    "case_reports",
    "cases",
    "credentials",
    "custodians",
    "idempotency_keys",
    "jobs",
    "metadata",
    "observable_pending",
    "observables",
    "organisations",
    "report_observables",
    "report_purges",
    "reports",
    "retention_rules",
    "unseal_approvals",
    "unseal_requests",
    "warrants",
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
    # The agreement the report is held under (set by federated intake; none for a direct submission): its
    # retention_days caps how long the report is kept. Not a foreign key: adding one to this table on
    # SQLite means rebuilding it, and the agreement is checked where the report is received.
    Column("agreement_id", ID),
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
    # retention finds expired reports oldest first (docs/retention.md)
    Index(None, "org_id", "ingested_at"),
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
    # Not a foreign key: each link is written in the transaction that has just upserted its record, a
    # record is deleted only with its last link (retention), and a link to a missing record could not be
    # reached (search starts from the record). Declared, the check locked the shared record once per link
    # on PostgreSQL (FOR KEY SHARE): the link COPY took 125 µs a report instead of 70.
    Column("observable_id", SERIAL, nullable=False),
    UniqueConstraint("report_id", "observable_id"),
    Index(None, "observable_id", "id"),
    # Which of a report's media held the hash is not kept: the hit carries the report, whose media say it.
)

# What a bulk import on SQLite has added to records that already existed, not yet folded into them
# (store.observables): one row per record and batch, appended, so a batch writes a few new pages here
# instead of rewriting the scattered pages of the records themselves. A record's true aggregates are its
# own columns combined with its rows here; the rows are folded in and deleted at the end of the import
# (or when they pass a bound, or before retention). No index: only folding and a search read it, and a
# search scans at most that bound of rows, and only while an import is running or was interrupted.
observable_pending = Table(
    "observable_pending",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("observable_id", SERIAL, nullable=False),  # not a foreign key, as report_observables'
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("report_count", Integer, nullable=False),
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

# A report purged under retention stays linked to its cases (its tombstone in report_purges says what it
# was and when it went), so report_id is no foreign key: it names a report or a tombstone.
case_reports = Table(
    "case_reports",
    metadata,
    Column("case_id", ID, ForeignKey("cases.id"), primary_key=True),
    Column("report_id", ID, primary_key=True),
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
    # the data categories the agreement allows (vocabulary ``categories``); none: nothing crosses
    Column("categories", JSON, nullable=False, server_default="[]"),
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

# --- analytics runs (docs/analytics.md) ----------------------------------------------------------
# A run of one analysis over an organisation's reports: queued, claimed and beaten like ``jobs``, with the
# result kept (zlib-compressed JSON) beside the parameters and the data version it used. Its own table, not
# a job kind: a run started at the console has no actor (the operator acts as the node), and the result is
# read far more often than a job row.
analytics_runs = Table(
    "analytics_runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False),
    Column("actor_id", ID, ForeignKey("actors.id")),
    Column("kind", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("params", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("heartbeat_at", UtcDateTime),
    Column("attempts", Integer, nullable=False),
    Column("progress", JSON, nullable=False),
    Column("data_version", JSON),
    Column("result", LargeBinary),
    Column("error", String(2000)),
    Index(None, "org_id", "created_at"),
    Index(None, "status", "created_at"),
)

# --- payment transfers carried by reports (docs/analytics.md, "Money on a node") --------------------

transfers = Table(
    "transfers",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False),
    # The report that carried it: the transfer is part of the report's content, so it goes when the report
    # is purged, and a money run reads the transfers of the reports its data version counts.
    Column("report_id", ID, ForeignKey("reports.id"), nullable=False),
    Column("reference", String(200)),
    Column("at", UtcDateTime, nullable=False),
    Column("source", String(2100), nullable=False),  # identifier key of the paying instrument
    Column("target", String(2100), nullable=False),
    Column("amount", Float, nullable=False),
    Column("currency", String(10), nullable=False),
    Column("rail", String(40)),
    Column("from_country", String(2)),
    Column("to_country", String(2)),
    Column("marking", String(20), nullable=False),  # the carrying report's marking
    # the transfer as the submitter sent it (JSON): the native export gives it back, so the report it
    # recreates has the same digest (the columns above hold the instruments normalised, as keys)
    Column("submitted", Text, nullable=False),
    Index(None, "org_id", "report_id"),
)
__all__ += ["transfers"]

# --- the custody log (docs/custody.md) -------------------------------------------------------------

__all__ += [
    "CUSTODY_TREE_ROW",
    "custody_checkpoints",
    "custody_keys",
    "custody_leaves",
    "custody_nodes",
    "custody_tree",
]

CUSTODY_TREE_ROW = 1
"""The id of the one ``custody_tree`` row."""

custody_leaves = Table(
    "custody_leaves",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    # The canonical leaf bytes are the record; the columns after leaf_hash are copied out of them only so
    # they can be queried (own-organisation reads, a case's leaves), and `accord custody verify` checks
    # that they still agree with the bytes.
    Column("leaf", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("org_id", String(128), nullable=False),
    Column("object_type", String(64), nullable=False),
    Column("object_id", String(128), nullable=False),
    Column("action", String(20), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index(None, "leaf_hash"),
    Index(None, "org_id", "object_type", "object_id"),
)

# The hash of every perfect subtree above the leaves, (level >= 1, index), written as it completes.
# Level 0 is custody_leaves.leaf_hash, not repeated here: a proof asks both tables in one statement.
custody_nodes = Table(
    "custody_nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
    sqlite_with_rowid=False,  # the key is the row: one B-tree to write per node, not a table and an index
)

# One row: the tree as of the last committed append. Appends lock it (FOR UPDATE on PostgreSQL), so
# concurrent writers take turns and the sequence numbers stay gapless. `origin` is the log's name in its
# checkpoints, minted when the first one is signed.
custody_tree = Table(
    "custody_tree",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("origin", String(200)),
    Column("size", BigInteger, nullable=False),
    Column("frontier", LargeBinary, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
)

custody_checkpoints = Table(
    "custody_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("key_id", String(8), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index(None, "size"),
)

# Every public key that ever signed a checkpoint, retired ones included, so old checkpoints verify.
custody_keys = Table(
    "custody_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("key_id", String(8), nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime),
    UniqueConstraint("name", "public_key"),
)

# People's sign-in (docs/sign-in.md). A person is an actor with a password and a TOTP secret instead
# of an API key; the lockout state lives on the same row so that a failure updates one row.
people = Table(
    "people",
    metadata,
    Column("actor_id", ID, ForeignKey("actors.id"), primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("password_hash", String(200), nullable=False),
    # sealed with the node Sealer under "cred:totp:<actor id>": a database copy alone cannot mint codes
    Column("totp_sealed", LargeBinary, nullable=False),
    # the time step of the last accepted code: a code is accepted once, and never an older one
    Column("totp_last_step", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("failures_since", UtcDateTime),
    Column("locked_until", UtcDateTime),
    Column("refused_while_locked", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # set while an admin has disabled the person: no sign-in, and their sessions were ended then
    Column("disabled_at", UtcDateTime),
    # after an admin's reset: the person's sessions do nothing but change the password (docs/sign-in.md)
    Column("must_change_password", Boolean, nullable=False, server_default=false()),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", ID, primary_key=True),
    # SHA-256 of the token (32 random bytes): see accord/safeguards/signin.py for why not argon2
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("actor_id", ID, ForeignKey("actors.id"), nullable=False, index=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("end_reason", String(20)),
)

# Failed authentications that belong to no account (an unknown sign-in id, a dead session token) are
# counted here per scope and audited once per window, so that nobody can grow the audit trail at will.
auth_failure_windows = Table(
    "auth_failure_windows",
    metadata,
    Column("scope", String(40), primary_key=True),
    Column("window_start", UtcDateTime, nullable=False),
    Column("failures", Integer, nullable=False),
)

# --- sealing: custodians' keys, warrants, unseal requests and their approvals (docs/sealing.md)

custodians = Table(
    "custodians",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("actor_id", ID, ForeignKey("actors.id"), nullable=False),
    Column("public_key", String(64), nullable=False),
    Column("registered_by", ID, nullable=False),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    UniqueConstraint("org_id", "public_key"),
)

warrants = Table(
    "warrants",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("issuing_authority", String(200), nullable=False),
    Column("reference", String(200), nullable=False),
    Column("scope", JSON, nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_until", UtcDateTime, nullable=False),
    Column("document_sha256", String(64), nullable=False),
    Column("recorded_by", ID, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)

unseal_requests = Table(
    "unseal_requests",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("warrant_id", ID, ForeignKey("warrants.id")),
    # not a foreign key: a request (an opening, a disclosure under review) outlives a purged report
    Column("report_id", ID, nullable=False, index=True),
    Column("fields", JSON, nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("requested_by", ID, nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("emergency", Boolean, nullable=False),
    Column("emergency_reason", String(2000)),
    Column("opened_at", UtcDateTime),
    Column("opened_by", ID),
    Column("review_due_at", UtcDateTime),
    Column("escalated_at", UtcDateTime),
    Column("reviewed_at", UtcDateTime),
    Column("reviewed_by", ID),
    Column("review_outcome", String(20)),
    Column("review_note", String(2000)),
    Column("review_signature", String(200)),
)

unseal_approvals = Table(
    "unseal_approvals",
    metadata,
    Column("request_id", ID, ForeignKey("unseal_requests.id"), primary_key=True),
    # one approval per person, whatever registration (key) they sign with: k means k people
    Column("approver_id", ID, ForeignKey("actors.id"), primary_key=True),
    Column("custodian_id", ID, ForeignKey("custodians.id"), nullable=False),
    Column("org_id", ID, nullable=False),
    Column("signature", String(200), nullable=False),
    Column("approved_at", UtcDateTime, nullable=False),
)


# --- retention (docs/retention.md) ------------------------------------------------------------------

retention_rules = Table(
    "retention_rules",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False),
    Column("category", String(40), nullable=False),
    Column("agreement_id", ID, ForeignKey("agreements.id")),
    Column("days", Integer, nullable=False),
    Column("set_by", ID),
    Column("set_at", UtcDateTime, nullable=False),
    UniqueConstraint("org_id", "category", "agreement_id"),
    # the unique constraint does not compare NULLs: one general rule per category needs its own index
    Index(
        "uq_retention_rules_general",
        "org_id",
        "category",
        unique=True,
        sqlite_where=text("agreement_id IS NULL"),
        postgresql_where=text("agreement_id IS NULL"),
    ),
)

# What is left of purged data: one row per report and category purged. A whole report leaves only this
# (GET answers 410 from it); a purged part leaves the report without that part. ``digest`` is the SHA-256
# of what was removed (the report's content digest, or the sealed ciphertext's), ``custody_seq`` the
# custody leaf that records the purge.
report_purges = Table(
    "report_purges",
    metadata,
    Column("report_id", ID, primary_key=True),
    Column("category", String(40), primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("purged_at", UtcDateTime, nullable=False),
    Column("rule_id", ID),
    Column("agreement_id", ID),
    Column("days", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("custody_seq", BigInteger, nullable=False),
)


# --- banks and matches (docs/matching.md) -----------------------------------------------------------

__all__ += ["bank_entries", "banks", "matches"]

# A bank's version goes up by one with every change to it or its entries, and each entry says in which
# version it arrived and left: a matcher holding an index as of version v catches up by reading only the
# entries added or removed after v, and a match records the version it was made against.
banks = Table(
    "banks",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("signal_type", String(20), nullable=False),
    Column("marking", String(20), nullable=False),
    Column("agreement_id", ID, ForeignKey("agreements.id")),
    Column("threshold", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_by", ID),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # the signal-quality loop: an entry with at least fp_flag_count false positives making at least
    # fp_flag_share percent of its verdicts is flagged to the owner (docs/matching.md, "Verdicts and flags")
    Column("fp_flag_count", Integer, nullable=False, server_default=text("3")),
    Column("fp_flag_share", Integer, nullable=False, server_default=text("50")),
    # the last version a re-scan of the stored media covered (0: none; intake matched what came after)
    Column("rescanned_version", Integer, nullable=False, server_default=text("0")),
    # vPDQ banks: frames under frame_quality are ignored; a video matches an entry when at least
    # query_match_percent of its frames are found in the entry and compared_match_percent of the entry's in it
    Column("frame_quality", Integer, nullable=False, server_default=text("50")),
    Column("query_match_percent", Float, nullable=False, server_default=text("80")),
    Column("compared_match_percent", Float, nullable=False, server_default=text("0")),
    UniqueConstraint("org_id", "name"),
    # the banks an organisation sees through its agreements
    Index(None, "agreement_id"),
)

bank_entries = Table(
    "bank_entries",
    metadata,
    # numbered, not named: the PDQ index holds 64-bit ids next to the hashes
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("bank_id", ID, ForeignKey("banks.id"), nullable=False),
    Column("signal_type", String(20), nullable=False),
    Column("value", String(2100), nullable=False),
    Column("added_by", ID),
    Column("added_at", UtcDateTime, nullable=False),
    Column("source", String(200)),
    Column("added_in_version", Integer, nullable=False),
    Column("removed_in_version", Integer),
    Column("removed_at", UtcDateTime),
    Column("retracted", Boolean, nullable=False, server_default=false()),
    Column("retracted_reason", String(2000)),
    # exact look-ups (md5, sha256, url) across the visible banks of one type
    Index(None, "signal_type", "value"),
    # a matcher's catch-up: what arrived or left after the version it holds
    Index(None, "bank_id", "added_in_version"),
    Index(None, "bank_id", "removed_in_version"),
)

# One row per (report key, bank entry) that matched at intake. org_id is the matched report's
# organisation (the bank may be another's, seen through an agreement).
matches = Table(
    "matches",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False),
    # not a foreign key: a purge deletes a report's matches in its own statements (store.retention)
    Column("report_id", ID, nullable=False),
    Column("key", String(2100), nullable=False),
    Column("bank_id", ID, ForeignKey("banks.id"), nullable=False),
    Column("entry_id", SERIAL, ForeignKey("bank_entries.id"), nullable=False),
    Column("distance", Integer, nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("bank_version", Integer, nullable=False),
    Column("matched_at", UtcDateTime, nullable=False),
    # "active", or "retracted" once its entry was retracted (what it led to is then under review)
    Column("status", String(20), nullable=False, server_default=text("'active'")),
    Column("retracted_at", UtcDateTime),
    Index(None, "org_id", "report_id"),
    # a retraction finds every match its entry produced
    Index(None, "entry_id"),
    Index(None, "bank_id"),
)


# --- the signal-quality loop (docs/matching.md, "Verdicts and flags", "Retraction", "Video (vPDQ)") ------

__all__ += ["bank_entry_frames", "entry_flags", "match_verdicts", "reviews"]

# A vPDQ entry's frames. The entry's value is the SHA-256 of its canonical frame list (what tells two
# submissions of one video apart from two videos); the frames themselves live here, one row each.
bank_entry_frames = Table(
    "bank_entry_frames",
    metadata,
    Column("entry_id", SERIAL, ForeignKey("bank_entries.id"), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("frame_number", Integer, nullable=False),
    Column("pdq_hex", String(64), nullable=False),
    Column("quality", Integer, nullable=False),
    Column("timestamp", Float, nullable=False),
)

# Verdicts on recorded matches, by the organisation holding the match. A changed verdict supersedes the
# current one (superseded_at set) instead of overwriting it: the history stays. entry_id and bank_id are
# copied from the match so that an entry's counts are one indexed read.
match_verdicts = Table(
    "match_verdicts",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("match_id", SERIAL, ForeignKey("matches.id"), nullable=False),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False),
    Column("bank_id", ID, ForeignKey("banks.id"), nullable=False),
    Column("entry_id", SERIAL, ForeignKey("bank_entries.id"), nullable=False),
    Column("verdict", String(20), nullable=False),
    Column("note", String(40)),
    Column("actor_id", ID),
    Column("at", UtcDateTime, nullable=False),
    Column("superseded_at", UtcDateTime),
    Index(None, "match_id"),
    Index(None, "entry_id"),
    # one current verdict per match (a match belongs to one organisation)
    Index(
        "uq_match_verdicts_current",
        "match_id",
        unique=True,
        sqlite_where=text("superseded_at IS NULL"),
        postgresql_where=text("superseded_at IS NULL"),
    ),
)

# An entry flagged to its bank's owner (once per reason): counts only, never whose matches they were.
entry_flags = Table(
    "entry_flags",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("bank_id", ID, ForeignKey("banks.id"), nullable=False, index=True),
    Column("entry_id", SERIAL, ForeignKey("bank_entries.id"), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("false_positives", Integer, nullable=False),
    Column("verdicts", Integer, nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
    UniqueConstraint("entry_id", "reason"),
)

# Something an organisation must look at again: a report (or a case citing it) that a now-retracted
# entry matched. One per (object, entry); resolved_at set once someone has.
reviews = Table(
    "reviews",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False),
    Column("object_type", String(20), nullable=False),
    Column("object_id", ID, nullable=False),
    Column("reason", String(40), nullable=False),
    Column("bank_id", ID, ForeignKey("banks.id"), nullable=False),
    Column("entry_id", SERIAL, ForeignKey("bank_entries.id"), nullable=False),
    Column("matches", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", ID),
    UniqueConstraint("org_id", "object_type", "object_id", "entry_id"),
    Index(None, "org_id", "resolved_at"),
)

# Analysts' verdicts on entity resolution (docs/analytics.md, "Entity resolution"): two records are the same
# person (merge) or not (split). Later runs apply them after clustering; the latest verdict on a pair wins.
# Records are named as ``<report id>/<subject index>``, which stay the same as long as the report exists.
resolution_decisions = Table(
    "resolution_decisions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("kind", String(10), nullable=False),
    Column("record_a", String(300), nullable=False),
    Column("record_b", String(300), nullable=False),
    Column("decided_by", ID, nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("note", String(1000)),
)
__all__ += ["resolution_decisions"]

# TAXII 2.1 (docs/federation.md): the status resource of each add-objects request, kept for its
# organisation to poll, and the cursor of each remote collection pulled from (resumable pulls).
taxii_statuses = Table(
    "taxii_statuses",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("collection", ID, nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("resource", JSON, nullable=False),
)
taxii_cursors = Table(
    "taxii_cursors",
    metadata,
    Column("org_id", ID, ForeignKey("organisations.id"), primary_key=True),
    Column("source", String(1000), primary_key=True),
    Column("added_after", String(40), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
__all__ += ["taxii_cursors", "taxii_statuses"]

# Federation (docs/federation.md). The peer registry: each peer node's published identity document (its
# keys with their validity windows) verbatim, the organisations behind it, and the trust state an
# operator set: only trusted peers' keys open envelopes here.
peers = Table(
    "peers",
    metadata,
    Column("node_id", String(128), primary_key=True),
    Column("base_url", String(500), nullable=False),
    Column("identity", Text, nullable=False),
    Column("orgs", JSON, nullable=False),
    Column("state", String(10), nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Signed agreements as both parties hold them: the canonical SignedAgreement JSON verbatim (the record),
# with its id, parties and validity copied out so they can be queried. Apart from ``agreements``, whose
# parties must be organisations of this node: a federation agreement names the peer's organisations too.
signed_agreements = Table(
    "signed_agreements",
    metadata,
    Column("id", ID, primary_key=True),
    Column("signed", Text, nullable=False),
    Column("parties", JSON, nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_until", UtcDateTime),
    Column("stored_at", UtcDateTime, nullable=False),
    Index(None, "valid_from"),
)

# Nonces of envelopes received within the freshness window: a second (sender, nonce) is a replay. Rows
# whose envelope was created before the window are purged as new nonces arrive.
federation_nonces = Table(
    "federation_nonces",
    metadata,
    Column("sender", String(128), primary_key=True),
    Column("nonce", String(32), primary_key=True),
    Column("created", UtcDateTime, nullable=False, index=True),
)

# Every envelope this node sent or accepted, verbatim, with the receipt that answered it (also verbatim).
# Custody leaves name them by the SHA-256 of these bytes; the bytes themselves live here.
federation_envelopes = Table(
    "federation_envelopes",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, nullable=False, index=True),
    Column("direction", String(3), nullable=False),
    Column("peer", String(128), nullable=False),
    Column("agreement_id", ID, nullable=False),
    Column("digest", String(71), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("receipt", LargeBinary),
    Column("verdict", String(10)),
    Column("reason", String(40)),
    Column("clause", String(40)),
    Column("at", UtcDateTime, nullable=False),
    # not unique: a retry sends the same bytes again (a new row and leaf); a replay in is refused by nonce
    Index(None, "digest"),
)
__all__ += ["federation_envelopes", "federation_nonces", "peers", "signed_agreements"]

# Sync (docs/federation.md, "Sync"). A bank shared into an agreement's feed, with the data category it is
# shared as; ``received_under`` is the upstream agreement of a mirror bank shared on (onward sharing).
sync_shares = Table(
    "sync_shares",
    metadata,
    Column("bank_id", ID, ForeignKey("banks.id"), primary_key=True),
    Column("agreement_id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),
    Column("category", String(40), nullable=False),
    Column("received_under", ID),
    Column("at", UtcDateTime, nullable=False),
    # what the API and ``accord peer unshare`` name it by
    Column("id", ID, nullable=False, unique=True),
    # set when the share is removed: no new change enters the feed, but the row stays (retractions of the
    # entries it shared still travel, verdict counts on them still come back)
    Column("removed_at", UtcDateTime),
)

# The feed: per agreement, the ordered sequence of shareable events a peer pulls from a cursor (``seq``).
# Appended in the transaction that makes the change; never rewritten, so a cursor stays meaningful.
sync_feed = Table(
    "sync_feed",
    metadata,
    Column("seq", SERIAL, primary_key=True, autoincrement=True),
    Column("agreement_id", ID, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("object_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("marking", String(20), nullable=False),
    Column("category", String(40), nullable=False),
    Column("received_under", ID),
    Column("body", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index(None, "agreement_id", "seq"),
)

# The puller's position in each (peer, agreement) feed, with its backoff state after failures.
sync_cursors = Table(
    "sync_cursors",
    metadata,
    Column("peer", String(128), primary_key=True),
    Column("agreement_id", ID, primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("last_error", String(300)),
    Column("updated_at", UtcDateTime, nullable=False),
)

# A received bank's local mirror (owned by the receiving organisation), by the peer and its bank id.
sync_mirrors = Table(
    "sync_mirrors",
    metadata,
    Column("peer", String(128), primary_key=True),
    Column("origin_bank", String(200), primary_key=True),
    Column("agreement_id", ID, nullable=False),
    Column("bank_id", ID, ForeignKey("banks.id"), nullable=False, unique=True),
    # the data category its entries came as (what a verdict-counts item back to the origin travels as)
    Column("category", String(40)),
)

# Every object applied from a peer, by its id there, with the version last applied: what makes applying a
# batch twice change nothing (an item whose version is not newer is skipped).
sync_objects = Table(
    "sync_objects",
    metadata,
    Column("peer", String(128), primary_key=True),
    Column("object_id", String(200), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("local_id", String(200), nullable=False),
)
__all__ += ["sync_cursors", "sync_feed", "sync_mirrors", "sync_objects", "sync_shares"]

# Sightings (docs/federation.md, "Sync"). A share rule: the organisation's reports of one category, marked
# at most ``marking_max``, go into the agreement's feed (those stored already and every later one).
sync_report_shares = Table(
    "sync_report_shares",
    metadata,
    Column("agreement_id", ID, primary_key=True),
    Column("category", String(40), primary_key=True),
    Column("org_id", ID, nullable=False),
    Column("marking_max", String(20), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("id", ID, nullable=False, unique=True),
)

# A report received as a sighting: its provenance (the peer, the report's id there, the agreement it came
# under). Onward sharing of the report is judged by that agreement.
sync_sightings = Table(
    "sync_sightings",
    metadata,
    Column("report_id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),
    Column("peer", String(128), nullable=False),
    Column("origin_report", String(200), nullable=False),
    Column("agreement_id", ID, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("peer", "origin_report"),
)

# Verdict counts a peer holds on one of this node's bank entries (its matches against its mirror of the
# entry): the latest counts per (peer, entry), added to the entry's own by false-positive flagging.
sync_remote_verdicts = Table(
    "sync_remote_verdicts",
    metadata,
    Column("peer", String(128), primary_key=True),
    Column("entry_id", SERIAL, primary_key=True, autoincrement=False),
    Column("bank_id", ID, nullable=False),
    Column("confirmed", Integer, nullable=False),
    Column("false_positive", Integer, nullable=False),
    Column("not_actionable", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index(None, "entry_id"),
)
# a verdict-counts item's next version is the last one in the feed for that object, plus one
Index("ix_sync_feed_agreement_id_object_id", sync_feed.c.agreement_id, sync_feed.c.object_id)
__all__ += ["sync_remote_verdicts", "sync_report_shares", "sync_sightings"]

# A receipt this node signed for a batch it pulled, until the sender is known to have taken it: kept with
# the batch (same transaction), deleted once the sender answers 204, sent again at the start of the next
# round with that peer otherwise (docs/federation.md, "Sync"). The receipt's bytes stay on the envelope row.
sync_receipts_unsent = Table(
    "sync_receipts_unsent",
    metadata,
    Column("envelope_id", ID, primary_key=True),
    Column("peer", String(128), nullable=False),
    Column("agreement_id", ID, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index(None, "peer", "agreement_id", "at"),
)

# The inbox rate limit's counts (docs/federation.md, "Inbox rate limits"): requests per sender ("peer:<node>"
# or "address:<ip>") in a fixed window aligned to the epoch, shared by every worker process on the
# database; windows before the current one are deleted as new windows open.
inbox_rate_windows = Table(
    "inbox_rate_windows",
    metadata,
    Column("sender", String(200), primary_key=True),
    Column("window_start", UtcDateTime, primary_key=True),
    Column("count", Integer, nullable=False),
    Index(None, "window_start"),
)
__all__ += ["inbox_rate_windows", "sync_receipts_unsent"]

# Deconfliction runs over the transport (docs/federation.md, "Deconfliction between nodes"): one row per PSI
# query this node started (role initiator) or answered (role responder), owned by the organisation this
# node speaks for under the agreement. ``members`` holds the organisation's own items that the peer also
# holds (its own data, as its observables hold it); nothing of the peer's is ever stored but the count.
# Rate limits count a peer's rows of one role over the last day, hence the (peer, role, started_at) index.
deconfliction_runs = Table(
    "deconfliction_runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),
    Column("reference", ID, nullable=False),
    Column("role", String(10), nullable=False),
    Column("peer", String(128), nullable=False),
    Column("peer_org", ID, nullable=False),
    Column("agreement_id", ID, nullable=False),
    Column("set", String(20), nullable=False),
    Column("mode", String(10), nullable=False),
    Column("session", String(32), nullable=False),
    Column("state", String(10), nullable=False),
    Column("own_size", Integer, nullable=False),
    Column("peer_size", Integer),
    Column("count", Integer),
    Column("members", JSON),
    Column("detail", String(300)),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("threshold", Integer),  # set pdq: the Hamming distance that counts as a near duplicate
    UniqueConstraint("role", "peer", "session"),
    Index(None, "peer", "role", "started_at"),
    Index(None, "org_id", "started_at"),
)

# A deconfliction alert: a run found overlaps, so the two organisations may be introduced. It carries the
# reference number both sides hold, the two organisations, the agreement and the count, never case content.
deconfliction_alerts = Table(
    "deconfliction_alerts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),
    Column("reference", ID, nullable=False),
    Column("peer", String(128), nullable=False),
    Column("peer_org", ID, nullable=False),
    Column("agreement_id", ID, nullable=False),
    Column("count", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index(None, "org_id", "at"),
)

# Case references (docs/federation.md, "Sync"): one of the organisation's cases shared into an agreement's
# feed as a reference (id, jurisdiction, status, lead organisation, times, number of linked reports; never the
# title or a report id). ``version``: the last version appended for it; ``withdrawn_at`` once unshared.
sync_case_shares = Table(
    "sync_case_shares",
    metadata,
    Column("case_id", ID, ForeignKey("cases.id"), primary_key=True),
    Column("agreement_id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),
    Column("category", String(40), nullable=False),
    Column("marking", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("withdrawn_at", UtcDateTime),
    Column("at", UtcDateTime, nullable=False),
)

# A case reference received from a peer: its latest version per (peer, origin case), held for the
# organisation this node speaks for under the agreement it came under. Status ``withdrawn`` once unshared.
sync_case_refs = Table(
    "sync_case_refs",
    metadata,
    Column("peer", String(128), primary_key=True),
    Column("origin_case", String(100), primary_key=True),
    Column("org_id", ID, nullable=False),
    Column("agreement_id", ID, nullable=False),
    Column("category", String(40), nullable=False),
    Column("marking", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("jurisdiction", String(10), nullable=False),
    Column("lead_org_id", String(100), nullable=False),
    Column("lead_org_name", String(200), nullable=False),
    Column("linked_reports", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Index(None, "org_id"),
)
__all__ += ["sync_case_refs", "sync_case_shares"]

# The responder's half of a deconfliction session between two messages of its peer's (docs/federation.md,
# "Deconfliction between nodes"): the message it expects next and the state that message needs (JSON:
# doubly blinded tags and its own items in blinded order; no secret), until ``expires_at``. Deleted when
# the session ends, is refused, or expires; in the database so that a restart or another worker goes on.
deconfliction_sessions = Table(
    "deconfliction_sessions",
    metadata,
    Column("run_id", ID, primary_key=True),
    Column("peer", String(128), nullable=False),
    Column("session", String(32), nullable=False),
    Column("org_id", ID, nullable=False),
    Column("agreement_id", ID, nullable=False),
    Column("step", String(20), nullable=False),
    Column("state", LargeBinary, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    UniqueConstraint("peer", "session"),
    Index(None, "expires_at"),
)
__all__ += ["deconfliction_alerts", "deconfliction_runs", "deconfliction_sessions"]

# Cross-border requests (docs/federation.md, "Requests"): preservation, disclosure and urgent disclosure, held at
# both ends (``role``: requester or addressee) under (the requester's node, the request's id). ``keys`` is a
# JSON list of normalised identifier keys; ``state`` to ``answered_at`` are folded from the events (a cache
# rewritten with each event). ``escalated_at``: when its nearing deadline was last escalated (audited once).
requests = Table(
    "requests",
    metadata,
    Column("origin_node", String(128), primary_key=True),
    Column("id", String(100), primary_key=True),
    Column("role", String(10), nullable=False),
    Column("org_id", ID, nullable=False),
    Column("peer", String(128), nullable=False),
    Column("agreement_id", ID, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("legal_basis", String(40), nullable=False),
    Column("case_id", String(100), nullable=False),
    Column("keys", Text, nullable=False),
    Column("reference", String(60), nullable=False),
    Column("from_org", ID, nullable=False),
    Column("to_org", ID, nullable=False),
    Column("category", String(40), nullable=False),
    Column("marking", String(20), nullable=False),
    Column("initial_deadline", UtcDateTime, nullable=False),
    Column("state", String(20), nullable=False),
    Column("deadline", UtcDateTime, nullable=False),
    Column("answer_code", String(40)),
    Column("answered_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("escalated_at", UtcDateTime),
    Index(None, "org_id", "state"),
    Index(None, "id"),
)

# A request's history: each side's events, numbered per side (docs/federation.md, "Requests").
request_events = Table(
    "request_events",
    metadata,
    Column("origin_node", String(128), primary_key=True),
    Column("request_id", String(100), primary_key=True),
    Column("side", String(10), primary_key=True),
    Column("n", Integer, primary_key=True),
    Column("transition", String(20), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("code", String(40)),
    Column("deadline", UtcDateTime),
)
__all__ += ["request_events", "requests"]
