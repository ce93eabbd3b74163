"""Retention rules, the tombstones of purged data, and the purge statements themselves (docs/retention.md).

A purge of whole reports removes, in the caller's transaction: the reports' links to identifier and media
records (bringing each record's count down, and removing a record no report holds any more), their
idempotency keys, their matches (verdicts on them, reviews they owed) and the report rows, sealed part
included. Case links and unseal requests stay: they
name the report, whose tombstone (``report_purges``) says what it was and when it went. A purge of the
sealed part only clears the report's sealed blob.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, func, insert, not_, or_, select, update

from accord.errors import Gone
from accord.model.retention import AgreementCap, CategoryPlan, RetentionRule
from accord.store import observables as observable_store
from accord.store import reviews as review_store
from accord.store import transfers as transfer_store
from accord.store import verdicts as verdict_store
from accord.store.schema import (
    agreement_parties,
    agreements,
    idempotency_keys,
    observables,
    organisations,
    report_observables,
    report_purges,
    reports,
    retention_rules,
)

__all__ = [
    "Candidate",
    "PurgeRecord",
    "agreement_caps",
    "candidates",
    "count_expired",
    "delete_reports",
    "delete_sealed",
    "gone",
    "insert_purges",
    "lock_org",
    "orgs_with_rules",
    "parties_of",
    "purge_record",
    "purge_records",
    "replace_rules",
    "rules",
]

_CHUNK = 5000  # ids per IN list (SQLite allows 32,766 bound values)


def _chunks(values: Sequence[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


# --- rules -----------------------------------------------------------------------------------------


def _rule(row: Any) -> RetentionRule:
    return RetentionRule(
        id=row.id,
        org_id=row.org_id,
        category=row.category,
        days=row.days,
        agreement_id=row.agreement_id,
        set_by=row.set_by,
        set_at=row.set_at,
    )


def rules(conn: Connection, org_id: str | None = None) -> list[RetentionRule]:
    """One organisation's rules (None: every organisation's, for the node's own purge run)."""
    q = select(retention_rules)
    if org_id is not None:
        q = q.where(retention_rules.c.org_id == org_id)
    t = retention_rules.c
    return [_rule(r) for r in conn.execute(q.order_by(t.org_id, t.category, t.agreement_id.is_not(None), t.id))]


def lock_org(conn: Connection, org_id: str) -> None:
    """Serialise rule changes of one organisation (PostgreSQL; SQLite's single writer does already)."""
    conn.execute(select(organisations.c.id).where(organisations.c.id == org_id).with_for_update())


def replace_rules(
    conn: Connection,
    org_id: str,
    wanted: Sequence[tuple[str, str | None, int]],
    *,
    new_id: Any,
    by: str | None,
    at: datetime,
) -> tuple[int, int, int]:
    """Make the organisation's rules exactly ``wanted`` ((category, agreement id, days) each). A rule that
    stays keeps its id (tombstones and custody leaves name it); returns (added, changed, removed)."""
    have = {(r.category, r.agreement_id): r for r in rules(conn, org_id)}
    keep = {(c, a) for c, a, _ in wanted}
    added = changed = 0
    gone = [r.id for key, r in have.items() if key not in keep]
    if gone:
        conn.execute(delete(retention_rules).where(retention_rules.c.id.in_(gone)))
    for category, agreement_id, days in wanted:
        old = have.get((category, agreement_id))
        if old is None:
            conn.execute(
                insert(retention_rules).values(
                    id=new_id(),
                    org_id=org_id,
                    category=category,
                    agreement_id=agreement_id,
                    days=days,
                    set_by=by,
                    set_at=at,
                )
            )
            added += 1
        elif old.days != days:
            conn.execute(
                update(retention_rules).where(retention_rules.c.id == old.id).values(days=days, set_by=by, set_at=at)
            )
            changed += 1
    return added, changed, len(gone)


def parties_of(conn: Connection, org_id: str, agreement_ids: Iterable[str]) -> set[str]:
    """Those of ``agreement_ids`` that the organisation is a party to (any other is unknown to it)."""
    ids = sorted(set(agreement_ids))
    if not ids:
        return set()
    p = agreement_parties.c
    q = select(p.agreement_id).where(p.org_id == org_id, p.agreement_id.in_(ids))
    return set(conn.execute(q).scalars())


