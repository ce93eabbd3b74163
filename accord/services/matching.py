"""Matching signals against the banks an organisation sees: through the API and CLI (``match``), and on
intake for every stored report's media and URLs (``match_intake``), docs/matching.md.

md5, sha256 and URL entries are found by exact look-up in the database (a URL under each of its host+path
prefixes); PDQ entries through the node's per-process PDQ index of each bank
(``accord.services.indexes``).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from accord import plugins
from accord.custody.entry import CustodyAction, CustodyEntry
from accord.errors import Invalid, NotFound
from accord.ids import ActorId, OrgId
from accord.model.bank import Hit, ImageHashes, MatchIn, MatchResult
from accord.model.organisation import Actor
from accord.safeguards.policy import Action
from accord.services import custody
from accord.services.audit import authorize, draft, refusals
from accord.services.node import Node
from accord.signals.pdq import pdq_image
from accord.signals.pdq_index import from_hex
from accord.signals.signal_type import Matching
from accord.signals.signal_types import vpdq as vpdq_type
from accord.signals.vpdq import match_frames, parse_frames
from accord.store import audit as audit_store
from accord.store import banks as store
from accord.store import orgs as org_store
from accord.store.banks import BankRef, MatchRow
from accord.store.reports import NewReport

__all__ = [
    "MATCHER",
    "Found",
    "Query",
    "find",
    "image_hashes",
    "image_query",
    "match",
    "match_intake",
    "match_local",
    "parse_query",
    "record_matches",
]

MATCHER = ActorId("accord:matcher")
"""Who intake's "matched" custody leaves name: the node's matcher, acting on the submitter's report."""


@dataclass(frozen=True)
class Query:
    """One signal to match: its position in the input, its type and its canonical form."""

    position: int
    type: str
    value: str


_TYPED = re.compile(r"^([a-z][a-z0-9_]*):(.+)$", re.S)


def parse_query(position: int, text: str, pointer: str, types: Sequence[str] | None = None) -> list[Query]:
    """What ``text`` asks to match: ``type:value`` names its type; a bare value of 32 hex digits is an md5,
    of 64 a pdq and a sha256 (each matched against banks of its type), anything else a URL. ``types``
    limits the guess (a CLI run against one bank knows its type)."""
    known = plugins.signal_types()
    stripped = text.strip()
    m = _TYPED.match(stripped)
    if m and m.group(1) in known:
        guesses = [m.group(1)]
        stripped = m.group(2)
    elif re.fullmatch(r"[0-9a-fA-F]{32}", stripped):
        guesses = ["md5"]
    elif re.fullmatch(r"[0-9a-fA-F]{64}", stripped):
        guesses = ["pdq", "sha256"]
    else:
        guesses = ["url"]
    if types is not None:
        wanted = [t for t in guesses if t in types]
        if not wanted:
            raise Invalid.at(pointer, f"not a {' or '.join(types)} value")
        guesses = wanted
    out = []
    for name in guesses:
        if name not in known:
            continue
        try:
            out.append(Query(position, name, known[name].validate(stripped)))
        except Invalid as exc:
            raise Invalid.at(pointer, next(iter(exc.errors.values()), exc.detail)) from None
    return out


@dataclass
class _Found:
    bank: BankRef
    entry: int
    distance: int
    percents: tuple[float, float] | None = None  # vPDQ: (query, compared) match percentages


@dataclass
class Found:
    """Per input position, every match, closest first."""

    by_position: dict[int, list[_Found]] = field(default_factory=lambda: defaultdict(list))

    def hits(self, position: int) -> list[Hit]:
        return [
            Hit(
                bank=f.bank.id,
                entry=f.entry,
                type=f.bank.type,
                distance=f.distance,
                threshold=f.bank.threshold,
                bank_version=f.bank.version,
                query_match_percent=f.percents[0] if f.percents else None,
                compared_match_percent=f.percents[1] if f.percents else None,
            )
            for f in self.by_position.get(position, [])
        ]

    @property
    def count(self) -> int:
        return sum(map(len, self.by_position.values()))


