"""Sync's records (docs/federation.md, "Sync"): banks shared into agreement feeds, the feed itself, the
puller's cursors with their backoff, mirror banks and the objects applied from peers.

The feed is append-only and numbered by ``seq``: a peer's cursor is the last ``seq`` it applied, so a
pull resumes exactly where the last committed batch ended.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, func, insert, select, update

from accord.store.schema import (
    actors,
    bank_entries,
    banks,
    federation_envelopes,
    reports,
    sync_cursors,
    sync_feed,
    sync_mirrors,
    sync_objects,
    sync_receipts_unsent,
    sync_remote_verdicts,
    sync_report_shares,
    sync_shares,
    sync_sightings,
)

__all__ = [
    "Cursor",
    "FeedItem",
    "FeedReport",
    "NewFeedItem",
    "RemoteCounts",
    "ReportShare",
    "Share",
    "add_report_share",
    "add_share",
    "add_unsent_receipt",
    "append_feed",
    "applied_versions",
    "clear_failures",
    "cursor",
    "drop_unsent_receipts",
    "entry_source",
    "feed_page",
    "feed_reports",
    "insert_mirror",
    "insert_sightings",
    "last_version",
    "mirror_bank",
    "mirror_category",
    "mirror_of_bank",
    "org_shares",
    "remote_counts",
    "remove_report_share",
    "remove_share",
    "report_share_by_id",
    "report_shares",
    "service_actor",
    "set_applied",
    "set_cursor",
    "set_remote_counts",
    "share_by_id",
    "shares_of",
    "sighting_of",
    "unapplied",
    "unsent_receipts",
]


@dataclass(frozen=True)
class Share:
    """A bank shared into an agreement's feed. ``removed_at``: the share was removed (no add or removal
    enters the feed any more; a retraction of an entry it shared still does)."""

    bank_id: str
    agreement_id: str
    org_id: str
    category: str
    received_under: str | None
    id: str = ""
    at: datetime | None = None
    removed_at: datetime | None = None


def _share(r: Any) -> Share:
    return Share(r.bank_id, r.agreement_id, r.org_id, r.category, r.received_under, r.id, r.at, r.removed_at)


def add_share(conn: Connection, share: Share, at: datetime) -> None:
    """Record the share; a removed share of the same bank and agreement is put back (with the new id)."""
    t = sync_shares.c
    values = {
        "org_id": share.org_id,
        "category": share.category,
        "received_under": share.received_under,
        "at": at,
        "id": share.id,
        "removed_at": None,
    }
    removed = (t.bank_id == share.bank_id, t.agreement_id == share.agreement_id, t.removed_at.is_not(None))
    if conn.execute(update(sync_shares).where(*removed).values(**values)).rowcount == 0:
        conn.execute(insert(sync_shares).values(bank_id=share.bank_id, agreement_id=share.agreement_id, **values))


def shares_of(conn: Connection, bank_id: str) -> list[Share]:
    """The bank's shares, removed ones included (``Share.removed_at``)."""
    t = sync_shares.c
    rows = conn.execute(select(sync_shares).where(t.bank_id == bank_id).order_by(t.agreement_id))
    return [_share(r) for r in rows]


def org_shares(conn: Connection, org_id: str) -> list[Share]:
    """The organisation's bank shares in force (not removed)."""
    t = sync_shares.c
    q = select(sync_shares).where(t.org_id == org_id, t.removed_at.is_(None)).order_by(t.at, t.id)
    return [_share(r) for r in conn.execute(q)]


def share_by_id(conn: Connection, org_id: str, share_id: str) -> Share | None:
    """The organisation's bank share in force with this id (None: no such share of the organisation's)."""
    t = sync_shares.c
    q = select(sync_shares).where(t.id == share_id, t.org_id == org_id, t.removed_at.is_(None))
    r = conn.execute(q).first()
    return None if r is None else _share(r)


def remove_share(conn: Connection, share_id: str, at: datetime) -> None:
    conn.execute(update(sync_shares).where(sync_shares.c.id == share_id).values(removed_at=at))


@dataclass(frozen=True)
class NewFeedItem:
    agreement_id: str
    kind: str
    object_id: str
    version: int
    marking: str
    category: str
    received_under: str | None
    body: dict[str, Any]


@dataclass(frozen=True)
class FeedItem:
    seq: int
    agreement_id: str
    kind: str
    object_id: str
    version: int
    marking: str
    category: str
    received_under: str | None
    body: dict[str, Any]