def agreement_caps(conn: Connection, org_id: str | None = None) -> dict[str, list[AgreementCap]]:
    """Per organisation, the agreements it is a party to with their retention_days."""
    p, a = agreement_parties.c, agreements.c
    q = select(p.org_id, a.id, a.retention_days).join_from(agreement_parties, agreements, a.id == p.agreement_id)
    if org_id is not None:
        q = q.where(p.org_id == org_id)
    out: dict[str, list[AgreementCap]] = {}
    for row in conn.execute(q.order_by(p.org_id, a.id)):
        out.setdefault(row.org_id, []).append(AgreementCap(agreement_id=row.id, retention_days=row.retention_days))
    return out


def orgs_with_rules(conn: Connection) -> list[str]:
    """Organisations that have a rule or are party to an agreement: the only ones a purge can touch."""
    ruled = select(retention_rules.c.org_id)
    party = select(agreement_parties.c.org_id)
    return sorted(set(conn.execute(ruled.union(party)).scalars()))


# --- finding what expired -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """An expired report (or sealed part): what the purge needs to know and to record."""

    id: str
    ingested_at: datetime
    agreement_id: str | None
    digest: str
    sealed: bytes | None


def _expired(plan: CategoryPlan, now: datetime) -> ColumnElement[bool]:
    r = reports.c
    clauses: list[ColumnElement[bool]] = []
    if plan.general is not None:
        clauses.append(r.ingested_at <= plan.general.cutoff(now))
    for agreement_id, limit in sorted(plan.by_agreement.items()):
        clauses.append(and_(r.agreement_id == agreement_id, r.ingested_at <= limit.cutoff(now)))
    cond = and_(r.org_id == plan.org_id, or_(*clauses))
    if plan.category == "sealed":
        cond = and_(cond, r.sealed.is_not(None))
    return cond


def candidates(conn: Connection, plan: CategoryPlan, now: datetime, limit: int) -> list[Candidate]:
    """Up to ``limit`` expired reports of the plan, oldest first. On PostgreSQL the rows are locked, and
    rows another purge holds are skipped: two runners never purge the same report."""
    if plan.empty:
        return []
    r = reports.c
    sealed = r.sealed if plan.category == "sealed" else None
    cols = [r.id, r.ingested_at, r.agreement_id, r.digest] + ([sealed] if sealed is not None else [])
    q = (
        select(*cols)
        .where(_expired(plan, now))
        .order_by(r.ingested_at, r.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=reports)
    )
    return [
        Candidate(row.id, row.ingested_at, row.agreement_id, row.digest, row.sealed if sealed is not None else None)
        for row in conn.execute(q)
    ]


def count_expired(conn: Connection, plan: CategoryPlan, now: datetime, *, unless: CategoryPlan | None = None) -> int:
    """How many reports the plan would purge now; ``unless``: not counting those another plan (the whole
    report's) takes first."""
    if plan.empty:
        return 0
    cond = _expired(plan, now)
    if unless is not None and not unless.empty:
        cond = and_(cond, not_(_expired(unless, now)))
    return int(conn.execute(select(func.count()).select_from(reports).where(cond)).scalar_one())


# --- purging ------------------------------------------------------------------------------------------


def _unlink(conn: Connection, ids: Sequence[str]) -> None:
    """Remove the reports' links; bring their records' counts and times in line; drop emptied records."""
    links, r, o = report_observables.c, reports.c, observables.c
    # The counts below are taken off the records' own columns, so those must be exact first: an import's
    # pending additions (observables.fold) are folded in, in this transaction.
    observable_store.fold(conn)
    removed: dict[int, tuple[int, Any, Any]] = {}
    for chunk in _chunks(ids):
        q = (
            select(links.observable_id, func.count(), func.min(r.received_at), func.max(r.received_at))
            .join_from(report_observables, reports, r.id == links.report_id)
            .where(links.report_id.in_(chunk))
            .group_by(links.observable_id)
        )
        for oid, n, first, last in conn.execute(q):
            was = removed.get(oid)
            removed[oid] = (n, first, last) if was is None else (was[0] + n, min(was[1], first), max(was[2], last))
    touched = sorted(removed)
    if conn.dialect.name == "postgresql" and touched:
        # Lock the records in intake's order (key_hash, org_id, key) so a purge and an intake batch that
        # share records wait for each other instead of deadlocking.
        for chunk in _chunks(touched):
            conn.execute(
                select(o.id).where(o.id.in_(chunk)).order_by(o.key_hash, o.org_id, o.key).with_for_update()
            ).all()
    for chunk in _chunks(ids):
        conn.execute(delete(report_observables).where(links.report_id.in_(chunk)))
    if not touched:
        return
    for oid in touched:
        conn.execute(update(observables).where(o.id == oid).values(report_count=o.report_count - removed[oid][0]))
    for chunk in _chunks(touched):
        conn.execute(delete(observables).where(o.id.in_(chunk), o.report_count <= 0))
    # A record's first or last sighting may have been one of the purged reports: take them again from the
    # reports still holding it (only where a purged report was at the edge).
    for chunk in _chunks(touched):
        for oid, first, last in conn.execute(select(o.id, o.first_seen, o.last_seen).where(o.id.in_(chunk))).all():
            _, gone_first, gone_last = removed[oid]
            if gone_first > first and gone_last < last:
                continue
            span = conn.execute(
                select(func.min(r.received_at), func.max(r.received_at))
                .join_from(report_observables, reports, r.id == links.report_id)
                .where(links.observable_id == oid)
            ).one()
            if span[0] is not None:
                conn.execute(update(observables).where(o.id == oid).values(first_seen=span[0], last_seen=span[1]))