def find(node: Node, conn: Connection, banks: Sequence[BankRef], queries: Sequence[Query]) -> Found:
    """Every entry of ``banks`` that each query matches: one look-up per exact type, one index search
    per PDQ bank for the whole batch."""
    found = Found()
    known = plugins.signal_types()
    by_type: dict[str, list[BankRef]] = defaultdict(list)
    for b in banks:
        by_type[b.type].append(b)
    for type_name, of_type in by_type.items():
        qs = [q for q in queries if q.type == type_name]
        if not qs or type_name not in known:
            continue
        kind = known[type_name]
        if kind.matching is Matching.frames:
            for bank in of_type:
                _find_frames(node, conn, bank, qs, found)
            continue
        if kind.matching is Matching.distance:
            arr = from_hex([q.value for q in qs])
            for bank in of_type:
                for q, (ids, dists) in zip(qs, node.bank_indexes.search(conn, bank, arr), strict=True):
                    found.by_position[q.position].extend(
                        _Found(bank, int(i), int(d)) for i, d in zip(ids, dists, strict=True)
                    )
            continue
        wanted: dict[str, list[int]] = defaultdict(list)
        for q in qs:
            for key in kind.lookup_keys(q.value):
                wanted[key].append(q.position)
        refs = {b.id: b for b in of_type}
        for entry_id, bank_id, value in store.exact_hits(conn, list(refs), type_name, list(wanted)):
            for position in dict.fromkeys(wanted[value]):
                found.by_position[position].append(_Found(refs[bank_id], entry_id, 0))
    for hits in found.by_position.values():
        hits.sort(key=lambda f: (f.distance, f.bank.id, f.entry))
    return found


def _find_frames(node: Node, conn: Connection, bank: BankRef, qs: Sequence[Query], found: Found) -> None:
    """vPDQ: the bank's index (all frames of all entries, of the bank's quality or more) finds the entries
    sharing a frame within the threshold with each query; each such entry is then compared whole, as
    ThreatExchange's brute-force vPDQ match does, and kept when both match percentages reach the bank's."""
    for q in qs:
        frames = parse_frames(q.value)
        usable = sorted({f.pdq_hex for f in frames if f.quality >= bank.frame_quality})
        if not usable:
            continue
        nearest: dict[int, int] = {}
        for ids, dists in node.bank_indexes.search(conn, bank, from_hex(usable)):
            for i, d in zip(ids.tolist(), dists.tolist(), strict=True):
                entry = i >> store.FRAME_BITS
                nearest[entry] = min(d, nearest.get(entry, d))
        if not nearest:
            continue
        for entry, theirs in store.frames_of(conn, sorted(nearest)).items():
            got = match_frames(frames, theirs, distance_tolerance=bank.threshold, quality_tolerance=bank.frame_quality)
            if got.query_match_percent >= bank.query_match_percent and (
                got.compared_match_percent >= bank.compared_match_percent
            ):
                found.by_position[q.position].append(
                    _Found(bank, entry, nearest[entry], (got.query_match_percent, got.compared_match_percent))
                )


def _queries(body: MatchIn) -> list[Query]:
    """The request's queries: hashes at positions 0.., then videos after them (typed vpdq)."""
    queries = [q for i, h in enumerate(body.hashes) for q in parse_query(i, h, f"/hashes/{i}")]
    kind = plugins.signal_type("vpdq")
    for i, text in enumerate(body.videos):
        try:
            canonical = kind.validate(text)
        except Invalid as exc:
            raise Invalid.at(f"/videos/{i}", next(iter(exc.errors.values()), exc.detail)) from None
        queries.append(Query(len(body.hashes) + i, "vpdq", canonical))
    return queries


def _run(node: Node, org_id: str, actor: Actor | None, body: MatchIn, request_id: str | None) -> list[MatchResult]:
    queries = _queries(body)
    with node.db.write() as conn:
        now = node.clock.now()
        banks = store.visible_refs(conn, org_id, now, ids=body.banks)
        if body.banks is not None:
            seen = {b.id for b in banks}
            for i, bank_id in enumerate(body.banks):
                if bank_id not in seen:
                    raise NotFound(f"/banks/{i}: no bank {bank_id}")
        found = find(node, conn, banks, queries)
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    actor,
                    "match.run",
                    request_id=request_id,
                    org_id=org_id,
                    # counts and bank ids, never the values asked about
                    detail={
                        "hashes": len(body.hashes),
                        "videos": len(body.videos),
                        "banks": [b.id for b in banks],
                        "matches": found.count,
                    },
                )
            ],
        )
    videos = [
        MatchResult(hash=vpdq_type.digest(q.value), matches=found.hits(q.position)) for q in queries if q.type == "vpdq"
    ]
    return [MatchResult(hash=h, matches=found.hits(i)) for i, h in enumerate(body.hashes)] + videos