def append_feed(conn: Connection, items: Sequence[NewFeedItem], at: datetime) -> None:
    if not items:
        return
    conn.execute(
        insert(sync_feed),
        [
            {
                "agreement_id": i.agreement_id,
                "kind": i.kind,
                "object_id": i.object_id,
                "version": i.version,
                "marking": i.marking,
                "category": i.category,
                "received_under": i.received_under,
                "body": json.dumps(i.body, separators=(",", ":"), sort_keys=True),
                "at": at,
            }
            for i in items
        ],
    )


def feed_page(conn: Connection, agreement_id: str, after: int, limit: int) -> list[FeedItem]:
    """The agreement's feed items after ``after``, oldest first, at most ``limit``."""
    t = sync_feed.c
    q = select(sync_feed).where(t.agreement_id == agreement_id, t.seq > after).order_by(t.seq).limit(limit)
    return [
        FeedItem(
            r.seq,
            r.agreement_id,
            r.kind,
            r.object_id,
            r.version,
            r.marking,
            r.category,
            r.received_under,
            json.loads(r.body),
        )
        for r in conn.execute(q)
    ]


# --- the puller's side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    peer: str
    agreement_id: str
    position: int
    failures: int
    next_attempt_at: datetime | None
    last_error: str | None


def cursor(conn: Connection, peer: str, agreement_id: str) -> Cursor:
    t = sync_cursors.c
    r = conn.execute(select(sync_cursors).where(t.peer == peer, t.agreement_id == agreement_id)).first()
    if r is None:
        return Cursor(peer, agreement_id, 0, 0, None, None)
    return Cursor(r.peer, r.agreement_id, r.position, r.failures, r.next_attempt_at, r.last_error)


def set_cursor(conn: Connection, c: Cursor, at: datetime) -> None:
    t = sync_cursors.c
    values = {
        "position": c.position,
        "failures": c.failures,
        "next_attempt_at": c.next_attempt_at,
        "last_error": c.last_error,
        "updated_at": at,
    }
    done = conn.execute(update(sync_cursors).where(t.peer == c.peer, t.agreement_id == c.agreement_id).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(sync_cursors).values(peer=c.peer, agreement_id=c.agreement_id, **values))


def clear_failures(conn: Connection, peer: str, agreement_id: str, at: datetime) -> None:
    """A pull answered again: the cursor's failures and backoff are cleared (its position unchanged)."""
    t = sync_cursors.c
    conn.execute(
        update(sync_cursors)
        .where(t.peer == peer, t.agreement_id == agreement_id, t.failures > 0)
        .values(failures=0, next_attempt_at=None, last_error=None, updated_at=at)
    )


def add_unsent_receipt(conn: Connection, envelope_id: str, peer: str, agreement_id: str, at: datetime) -> None:
    conn.execute(
        insert(sync_receipts_unsent).values(envelope_id=envelope_id, peer=peer, agreement_id=agreement_id, at=at)
    )


def unsent_receipts(conn: Connection, peer: str, agreement_id: str, limit: int) -> list[tuple[str, bytes]]:
    """(envelope id, receipt) of the batches pulled from ``peer`` under the agreement whose receipt the peer
    has not been seen to take, oldest first, at most ``limit``."""
    t, e = sync_receipts_unsent.c, federation_envelopes.c
    q = (
        select(t.envelope_id, e.receipt)
        .join(federation_envelopes, e.id == t.envelope_id)
        .where(t.peer == peer, t.agreement_id == agreement_id)
        .order_by(t.at, t.envelope_id)
        .limit(limit)
    )
    return [(r.envelope_id, bytes(r.receipt)) for r in conn.execute(q)]


def drop_unsent_receipts(conn: Connection, envelope_ids: Sequence[str]) -> None:
    if envelope_ids:
        conn.execute(delete(sync_receipts_unsent).where(sync_receipts_unsent.c.envelope_id.in_(list(envelope_ids))))


def mirror_bank(conn: Connection, peer: str, origin_bank: str) -> str | None:
    t = sync_mirrors.c
    return conn.execute(select(t.bank_id).where(t.peer == peer, t.origin_bank == origin_bank)).scalar()


def mirror_of_bank(conn: Connection, bank_id: str) -> tuple[str, str, str] | None:
    """(peer, origin bank, agreement received under) of a mirror bank; None for a bank of this node's own."""
    t = sync_mirrors.c
    r = conn.execute(select(t.peer, t.origin_bank, t.agreement_id).where(t.bank_id == bank_id)).first()
    return None if r is None else (r.peer, r.origin_bank, r.agreement_id)


def insert_mirror(
    conn: Connection, peer: str, origin_bank: str, agreement_id: str, bank_id: str, category: str | None = None
) -> None:
    conn.execute(
        insert(sync_mirrors).values(
            peer=peer, origin_bank=origin_bank, agreement_id=agreement_id, bank_id=bank_id, category=category
        )
    )