def delete_reports(conn: Connection, org_id: str, ids: Sequence[str]) -> None:
    """Remove whole reports of one organisation and everything that holds their content: their matches
    too (with the verdicts on them, and the reviews the reports owed), which name the report and its keys."""
    _unlink(conn, ids)
    verdict_store.delete_for_reports(conn, org_id, ids)
    review_store.delete_for_reports(conn, org_id, ids)
    for chunk in _chunks(ids):
        transfer_store.delete_for_reports(conn, org_id, chunk)
        conn.execute(
            delete(idempotency_keys).where(idempotency_keys.c.org_id == org_id, idempotency_keys.c.report_id.in_(chunk))
        )
        conn.execute(delete(reports).where(reports.c.org_id == org_id, reports.c.id.in_(chunk)))


def delete_sealed(conn: Connection, org_id: str, ids: Sequence[str]) -> None:
    """Remove the reports' sealed part (the ciphertext); the names of the sealed fields stay, so an
    unseal request for one of them is answered 410 rather than "no such field"."""
    for chunk in _chunks(ids):
        conn.execute(update(reports).where(reports.c.org_id == org_id, reports.c.id.in_(chunk)).values(sealed=None))


# --- tombstones -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeRecord:
    """A tombstone: which report (or part), whose, when, under which limit, and the digest of what went."""

    report_id: str
    category: str
    org_id: str
    purged_at: datetime
    rule_id: str | None
    agreement_id: str | None
    days: int
    digest: str
    custody_seq: int


def insert_purges(conn: Connection, records: Sequence[PurgeRecord]) -> None:
    if records:
        conn.execute(insert(report_purges), [vars(p) for p in records])


def _record(row: Any) -> PurgeRecord:
    return PurgeRecord(
        report_id=row.report_id,
        category=row.category,
        org_id=row.org_id,
        purged_at=row.purged_at,
        rule_id=row.rule_id,
        agreement_id=row.agreement_id,
        days=row.days,
        digest=row.digest,
        custody_seq=row.custody_seq,
    )


def gone(record: PurgeRecord, what: str) -> Gone:
    return Gone(
        f"{what} was purged on {record.purged_at:%Y-%m-%d} under the organisation's retention rules "
        f"({record.days} days); custody entry {record.custody_seq} records it"
    )


def purge_record(conn: Connection, org_id: str, report_id: str, category: str) -> PurgeRecord | None:
    """The tombstone of one of the organisation's reports (or of its part); another's is None."""
    p = report_purges.c
    row = conn.execute(
        select(report_purges).where(p.report_id == report_id, p.category == category, p.org_id == org_id)
    ).first()
    return None if row is None else _record(row)


def purge_records(conn: Connection, org_id: str, report_ids: Sequence[str]) -> list[PurgeRecord]:
    """Every tombstone (any category) of these reports of the organisation, by report id and category."""
    p = report_purges.c
    out: list[PurgeRecord] = []
    for chunk in _chunks(sorted(set(report_ids))):
        q = select(report_purges).where(p.org_id == org_id, p.report_id.in_(chunk))
        out.extend(_record(r) for r in conn.execute(q))
    return sorted(out, key=lambda p: (p.report_id, p.category))
