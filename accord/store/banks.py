"""Banks, their entries and intake matches, scoped to the organisation that asks.

Visibility (docs/matching.md): a bank is visible to its owner organisation, and to every organisation
party to the bank's agreement while that agreement is valid (``valid_from`` <= now < ``valid_until``).
Only the owner changes it. A bank the caller cannot see is a NotFound, exactly as a missing one; a bank it
sees through an agreement and tries to change is Forbidden (it knows the bank exists already).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from accord.errors import Conflict, Forbidden, NotFound
from accord.model.bank import Bank, Entry
from accord.signals.vpdq import VpdqFrame
from accord.store.schema import agreement_parties, agreements, bank_entries, bank_entry_frames, banks, matches

__all__ = [
    "FRAME_BITS",
    "VPDQ",
    "BankRef",
    "Changes",
    "MatchRow",
    "active_entries",
    "active_frames",
    "active_ids",
    "agreement_max_marking",
    "bump_version",
    "changes_since",
    "entries_page",
    "entry",
    "exact_hits",
    "existing_values",
    "frame_counts",
    "frames_of",
    "get",
    "get_owned",
    "insert_bank",
    "insert_entries",
    "insert_frames",
    "insert_matches",
    "matches_of",
    "owned_by_name",
    "parties",
    "ref",
    "remove_entry",
    "set_rescanned",
    "visible",
    "visible_refs",
]

_CHUNK = 5000
VPDQ = "vpdq"
FRAME_BITS = 20
"""A vPDQ bank's index holds frames, each under ``entry_id << FRAME_BITS | position`` (so at most 2**20
frames an entry): the entry is the id shifted back, with no map to keep."""


def _visible_to(org_id: str, now: datetime) -> ColumnElement[bool]:
    a, p = agreements.c, agreement_parties.c
    shared = (
        select(p.agreement_id)
        .join(agreements, a.id == p.agreement_id)
        .where(p.org_id == org_id, a.valid_from <= now, or_(a.valid_until.is_(None), a.valid_until > now))
    )
    return or_(banks.c.org_id == org_id, banks.c.agreement_id.in_(shared))


def _active_count() -> Any:
    e = bank_entries.c
    return (
        select(func.count())
        .where(e.bank_id == banks.c.id, e.removed_in_version.is_(None))
        .correlate(banks)
        .scalar_subquery()
        .label("entries")
    )


def _bank(row: Any) -> Bank:
    return Bank(
        id=row.id,
        org_id=row.org_id,
        name=row.name,
        type=row.signal_type,
        threshold=row.threshold,
        marking=row.marking,
        agreement_id=row.agreement_id,
        version=row.version,
        entries=row.entries,
        fp_flag_count=row.fp_flag_count,
        fp_flag_share=row.fp_flag_share,
        rescanned_version=row.rescanned_version,
        **(
            {
                "frame_quality": row.frame_quality,
                "query_match_percent": row.query_match_percent,
                "compared_match_percent": row.compared_match_percent,
            }
            if row.signal_type == VPDQ
            else {}
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def visible(
    conn: Connection, org_id: str, now: datetime, *, ids: Sequence[str] | None = None, types: Iterable[str] = ()
) -> list[Bank]:
    """The banks the organisation sees (of ``types``, among ``ids`` when given), oldest first."""
    q = select(banks, _active_count()).where(_visible_to(org_id, now))
    if ids is not None:
        q = q.where(banks.c.id.in_(list(ids)))
    if kinds := sorted(set(types)):
        q = q.where(banks.c.signal_type.in_(kinds))
    return [_bank(r) for r in conn.execute(q.order_by(banks.c.created_at, banks.c.id))]


@dataclass(frozen=True)
class BankRef:
    """What matching needs of a visible bank (no entry count: counting a large bank costs a scan)."""

    id: str
    org_id: str
    type: str
    threshold: int
    version: int
    frame_quality: int = 50
    query_match_percent: float = 80.0
    compared_match_percent: float = 0.0


def _ref(r: Any) -> BankRef:
    return BankRef(
        r.id,
        r.org_id,
        r.signal_type,
        r.threshold,
        r.version,
        r.frame_quality,
        r.query_match_percent,
        r.compared_match_percent,
    )


_REF_COLUMNS = (
    banks.c.id,
    banks.c.org_id,
    banks.c.signal_type,
    banks.c.threshold,
    banks.c.version,
    banks.c.frame_quality,
    banks.c.query_match_percent,
    banks.c.compared_match_percent,
)


def visible_refs(
    conn: Connection, org_id: str, now: datetime, *, ids: Sequence[str] | None = None, types: Iterable[str] = ()
) -> list[BankRef]:
    """``visible`` for matching: one indexed query, nothing read when the organisation sees no bank."""
    t = banks.c
    q = select(*_REF_COLUMNS).where(_visible_to(org_id, now))
    if ids is not None:
        q = q.where(t.id.in_(list(ids)))
    if kinds := sorted(set(types)):
        q = q.where(t.signal_type.in_(kinds))
    return [_ref(r) for r in conn.execute(q.order_by(t.id))]


def ref(conn: Connection, bank_id: str) -> BankRef:
    """A bank's matching view by id, visibility not checked: for the node's own jobs (a re-scan), whose
    caller has resolved the bank for its owner already."""
    return _ref(conn.execute(select(*_REF_COLUMNS).where(banks.c.id == bank_id)).one())


def set_rescanned(conn: Connection, bank_id: str, version: int) -> None:
    conn.execute(update(banks).where(banks.c.id == bank_id).values(rescanned_version=version))


def parties(conn: Connection, bank_id: str, now: datetime) -> list[str]:
    """The organisations that see the bank now: its owner and its valid agreement's parties."""
    b, a, p = banks.c, agreements.c, agreement_parties.c
    owner, agreement_id = conn.execute(select(b.org_id, b.agreement_id).where(b.id == bank_id)).one()
    found = {owner}
    if agreement_id is not None:
        q = (
            select(p.org_id)
            .join(agreements, a.id == p.agreement_id)
            .where(
                p.agreement_id == agreement_id, a.valid_from <= now, or_(a.valid_until.is_(None), a.valid_until > now)
            )
        )
        found.update(conn.execute(q).scalars())
    return sorted(found)


