"""Re-scan: match the stored media history against the entries a bank gained since a version
(docs/matching.md, "Re-scan").

Intake matches each report against the banks as they are when it arrives; an entry added later finds
nothing until the history is searched again. ``rescan`` searches, for every organisation that sees the
bank (its owner and its agreement's parties), that organisation's stored records of the bank's type
(``pdq:``, ``md5:``, ``sha256:`` media keys; ``url:`` identifiers) against the entries added after
``since`` (default: the version the last re-scan reached), and records what it finds exactly as intake
does: ``matches`` rows (a pair already recorded is not recorded twice), a ``matched`` custody leaf per
report, one ``match.rescan`` audit event per organisation and page, and one ``bank.rescan`` event in the
owner's trail with counts only. Each page of records is one transaction; the bank's ``rescanned_version``
moves only when the whole history has been searched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection

from accord import plugins
from accord.errors import Invalid
from accord.ids import OrgId
from accord.services.audit import draft
from accord.services.matching import record_matches
from accord.services.node import Node
from accord.signals.pdq_index import from_hex
from accord.signals.rescan_search import RescanSearch
from accord.signals.signal_type import Matching
from accord.store import audit as audit_store
from accord.store import banks as store
from accord.store import orgs as org_store
from accord.store import rescan as history
from accord.store.banks import BankRef, MatchRow

__all__ = ["PAGE", "RescanResult", "rescan_local"]

PAGE = 5000
"""Stored records searched (and their matches written) per transaction."""


@dataclass
class RescanResult:
    bank_id: str
    since: int
    version: int
    entries: int  # new entries searched for
    organisations: int
    records: int = 0  # stored records searched
    matches: int = 0  # new matches recorded
    reports: int = 0  # reports newly matched
    on_gpu: bool = False
    gpu_fallbacks: int = 0
    per_org: dict[str, int] = field(default_factory=dict)


def _progress_none(done: int) -> None:
    return None


def rescan_local(
    node: Node,
    org_id: str,
    bank_id: str,
    *,
    since: int | None = None,
    gpu: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_page: Callable[[int], None] = _progress_none,
) -> RescanResult:
    """Re-scan the history against the bank's entries added after ``since`` (the operator, for the bank's
    owner ``org_id``). ``on_start`` gets the number of records to search, ``on_page`` each page's count."""
    now = node.clock.now()
    with node.db.read() as conn:
        owner = org_store.org_by_id(conn, org_id).id
        bank = store.get_owned(conn, owner, bank_id, now, lock=False)
        kind = plugins.signal_type(bank.type)
        if kind.matching is Matching.frames:
            raise Invalid.at(
                "/bank", "a vpdq bank has no stored video history to re-scan (reports carry no frame lists)"
            )
        start = bank.rescanned_version if since is None else since
        if not 0 <= start <= bank.version:
            raise Invalid.at("/since", f"a version of this bank is 0 to {bank.version}, got {start}")
        ref = store.ref(conn, bank.id)
        added = store.changes_since(conn, bank.id, start).added
        orgs = store.parties(conn, bank.id, now)
    prefix = f"{bank.type}:"
    result = RescanResult(bank.id, start, ref.version, len(added), len(orgs))
    if kind.matching is Matching.distance:
        searcher = RescanSearch(
            np.array([i for i, _ in added], dtype=np.int64),
            from_hex([v for _, v in added]) if added else np.zeros((0, 32), dtype=np.uint8),
            ref.threshold,
            gpu=gpu,
        )
        result.on_gpu = searcher.on_gpu
    wanted: dict[str, list[int]] = defaultdict(list)  # exact types: value -> entry ids
    for entry_id, value in added:
        wanted[value].append(entry_id)
    if on_start is not None:
        with node.db.read() as conn:
            on_start(sum(history.count(conn, o, prefix) for o in orgs) if added else 0)
    if added:
        for org in orgs:
            after = 0
            while True:
                with node.db.write() as conn:
                    page = history.records_page(conn, org, prefix, after, PAGE)
                    if not page:
                        break
                    after = page[-1][0]
                    if kind.matching is Matching.distance:
                        hits = [
                            (page[h.query], h.id, h.distance)
                            for h in searcher.search(from_hex([k[len(prefix) :] for _, k in page]))
                        ]
                    else:
                        hits = [
                            ((rid, key), entry_id, 0)
                            for rid, key in page
                            for lookup in kind.lookup_keys(key[len(prefix) :])
                            for entry_id in wanted.get(lookup, ())
                        ]
                    n = _record(node, conn, ref, org, hits)
                    result.matches += n[0]
                    result.reports += n[1]
                    result.per_org[org] = result.per_org.get(org, 0) + n[0]
                result.records += len(page)
                on_page(len(page))
        if kind.matching is Matching.distance:
            result.gpu_fallbacks = searcher.fallbacks
    with node.db.write() as conn:
        store.set_rescanned(conn, bank.id, ref.version)
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    None,
                    "bank.rescan",
                    "bank",
                    bank.id,
                    org_id=owner,
                    # counts only: which of the parties' reports matched is theirs to know
                    detail={
                        "since": start,
                        "version": ref.version,
                        "entries": len(added),
                        "records": result.records,
                        "matches": result.matches,
                        "organisations": len(orgs),
                        "gpu": result.on_gpu,
                    },
                )
            ],
        )
    return result


def _record(
    node: Node, conn: Connection, bank: BankRef, org: str, hits: list[tuple[tuple[int, str], int, int]]
) -> tuple[int, int]:
    """Record the page's hits as intake would: new match rows, a matched leaf per report, one audit event."""
    if not hits:
        return 0, 0
    holding = history.reports_holding(conn, org, sorted({rec_id for (rec_id, _), _, _ in hits}))
    now = node.clock.now()
    rows: list[MatchRow] = []
    digests: dict[str, str] = {}
    for (rec_id, key), entry_id, distance in hits:
        for report_id, digest in holding.get(rec_id, []):
            digests[report_id] = digest
            rows.append(MatchRow(org, report_id, key, bank.id, entry_id, distance, bank.threshold, bank.version, now))
    seen = history.recorded(conn, org, sorted(digests), bank.id)
    fresh: list[MatchRow] = []
    for r in rows:
        if (r.report_id, r.key, r.entry_id) not in seen:
            seen.add((r.report_id, r.key, r.entry_id))
            fresh.append(r)
    if not fresh:
        return 0, 0
    per_report = record_matches(node, conn, fresh, OrgId(org), now, digests, {"rescan": 1})
    audit_store.append(
        conn,
        [
            draft(
                node,
                None,
                "match.rescan",
                "report",
                org_id=org,
                detail={"ids": list(per_report), "matches": len(fresh), "banks": [bank.id]},
            )
        ],
    )
    return len(fresh), len(per_report)
