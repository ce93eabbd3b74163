"""Report intake (single and bulk), reading, listing, and search by identifier or media hash."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from accord.custody.entry import CustodyAction
from accord.errors import AccordError, Conflict, Invalid
from accord.ids import ReportId
from accord.intake.formats import Item
from accord.intake.lines import Chunk, batched, prepare_items, prepared_chunks
from accord.intake.prepare import Prepared, prepare
from accord.intake.record import FlatReport, flatten
from accord.model.identifier import Identifier
from accord.model.media import Media
from accord.model.observable import Observable, ObservableKind
from accord.model.organisation import Actor
from accord.model.report import Report, ReportIn
from accord.safeguards.policy import Action
from accord.services import custody
from accord.services.audit import authorize, draft
from accord.services.custody import record_reports
from accord.services.matching import match_intake
from accord.services.node import Node
from accord.services.sightings import to_feeds
from accord.store import audit as audit_store
from accord.store import observables as observable_store
from accord.store import reports as store
from accord.store.errors import DuplicateKey
from accord.store.reports import NewReport, ReportFilter

__all__ = [
    "BulkResult",
    "Hits",
    "Page",
    "Rejection",
    "Submission",
    "get",
    "ingest_chunks",
    "ingest_items",
    "ingest_lines",
    "list_page",
    "search_identifier",
    "search_media",
    "store_received",
    "submit",
    "submit_in",
]


@dataclass(frozen=True)
class Submission:
    report: Report
    created: bool


def _stamped(node: Node, actor: Actor, f: FlatReport, at: datetime | None = None) -> NewReport:
    """Give a prepared report its id, organisation, actor and ingestion time (``at``: a bulk batch's, one
    for all the reports its transaction stores), and seal what must be sealed (bound to the id, with the
    node's key, which never leaves this process)."""
    rid = ReportId(node.ids("rpt"))
    blob = node.sealer.seal(f.sealed_payload, rid) if f.sealed_payload is not None else None
    return NewReport(rid, actor.org_id, actor.id, node.clock.now() if at is None else at, blob, f)


def _store(
    node: Node, conn: Connection, actor: Actor, items: list[NewReport], request_id: str | None, *, bulk: bool = False
) -> None:
    """Insert new reports with their links, their "received" custody leaves and their audit events, in the
    caller's transaction (custody before audit: the lock order of accord.services.custody). Their media and
    URLs are matched against the banks the organisation sees in the same transaction, the whole batch at
    once (``accord.services.matching.match_intake``: one query when it sees no bank), and appended to the
    sync feeds the organisation's share rules put them in (``accord.services.sightings.to_feeds``: one
    query when it has none). ``bulk``: a batch of an import, whose additions to existing observable records
    wait for the import's fold."""
    store.insert_many(conn, items, defer=bulk)
    custody.record_received(node, conn, items)
    matched = match_intake(node, conn, actor, items, request_id)
    shared = (
        to_feeds(node, conn, actor.org_id, [i.id for i in items], items[0].ingested_at, request_id) if items else []
    )
    audit_store.append(conn, [*(_create_draft(node, actor, i, request_id) for i in items), *matched, *shared])


def _create_draft(node: Node, actor: Actor, r: NewReport, request_id: str | None) -> audit_store.AuditDraft:
    """The report's "report.create" event, at the time it was stamped with (one clock reading for a report
    and everything recorded about its storing)."""
    return draft(
        node,
        actor,
        "report.create",
        "report",
        r.id,
        request_id=request_id,
        detail={"incident_type": r.incident_type, "urgent": r.urgent},
        at=r.ingested_at,
    )


def submit(
    node: Node, actor: Actor, rin: ReportIn, *, idempotency_key: str | None = None, request_id: str | None = None
) -> Submission:
    """Store one report. Re-sending the same content (same external id or same idempotency key) returns the
    stored report instead of a duplicate; the same key or external id with other content is a Conflict."""
    authorize(node, actor, Action.report_create, request_id)
    p = prepare(rin, node.vocab)
    for attempt in (1, 2):
        try:
            return _submit_once(node, actor, p, idempotency_key, request_id)
        except DuplicateKey:
            # Another transaction stored the same key or external id between our check and insert
            # (PostgreSQL); on the second pass the lookups find it and answer as a replay or conflict.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _submit_once(node: Node, actor: Actor, p: Prepared, idem_key: str | None, request_id: str | None) -> Submission:
    with node.db.write() as conn:
        if idem_key is not None:
            prior = store.idempotency_lookup(conn, actor, idem_key)
            if prior is not None:
                if prior[0] != p.digest:
                    raise Conflict("this Idempotency-Key was used with a different request body")
                return Submission(store.get(conn, actor, prior[1]), created=False)
        done = submit_in(node, conn, actor, p, request_id)
        if idem_key is not None:
            store.insert_idempotency(conn, actor, idem_key, p.digest, done.report.id, node.clock.now())
        return done


def submit_in(node: Node, conn: Connection, actor: Actor, p: Prepared, request_id: str | None) -> Submission:
    """Store one prepared report in the caller's transaction, as ``submit`` does: the same external id, or
    (without one) the same content, already stored answers the stored report; the same external id with
    other content is a Conflict, raised before anything is written. For callers whose own rows must commit
    with the report (a TAXII add publishes it under the agreement and keeps its status resource). The
    caller has authorised ``report.create``."""
    ext = p.report_in.external_id
    if ext is not None:
        existing = store.existing_by_external_id(conn, actor, [ext]).get(ext)
        if existing is not None:
            if existing[1] != p.digest:
                raise Conflict(f"external_id {ext!r} was already submitted with different content")
            return Submission(store.get(conn, actor, existing[0]), created=False)
    else:
        same = store.existing_by_digest(conn, actor, [p.digest]).get(p.digest)
        if same is not None:
            return Submission(store.get(conn, actor, same), created=False)
    item = _stamped(node, actor, flatten(p))
    _store(node, conn, actor, [item], request_id)
    return Submission(p.as_report(item.id, item.org_id, item.submitted_by, item.ingested_at), created=True)


def store_received(
    node: Node,
    conn: Connection,
    actor: Actor,
    prepared: Sequence[Prepared],
    on_stamped: Callable[[list[NewReport]], None],
) -> dict[str, ReportId]:
    """Store reports received from a peer (each with an external id naming its origin) as ``actor``'s, in
    the caller's transaction, exactly as intake stores any report: custody "received" leaves, matching,
    feeds, audit. ``on_stamped`` runs with the new reports before they are stored (their provenance goes
    in first, so the feeds see it). Returns {external id: report id}, those stored before included."""
    ext = [str(p.report_in.external_id) for p in prepared]
    seen = store.existing_by_external_id(conn, actor, ext)
    out = {e: ReportId(v[0]) for e, v in seen.items()}
    now = node.clock.now()
    fresh = []
    for e, p in zip(ext, prepared, strict=True):
        if e not in out:
            item = _stamped(node, actor, flatten(p), now)
            out[e] = item.id
            fresh.append(item)
    if fresh:
        on_stamped(fresh)
        _store(node, conn, actor, fresh, None)
    return out


@dataclass(frozen=True)
class Rejection:
    line: int
    pointer: str
    message: str


@dataclass
class BulkResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    lines: int = 0

    @property
    def rejected_lines(self) -> int:
        """Lines refused (a line with several faults counts once): accepted + duplicates + this = lines."""
        return len({r.line for r in self.rejected})


def ingest_lines(
    node: Node,
    actor: Actor,
    lines: Iterable[tuple[int, bytes | str | AccordError]],
    *,
    request_id: str | None = None,
    batch_size: int | None = None,
    on_batch: Callable[[BulkResult], None] | None = None,
    parse_workers: int = 0,
) -> BulkResult:
    """Bulk intake of native NDJSON lines ``(line number, text)``.

    Valid lines are committed in batches, each batch in one transaction with its audit events, so a
    crash loses at most the batch in flight and never leaves half a report. Invalid lines are reported
    with their line number and field and do not stop the others. ``on_batch`` runs after each commit:
    what it sees is durable (the CLI prints it as the acknowledgement). ``parse_workers`` > 0 parses in
    helper processes ahead of the writer (worth it for large files; each costs a process start).
    """
    authorize(node, actor, Action.report_create, request_id)
    size = batch_size or node.settings.bulk_batch_size
    chunks = prepared_chunks(lines, size, node.vocab, workers=parse_workers)
    return _ingest_chunks(node, actor, chunks, request_id, on_batch)


def ingest_items(
    node: Node,
    actor: Actor,
    items: Iterable[Item],
    *,
    request_id: str | None = None,
    batch_size: int | None = None,
    on_batch: Callable[[BulkResult], None] | None = None,
) -> BulkResult:
    """Bulk intake of what an importer read, with the same batching and guarantees as ``ingest_lines``."""
    authorize(node, actor, Action.report_create, request_id)
    size = batch_size or node.settings.bulk_batch_size
    chunks = (prepare_items(batch, node.vocab) for batch in batched(items, size))
    return _ingest_chunks(node, actor, chunks, request_id, on_batch)


def ingest_chunks(
    node: Node,
    actor: Actor,
    chunks: Iterable[Chunk],
    *,
    request_id: str | None = None,
    on_batch: Callable[[BulkResult], None] | None = None,
) -> BulkResult:
    """Bulk intake of batches already prepared (by a helper process that read and prepared them), with
    the same guarantees as ``ingest_lines``: one transaction per batch."""
    authorize(node, actor, Action.report_create, request_id)
    return _ingest_chunks(node, actor, chunks, request_id, on_batch)


def _ingest_chunks(
    node: Node,
    actor: Actor,
    chunks: Iterable[Chunk],
    request_id: str | None,
    on_batch: Callable[[BulkResult], None] | None,
) -> BulkResult:
    result = BulkResult()
    for chunk in chunks:
        result.lines += chunk.lines
        result.rejected.extend(Rejection(*f) for f in chunk.faults)
        if chunk.reports:
            _commit_batch(node, actor, chunk.reports, result, request_id)
        if on_batch:
            on_batch(result)
    if result.accepted:
        # The batches' additions to records stored before them, folded in once (observables.fold). If the
        # import stops before this, searches still count them, and the next import's fold takes them.
        with node.db.write() as conn:
            observable_store.fold(conn)
    return result


def _commit_batch(
    node: Node, actor: Actor, batch: list[tuple[int, FlatReport]], result: BulkResult, request_id: str | None
) -> None:
    with node.db.write() as conn:
        ext_ids = [p.external_id for _, p in batch if p.external_id is not None]
        seen = store.existing_by_external_id(conn, actor, ext_ids) if ext_ids else {}
        anonymous = [p.digest for _, p in batch if p.external_id is None]
        same_content = set(store.existing_by_digest(conn, actor, anonymous)) if anonymous else set()
        fresh: list[NewReport] = []
        now = node.clock.now()  # the batch commits as one: one ingestion time for its reports
        for number, p in batch:
            ext = p.external_id
            if ext is None:
                if p.digest in same_content:
                    result.duplicates += 1
                    continue
                same_content.add(p.digest)
            elif ext in seen:
                if seen[ext][1] == p.digest:
                    result.duplicates += 1
                else:
                    result.rejected.append(
                        Rejection(
                            number, "/external_id", f"external_id {ext!r} was already submitted with different content"
                        )
                    )
                continue
            item = _stamped(node, actor, p, now)
            if ext is not None:
                seen[ext] = (item.id, p.digest)
            fresh.append(item)
        _store(node, conn, actor, fresh, request_id, bulk=True)
    result.accepted += len(fresh)


def _viewed(node: Node, conn: Connection, actor: Actor, reports: list[Report], view: str) -> None:
    """A "viewed" custody leaf for each report an answer returns, in the read's own transaction and
    before its audit event (the lock order of ``accord.services.custody``). ``view`` is the kind of read
    (get, list, search), the same whichever adapter asked: never a filter, a search key or content."""
    record_reports(node, conn, actor, CustodyAction.VIEWED, reports, {"view": view})


def get(node: Node, actor: Actor, report_id: str, request_id: str | None = None) -> Report:
    authorize(node, actor, Action.report_read, request_id)
    with node.db.write() as conn:
        report = store.get(conn, actor, report_id)
        _viewed(node, conn, actor, [report], "get")
        audit_store.append(conn, [draft(node, actor, "report.read", "report", report.id, request_id=request_id)])
    return report


@dataclass(frozen=True)
class Page:
    items: list[Report]
    next_cursor: str | None


def list_page(
    node: Node, actor: Actor, f: ReportFilter, cursor: str | None, limit: int, request_id: str | None = None
) -> Page:
    authorize(node, actor, Action.report_read, request_id)
    limit = max(1, min(limit, node.settings.page_size_max))
    with node.db.write() as conn:
        items = store.page(conn, actor, f, cursor, limit + 1)
        more = len(items) > limit
        items = items[:limit]
        _viewed(node, conn, actor, items, "list")
        audit_store.append(
            conn,
            [draft(node, actor, "report.list", "report", request_id=request_id, detail={"ids": [r.id for r in items]})],
        )
    return Page(items, items[-1].id if more else None)


@dataclass(frozen=True)
class Hits:
    """What a search by identifier or media hash found in the caller's organisation: its record of the
    key (when first and last seen, how many reports hold it; None when it was never seen there) and up to
    ``limit`` of those reports, oldest first."""

    key: str
    record: Observable | None
    items: list[Report]


def search_identifier(
    node: Node, actor: Actor, ident: Identifier, limit: int = 100, request_id: str | None = None
) -> Hits:
    """Reports of the caller's organisation holding this identifier, compared in normalised form."""
    authorize(node, actor, Action.identifier_search, request_id)
    return _search(
        node, actor, ObservableKind.identifier, ident.key, limit, request_id, "identifier.search", ident.kind.value
    )


def search_media(node: Node, actor: Actor, medium: Media, limit: int = 100, request_id: str | None = None) -> Hits:
    """Reports of the caller's organisation holding a medium with this hash (exact, PDQ included). The
    medium names exactly one of md5, sha256 and pdq: a search is by one hash, audited as that hash's kind."""
    authorize(node, actor, Action.media_search, request_id)
    if len(medium.keys) != 1:
        raise Invalid.at("", "search by exactly one of md5, sha256, pdq")
    key = medium.keys[0]
    return _search(node, actor, ObservableKind.media, key, limit, request_id, "media.search", key.split(":")[0])


def _search(
    node: Node,
    actor: Actor,
    kind: ObservableKind,
    key: str,
    limit: int,
    request_id: str | None,
    event: str,
    key_kind: str,
) -> Hits:
    limit = max(1, min(limit, node.settings.page_size_max))
    with node.db.write() as conn:
        record, ids = observable_store.find(conn, actor, kind, key, limit)
        found = store.get_many(conn, actor, ids)
        _viewed(node, conn, actor, [found[i] for i in ids], "search")
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    actor,
                    event,
                    kind.value,
                    request_id=request_id,
                    # the kind of key, never its value: the audit trail holds ids and no personal data
                    detail={"kind": key_kind, "hits": len(ids), "ids": ids},
                )
            ],
        )
    return Hits(key, record, [found[i] for i in ids])