def get(conn: Connection, org_id: str, bank_id: str, now: datetime) -> Bank:
    found = visible(conn, org_id, now, ids=[bank_id])
    if not found:
        raise NotFound(f"no bank {bank_id}")
    return found[0]


def get_owned(conn: Connection, org_id: str, bank_id: str, now: datetime, *, lock: bool = True) -> Bank:
    """A bank the organisation may change, locked for the change (PostgreSQL; SQLite has one writer)."""
    bank = get(conn, org_id, bank_id, now)
    if bank.org_id != org_id:
        raise Forbidden(f"bank {bank_id} is shared with your organisation; only its owner changes it")
    if lock:
        conn.execute(select(banks.c.id).where(banks.c.id == bank_id).with_for_update())
    return bank


def owned_by_name(conn: Connection, org_id: str, name: str) -> str:
    """The id of the organisation's own bank called ``name`` (the CLI names banks)."""
    found = conn.execute(select(banks.c.id).where(banks.c.org_id == org_id, banks.c.name == name)).scalar()
    if found is None:
        raise NotFound(f"no bank named {name!r} in organisation {org_id}")
    return str(found)


def insert_bank(conn: Connection, bank_id: str, org_id: str, row: dict[str, Any], at: datetime) -> None:
    t = banks.c
    if conn.execute(select(t.id).where(t.org_id == org_id, t.name == row["name"])).first() is not None:
        raise Conflict(f"your organisation already has a bank named {row['name']!r}")
    try:
        with conn.begin_nested():
            values = {"id": bank_id, "org_id": org_id, "version": 1, "created_at": at, "updated_at": at, **row}
            conn.execute(insert(banks).values(**values))
    except IntegrityError:
        raise Conflict(f"your organisation already has a bank named {row['name']!r}") from None


def agreement_max_marking(conn: Connection, agreement_id: str) -> str:
    return str(conn.execute(select(agreements.c.max_marking).where(agreements.c.id == agreement_id)).scalar_one())


def bump_version(conn: Connection, bank_id: str, at: datetime) -> int:
    """The bank's next version, for the change being written in this transaction."""
    t = banks.c
    conn.execute(update(banks).where(t.id == bank_id).values(version=t.version + 1, updated_at=at))
    return int(conn.execute(select(t.version).where(t.id == bank_id)).scalar_one())


# --- entries -----------------------------------------------------------------------------------------


def _entry(row: Any) -> Entry:
    return Entry(
        id=row.id,
        bank_id=row.bank_id,
        type=row.signal_type,
        value=row.value,
        source=row.source,
        added_by=row.added_by,
        added_at=row.added_at,
        added_in_version=row.added_in_version,
        removed_in_version=row.removed_in_version,
        removed_at=row.removed_at,
        retracted=row.retracted,
        retracted_reason=row.retracted_reason,
    )