def match(node: Node, actor: Actor, body: MatchIn, request_id: str | None = None) -> list[MatchResult]:
    """Per hash, every entry of the banks the caller's organisation sees (or of ``body.banks``) that it
    matches, with bank, distance, threshold and bank version; then per video (``body.videos``, after the
    hashes, under the digest of its frame list), every vPDQ entry it matches with the match percentages."""
    authorize(node, actor, Action.match_run, request_id)
    with refusals(node, actor, "match.run", request_id):
        return _run(node, actor.org_id, actor, body, request_id)


def image_hashes(data: bytes) -> ImageHashes:
    """PDQ (with quality), MD5 and SHA-256 of an uploaded image; ``Invalid`` at /image for anything that is
    not a decodable image of a supported format, and for a decompression bomb (refused from its header)."""
    pdq = pdq_image(data)
    return ImageHashes(
        pdq=pdq.hex,
        quality=pdq.quality,
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def image_query(hashes: ImageHashes, banks: Sequence[str] | None) -> MatchIn:
    return MatchIn(hashes=[f"pdq:{hashes.pdq}", f"md5:{hashes.md5}", f"sha256:{hashes.sha256}"], banks=banks)


def match_local(node: Node, org_id: str, body: MatchIn) -> list[MatchResult]:
    """For the operator at the console (``accord match``), as the organisation ``org_id``."""
    with node.db.read() as conn:
        org_store.org_by_id(conn, org_id)
    return _run(node, org_id, None, body, None)


# --- intake ------------------------------------------------------------------------------------------

_MATCHED_TYPES = ("md5", "sha256", "pdq", "url")


def match_intake(
    node: Node, conn: Connection, actor: Actor, items: Sequence[NewReport], request_id: str | None
) -> list[audit_store.AuditDraft]:
    """Match a batch of newly stored reports' media hashes and URL identifiers against the banks their
    organisation sees, in the transaction that stores them: the matches are recorded, each matched report
    gets a "matched" custody leaf, and the batch one ``match.intake`` audit event, returned for the caller
    to append after its custody leaves (the lock order of ``accord.services.custody``)."""
    if not items:
        return []
    now = node.clock.now()
    banks = store.visible_refs(conn, actor.org_id, now)
    if not banks:
        return []
    types = {b.type for b in banks}
    keys: list[tuple[NewReport, str]] = []
    queries: list[Query] = []
    for item in items:
        for key in (*item.flat.media_keys, *item.flat.identifier_keys):
            kind, _, value = key.partition(":")
            if kind in types and kind in _MATCHED_TYPES:
                queries.append(Query(len(keys), kind, value))
                keys.append((item, key))
    found = find(node, conn, banks, queries)
    if not found.count:
        return []
    rows = [
        MatchRow(
            actor.org_id,
            keys[p][0].id,
            keys[p][1],
            f.bank.id,
            f.entry,
            f.distance,
            f.bank.threshold,
            f.bank.version,
            now,
        )
        for p in sorted(found.by_position)
        for f in found.by_position[p]
    ]
    per_report = record_matches(node, conn, rows, actor.org_id, now, {i.id: i.digest for i in items})
    return [
        draft(
            node,
            actor,
            "match.intake",
            "report",
            request_id=request_id,
            detail={
                "ids": list(per_report),
                "matches": len(rows),
                "banks": sorted({r.bank_id for r in rows}),
            },
        )
    ]


def record_matches(
    node: Node,
    conn: Connection,
    rows: Sequence[MatchRow],
    org_id: OrgId,
    at: datetime,
    digests: Mapping[str, str],
    extra: Mapping[str, int] | None = None,
) -> dict[str, list[MatchRow]]:
    """Store match rows and one "matched" custody leaf per matched report, naming its closest match and how
    many it has (codes only; ``extra`` adds codes such as ``rescan``). Intake and re-scan both record
    through here, before their audit events (lock order: custody, then audit). Returns the rows by report."""
    store.insert_matches(conn, rows)
    per_report: dict[str, list[MatchRow]] = defaultdict(list)
    for r in rows:
        per_report[r.report_id].append(r)
    leaves = []
    for report_id, matched in per_report.items():
        best = min(matched, key=lambda r: (r.distance, r.bank_id, r.entry_id))
        leaves.append(
            CustodyEntry(
                action=CustodyAction.MATCHED,
                actor_id=MATCHER,
                org_id=org_id,
                at=at,
                object_type="report",
                object_id=report_id,
                digest=digests[report_id],
                detail={
                    "bank_id": best.bank_id,
                    "entry_id": best.entry_id,
                    "distance": best.distance,
                    "threshold": best.threshold,
                    "bank_version": best.bank_version,
                    "matches": len(matched),
                    **(extra or {}),
                },
            )
        )
    custody.record(node, conn, leaves)
    return per_report
