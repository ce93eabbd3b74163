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
from typing import Any

from sqlalchemy import Connection, insert, select, update

from accord.store.schema import sync_cursors, sync_feed, sync_mirrors, sync_objects, sync_shares

__all__ = [
    "Cursor",
    "FeedItem",
    "NewFeedItem",
    "Share",
    "add_share",
    "append_feed",
    "applied_versions",
    "cursor",
    "feed_page",
    "insert_mirror",
    "mirror_bank",
    "mirror_of_bank",
    "set_applied",
    "set_cursor",
    "shares_of",
]


@dataclass(frozen=True)
class Share:
    bank_id: str
    agreement_id: str
    org_id: str
    category: str
    received_under: str | None


def add_share(conn: Connection, share: Share, at: datetime) -> None:
    conn.execute(
        insert(sync_shares).values(
            bank_id=share.bank_id,
            agreement_id=share.agreement_id,
            org_id=share.org_id,
            category=share.category,
            received_under=share.received_under,
            at=at,
        )
    )


def shares_of(conn: Connection, bank_id: str) -> list[Share]:
    t = sync_shares.c
    rows = conn.execute(select(sync_shares).where(t.bank_id == bank_id).order_by(t.agreement_id))
    return [Share(r.bank_id, r.agreement_id, r.org_id, r.category, r.received_under) for r in rows]


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


def mirror_bank(conn: Connection, peer: str, origin_bank: str) -> str | None:
    t = sync_mirrors.c
    return conn.execute(select(t.bank_id).where(t.peer == peer, t.origin_bank == origin_bank)).scalar()


def mirror_of_bank(conn: Connection, bank_id: str) -> tuple[str, str, str] | None:
    """(peer, origin bank, agreement received under) of a mirror bank; None for a bank of this node's own."""
    t = sync_mirrors.c
    r = conn.execute(select(t.peer, t.origin_bank, t.agreement_id).where(t.bank_id == bank_id)).first()
    return None if r is None else (r.peer, r.origin_bank, r.agreement_id)


def insert_mirror(conn: Connection, peer: str, origin_bank: str, agreement_id: str, bank_id: str) -> None:
    conn.execute(
        insert(sync_mirrors).values(peer=peer, origin_bank=origin_bank, agreement_id=agreement_id, bank_id=bank_id)
    )


def applied_versions(conn: Connection, peer: str, object_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """{object id: (version applied, local id)} for the objects of ``peer`` applied here already."""
    t = sync_objects.c
    out: dict[str, tuple[int, str]] = {}
    ids = list(dict.fromkeys(object_ids))
    for start in range(0, len(ids), 500):
        q = select(t.object_id, t.version, t.local_id).where(t.peer == peer, t.object_id.in_(ids[start : start + 500]))
        out.update({r.object_id: (r.version, r.local_id) for r in conn.execute(q)})
    return out


def set_applied(conn: Connection, peer: str, rows: Sequence[tuple[str, int, str]], known: set[str]) -> None:
    """Record (object id, version, local id) as applied; ``known`` are those with a row already."""
    t = sync_objects.c
    fresh = [{"peer": peer, "object_id": o, "version": v, "local_id": loc} for o, v, loc in rows if o not in known]
    if fresh:
        conn.execute(insert(sync_objects), fresh)
    for o, v, loc in rows:
        if o in known:
            conn.execute(update(sync_objects).where(t.peer == peer, t.object_id == o).values(version=v, local_id=loc))