def existing_values(conn: Connection, bank_id: str, values: Sequence[str]) -> set[str]:
    e = bank_entries.c
    out: set[str] = set()
    for start in range(0, len(values), _CHUNK):
        chunk = list(values[start : start + _CHUNK])
        q = select(e.value).where(e.bank_id == bank_id, e.removed_in_version.is_(None), e.value.in_(chunk))
        out.update(conn.execute(q).scalars())
    return out


def active_ids(conn: Connection, bank_id: str, values: Sequence[str]) -> dict[str, int]:
    """{value: entry id} of the bank's active entries holding these values."""
    e = bank_entries.c
    out: dict[str, int] = {}
    for start in range(0, len(values), _CHUNK):
        chunk = list(values[start : start + _CHUNK])
        q = select(e.value, e.id).where(e.bank_id == bank_id, e.removed_in_version.is_(None), e.value.in_(chunk))
        out.update({r.value: r.id for r in conn.execute(q)})
    return out


def insert_entries(conn: Connection, bank: Bank, rows: Sequence[dict[str, Any]], version: int) -> list[Entry]:
    """Insert entries (value, source, added_by, added_at) arriving in ``version``; returns them with ids."""
    if not rows:
        return []
    e = bank_entries.c
    first = conn.execute(select(func.coalesce(func.max(e.id), 0))).scalar_one()
    conn.execute(
        insert(bank_entries),
        [{**r, "bank_id": bank.id, "signal_type": bank.type, "added_in_version": version} for r in rows],
    )
    q = select(bank_entries).where(e.bank_id == bank.id, e.added_in_version == version, e.id > first)
    return [_entry(r) for r in conn.execute(q.order_by(e.id))]


def entry(conn: Connection, bank_id: str, entry_id: int) -> Entry:
    e = bank_entries.c
    row = conn.execute(select(bank_entries).where(e.bank_id == bank_id, e.id == entry_id)).first()
    if row is None:
        raise NotFound(f"no entry {entry_id} in bank {bank_id}")
    return _entry(row)


def remove_entry(
    conn: Connection, bank_id: str, entry_id: int, version: int, at: datetime, *, reason: str | None = None
) -> Entry:
    """Take an entry out of the bank as of ``version``; with ``reason`` it is retracted as well."""
    e = bank_entries.c
    values: dict[str, Any] = {}
    current = entry(conn, bank_id, entry_id)
    if current.removed_in_version is None:
        values |= {"removed_in_version": version, "removed_at": at}
    if reason is not None:
        values |= {"retracted": True, "retracted_reason": reason}
    conn.execute(update(bank_entries).where(e.id == entry_id).values(**values))
    return entry(conn, bank_id, entry_id)


def entries_page(
    conn: Connection, bank_id: str, after: int | None, limit: int, *, include_removed: bool = False
) -> list[Entry]:
    e = bank_entries.c
    q = select(bank_entries).where(e.bank_id == bank_id)
    if not include_removed:
        q = q.where(e.removed_in_version.is_(None))
    if after is not None:
        q = q.where(e.id > after)
    return [_entry(r) for r in conn.execute(q.order_by(e.id).limit(limit))]


def active_entries(conn: Connection, bank_id: str) -> list[tuple[int, str]]:
    """(id, value) of every entry the bank holds now: a full index build."""
    e = bank_entries.c
    q = select(e.id, e.value).where(e.bank_id == bank_id, e.removed_in_version.is_(None)).order_by(e.id)
    return [(r.id, r.value) for r in conn.execute(q)]


def _frames_where(entry_ids: Any, min_quality: int) -> Any:
    f = bank_entry_frames.c
    return (
        select(f.entry_id, f.position, f.pdq_hex)
        .where(f.entry_id.in_(entry_ids), f.quality >= min_quality)
        .order_by(f.entry_id, f.position)
    )


def active_frames(conn: Connection, bank_id: str, min_quality: int) -> list[tuple[int, str]]:
    """(packed id, PDQ hex) of every frame of quality ``min_quality`` or more of the bank's entries now."""
    e = bank_entries.c
    held = select(e.id).where(e.bank_id == bank_id, e.removed_in_version.is_(None))
    return [(r.entry_id << FRAME_BITS | r.position, r.pdq_hex) for r in conn.execute(_frames_where(held, min_quality))]


def insert_frames(conn: Connection, frames: dict[int, Sequence[VpdqFrame]]) -> None:
    rows = [
        {
            "entry_id": entry_id,
            "position": i,
            "frame_number": f.frame_number,
            "pdq_hex": f.pdq_hex,
            "quality": f.quality,
            "timestamp": f.timestamp,
        }
        for entry_id, fs in frames.items()
        for i, f in enumerate(fs)
    ]
    for start in range(0, len(rows), _CHUNK):
        conn.execute(insert(bank_entry_frames), rows[start : start + _CHUNK])