def entry_source(conn: Connection, entry_id: int) -> tuple[str, str] | None:
    """(source, bank marking) of a bank entry: a mirror entry's source names its peer, bank and entry."""
    e, b = bank_entries.c, banks.c
    q = select(e.source, b.marking).join(banks, b.id == e.bank_id).where(e.id == entry_id)
    r = conn.execute(q).first()
    return None if r is None else (r.source or "", r.marking)


def mirror_category(conn: Connection, bank_id: str) -> str | None:
    """The data category a mirror bank's entries came as (None: mirrored before it was recorded)."""
    return conn.execute(select(sync_mirrors.c.category).where(sync_mirrors.c.bank_id == bank_id)).scalar()


def applied_versions(conn: Connection, peer: str, object_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """{object id: (version applied, local id)} for the objects of ``peer`` applied here already."""
    t = sync_objects.c
    out: dict[str, tuple[int, str]] = {}
    ids = list(dict.fromkeys(object_ids))
    for start in range(0, len(ids), 500):
        q = select(t.object_id, t.version, t.local_id).where(t.peer == peer, t.object_id.in_(ids[start : start + 500]))
        out.update({r.object_id: (r.version, r.local_id) for r in conn.execute(q)})
    return out


_T = TypeVar("_T")


def unapplied(
    conn: Connection, peer: str, batch: Sequence[tuple[str, int, _T]]
) -> tuple[list[tuple[str, _T]], set[str], int]:
    """A batch of (object id, version, item) reduced to each object's latest version in it, less those this
    node applied at that version or later. Returns (object id, item) to apply, the ids that have a row
    already (``set_applied``'s ``known``), and how many items were passed over."""
    latest = {oid: (v, item) for oid, v, item in sorted(batch, key=lambda x: x[1])}
    known = applied_versions(conn, peer, list(latest))
    todo = [(oid, item) for oid, (v, item) in latest.items() if oid not in known or known[oid][0] < v]
    return todo, set(known), len(batch) - len(todo)


def set_applied(conn: Connection, peer: str, rows: Sequence[tuple[str, int, str]], known: set[str]) -> None:
    """Record (object id, version, local id) as applied; ``known`` are those with a row already."""
    t = sync_objects.c
    fresh = [{"peer": peer, "object_id": o, "version": v, "local_id": loc} for o, v, loc in rows if o not in known]
    if fresh:
        conn.execute(insert(sync_objects), fresh)
    for o, v, loc in rows:
        if o in known:
            conn.execute(update(sync_objects).where(t.peer == peer, t.object_id == o).values(version=v, local_id=loc))


def last_version(conn: Connection, agreement_id: str, object_id: str) -> int:
    """The highest version of an object in the agreement's feed (0: never appended)."""
    t = sync_feed.c
    q = select(func.max(t.version)).where(t.agreement_id == agreement_id, t.object_id == object_id)
    return int(conn.execute(q).scalar() or 0)


# --- sightings: report share rules and received reports' provenance --------------------------------


@dataclass(frozen=True)
class ReportShare:
    agreement_id: str
    category: str
    org_id: str
    marking_max: str
    id: str = ""
    at: datetime | None = None


def _report_share(r: Any) -> ReportShare:
    return ReportShare(r.agreement_id, r.category, r.org_id, r.marking_max, r.id, r.at)


def add_report_share(conn: Connection, share: ReportShare, at: datetime) -> None:
    conn.execute(
        insert(sync_report_shares).values(
            agreement_id=share.agreement_id,
            category=share.category,
            org_id=share.org_id,
            marking_max=share.marking_max,
            at=at,
            id=share.id,
        )
    )


def report_shares(conn: Connection, org_id: str, agreement_id: str | None = None) -> list[ReportShare]:
    """The organisation's report share rules (of one agreement, or all)."""
    t = sync_report_shares.c
    q = select(sync_report_shares).where(t.org_id == org_id)
    if agreement_id is not None:
        q = q.where(t.agreement_id == agreement_id)
    rows = conn.execute(q.order_by(t.agreement_id, t.category))
    return [_report_share(r) for r in rows]


def report_share_by_id(conn: Connection, org_id: str, share_id: str) -> ReportShare | None:
    t = sync_report_shares.c
    r = conn.execute(select(sync_report_shares).where(t.id == share_id, t.org_id == org_id)).first()
    return None if r is None else _report_share(r)


def remove_report_share(conn: Connection, share_id: str) -> None:
    """A report share rule removed is gone: the reports it put in the feed stay there (the feed is never
    rewritten), and sharing the category again puts the reports stored meanwhile in at once."""
    conn.execute(delete(sync_report_shares).where(sync_report_shares.c.id == share_id))


@dataclass(frozen=True)
class FeedReport:
    """What a sighting carries of a stored report (never the sealed blob, its pointers or the narrative),
    with the agreement it was received under (None: the organisation's own)."""

    id: str
    marking: str
    incident_type: str
    received_under: str | None
    body: dict[str, Any]


def feed_reports(
    conn: Connection,
    org_id: str,
    *,
    ids: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    after: str | None = None,
    limit: int = 1000,
) -> list[FeedReport]:
    """The organisation's reports by id (``ids``), or a page of those of ``categories`` in id order."""
    r, s = reports.c, sync_sightings.c
    q = (
        select(
            r.id,
            r.source,
            r.received_at,
            r.incident_type,
            r.urgency,
            r.marking,
            r.location,
            r.subjects,
            r.media,
            s.agreement_id.label("received_under"),
        )
        .select_from(reports.outerjoin(sync_sightings, s.report_id == r.id))
        .where(r.org_id == org_id)
    )
    if ids is not None:
        q = q.where(r.id.in_(list(ids)))
    if categories is not None:
        q = q.where(r.incident_type.in_(list(categories)))
    if after is not None:
        q = q.where(r.id > after)
    out = []
    for row in conn.execute(q.order_by(r.id).limit(None if ids is not None else limit)):
        received = row.received_at.isoformat().replace("+00:00", "Z")
        body = {
            "source": row.source,
            "received_at": received,
            "incident_type": row.incident_type,
            "urgency": row.urgency,
            "marking": row.marking,
            "location": row.location,
            "subjects": row.subjects,
            "media": row.media,
        }
        out.append(FeedReport(row.id, row.marking, row.incident_type, row.received_under, body))
    return out


def insert_sightings(conn: Connection, rows: Sequence[tuple[str, str, str, str, str]], at: datetime) -> None:
    """Record (report id, organisation, peer, origin report id, agreement) for reports received as sightings."""
    if rows:
        conn.execute(
            insert(sync_sightings),
            [
                {"report_id": r, "org_id": o, "peer": p, "origin_report": x, "agreement_id": a, "at": at}
                for r, o, p, x, a in rows
            ],
        )


def sighting_of(conn: Connection, report_id: str) -> tuple[str, str, str] | None:
    """(peer, origin report id, agreement) of a report received as a sighting; None for one's own."""
    t = sync_sightings.c
    r = conn.execute(select(t.peer, t.origin_report, t.agreement_id).where(t.report_id == report_id)).first()
    return None if r is None else (r.peer, r.origin_report, r.agreement_id)


def service_actor(conn: Connection, org_id: str, name: str) -> str | None:
    """The id of the organisation's actor named ``name`` that holds no role (a service actor that stands
    for the node itself, such as the one received sightings are stored by)."""
    t = actors.c
    q = select(t.id).where(t.org_id == org_id, t.name == name, t.kind == "service").order_by(t.id).limit(1)
    return conn.execute(q).scalar()


# --- verdict counts a peer holds on this node's entries --------------------------------------------


@dataclass(frozen=True)
class RemoteCounts:
    peer: str
    entry_id: int
    bank_id: str
    confirmed: int
    false_positive: int
    not_actionable: int
    version: int


def set_remote_counts(conn: Connection, c: RemoteCounts, at: datetime) -> None:
    """Keep the peer's latest counts on the entry (they replace the ones it sent before)."""
    t = sync_remote_verdicts.c
    values = {
        "bank_id": c.bank_id,
        "confirmed": c.confirmed,
        "false_positive": c.false_positive,
        "not_actionable": c.not_actionable,
        "version": c.version,
        "at": at,
    }
    where = (t.peer == c.peer, t.entry_id == c.entry_id)
    if conn.execute(update(sync_remote_verdicts).where(*where).values(**values)).rowcount == 0:
        conn.execute(insert(sync_remote_verdicts).values(peer=c.peer, entry_id=c.entry_id, **values))


def remote_counts(conn: Connection, entry_ids: Sequence[int]) -> dict[int, tuple[int, int, int]]:
    """Per entry: (confirmed, false_positive, not_actionable) summed over the peers that sent counts."""
    t = sync_remote_verdicts.c
    out: dict[int, tuple[int, int, int]] = {}
    ids = sorted(set(entry_ids))
    for start in range(0, len(ids), 5000):
        q = (
            select(t.entry_id, func.sum(t.confirmed), func.sum(t.false_positive), func.sum(t.not_actionable))
            .where(t.entry_id.in_(ids[start : start + 5000]))
            .group_by(t.entry_id)
        )
        out.update({int(e): (int(c), int(f), int(n)) for e, c, f, n in conn.execute(q)})
    return out