def frames_of(conn: Connection, entry_ids: Sequence[int]) -> dict[int, list[VpdqFrame]]:
    """Every frame of these entries, in order."""
    f = bank_entry_frames.c
    out: dict[int, list[VpdqFrame]] = {i: [] for i in entry_ids}
    ids = sorted(set(entry_ids))
    for start in range(0, len(ids), _CHUNK):
        q = select(bank_entry_frames).where(f.entry_id.in_(ids[start : start + _CHUNK]))
        for r in conn.execute(q.order_by(f.entry_id, f.position)):
            out[r.entry_id].append(VpdqFrame(r.frame_number, r.pdq_hex, r.quality, r.timestamp))
    return out


def frame_counts(conn: Connection, entry_ids: Sequence[int]) -> dict[int, int]:
    f = bank_entry_frames.c
    out: dict[int, int] = {}
    ids = sorted(set(entry_ids))
    for start in range(0, len(ids), _CHUNK):
        q = select(f.entry_id, func.count()).where(f.entry_id.in_(ids[start : start + _CHUNK])).group_by(f.entry_id)
        out.update((r[0], r[1]) for r in conn.execute(q))
    return out


@dataclass(frozen=True)
class Changes:
    added: list[tuple[int, str]]
    removed: list[int]


def changes_since(conn: Connection, bank_id: str, version: int, *, min_quality: int | None = None) -> Changes:
    """What an index as of ``version`` lacks: entries added since (and still there), and entries removed
    since. Read through the (bank_id, added/removed_in_version) indexes, never the whole bank. With
    ``min_quality`` (a vPDQ bank) it is frames under packed ids, of entries added and removed."""
    e = bank_entries.c
    added = (
        select(e.id, e.value)
        .where(e.bank_id == bank_id, e.added_in_version > version, e.removed_in_version.is_(None))
        .order_by(e.id)
    )
    removed = select(e.id).where(e.bank_id == bank_id, e.removed_in_version > version)
    if min_quality is None:
        return Changes([(r.id, r.value) for r in conn.execute(added)], list(conn.execute(removed).scalars()))
    arrived = select(e.id).where(e.bank_id == bank_id, e.added_in_version > version, e.removed_in_version.is_(None))
    new = [
        (r.entry_id << FRAME_BITS | r.position, r.pdq_hex) for r in conn.execute(_frames_where(arrived, min_quality))
    ]
    # every frame of a removed entry, whatever its quality (removing an id the index lacks is a no-op)
    f = bank_entry_frames.c
    gone = select(f.entry_id, f.position).where(f.entry_id.in_(removed))
    return Changes(new, [r.entry_id << FRAME_BITS | r.position for r in conn.execute(gone)])


def exact_hits(
    conn: Connection, bank_ids: Sequence[str], signal_type: str, keys: Sequence[str]
) -> list[tuple[int, str, str]]:
    """(entry id, bank id, value) of the entries of these banks holding one of ``keys`` now."""
    if not bank_ids or not keys:
        return []
    e = bank_entries.c
    out: list[tuple[int, str, str]] = []
    distinct = sorted(set(keys))
    for start in range(0, len(distinct), _CHUNK):
        q = select(e.id, e.bank_id, e.value).where(
            e.signal_type == signal_type,
            e.value.in_(distinct[start : start + _CHUNK]),
            e.bank_id.in_(list(bank_ids)),
            e.removed_in_version.is_(None),
        )
        out.extend((r.id, r.bank_id, r.value) for r in conn.execute(q))
    return out


# --- matches -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchRow:
    org_id: str
    report_id: str
    key: str
    bank_id: str
    entry_id: int
    distance: int
    threshold: int
    bank_version: int
    matched_at: datetime


def insert_matches(conn: Connection, rows: Sequence[MatchRow]) -> None:
    if rows:
        conn.execute(insert(matches), [vars(r) for r in rows])


def matches_of(conn: Connection, org_id: str, report_ids: Sequence[str]) -> list[MatchRow]:
    m = matches.c
    q = select(matches).where(and_(m.org_id == org_id, m.report_id.in_(list(report_ids)))).order_by(m.id)
    return [
        MatchRow(
            r.org_id, r.report_id, r.key, r.bank_id, r.entry_id, r.distance, r.threshold, r.bank_version, r.matched_at
        )
        for r in conn.execute(q)
    ]
