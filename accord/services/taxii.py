"""TAXII 2.1 collections over agreements: what a party reads from and adds to a collection
(docs/federation.md, "TAXII 2.1").

A collection is an agreement the caller's organisation is party to and that is valid now; its id is the
agreement's id. It holds what the parties put under the agreement, as our own exporters write it:

- reports held under the agreement (added through the collection, or received under it), each as the
  STIX exporter's grouping and the objects it lists, marked with the report's TLP 2.0 marking and the
  agreement's statement marking;
- the entries of banks bound to the agreement, as the bank exporter's indicators;

and only what the agreement allows: a marking above its ``max_marking`` is never served and never
accepted. Reading objects that come from reports is an export: each served report gets an "exported"
custody leaf and the page an audit event, in one transaction, as ``services.exports`` does.

The collection's content is assembled per request and paged by (date added, id), the order TAXII's
``next`` and ``added_after`` need; ``next`` is that position, so a page is stable however the request
is repeated. Assembling it whole is fine at the sizes agreements share today; docs/federation.md names
the limit.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from accord import plugins
from accord.custody.entry import CustodyAction
from accord.errors import Conflict, Invalid
from accord.exchange.agreement import check_content
from accord.intake.exporters.stix import report_objects
from accord.intake.formats import ImportOptions, Item
from accord.intake.importers.stix import STIX
from accord.intake.prepare import Prepared, prepare
from accord.intake.stix_common import PDQ_HASH, agreement_statement, stix_id, tlp2_definition
from accord.model.bank import EntriesIn
from accord.model.organisation import Actor
from accord.model.parse import parse_obj
from accord.model.report import Report
from accord.safeguards.policy import Action
from accord.services import banks
from accord.services import reports as report_service
from accord.services.audit import authorize, draft, refusals
from accord.services.custody import record_reports
from accord.services.node import Node
from accord.signals import stix_bank
from accord.store import audit as audit_store
from accord.store import banks as bank_store
from accord.store import orgs as org_store
from accord.store import taxii as store
from accord.store.errors import DuplicateKey
from accord.store.taxii import Collection

__all__ = [
    "BANK_TYPES",
    "Collection",
    "Page",
    "Pulled",
    "add_objects",
    "collection",
    "collections",
    "objects",
    "parse_time",
    "pattern_hashes",
    "pull_cursor",
    "pull_page",
    "status",
    "taxii_time",
]

BANK_TYPES = frozenset({"md5", "sha256", "pdq", "url"})  # the bank types with a STIX pattern
MAX_LIMIT = 1000


def taxii_time(at: datetime) -> str:
    """TAXII's timestamp: UTC, microseconds, ``Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class _Entry:
    added: datetime
    obj: dict[str, Any]
    report: Report | None = None

    @property
    def key(self) -> tuple[datetime, str]:
        return (self.added, str(self.obj["id"]))

    @property
    def version(self) -> str:
        return str(self.obj.get("modified") or self.obj.get("created") or taxii_time(self.added))


@dataclass
class Page:
    objects: list[dict[str, Any]]
    added: list[datetime]
    versions: list[str]
    more: bool
    next: str | None
    media_types: list[str] = field(default_factory=list)

    @property
    def first(self) -> datetime | None:
        return self.added[0] if self.added else None

    @property
    def last(self) -> datetime | None:
        return self.added[-1] if self.added else None


def collections(node: Node, actor: Actor, request_id: str | None = None) -> list[Collection]:
    authorize(node, actor, Action.report_read, request_id)
    with node.db.write() as conn:
        found = store.collections(conn, actor.org_id, node.clock.now())
        audit_store.append(
            conn,
            [draft(node, actor, "taxii.collections", request_id=request_id, detail={"ids": [c.id for c in found]})],
        )
    return found


def collection(node: Node, actor: Actor, collection_id: str, request_id: str | None = None) -> Collection:
    authorize(node, actor, Action.report_read, request_id)
    with refusals(node, actor, "taxii.collection", request_id), node.db.read() as conn:
        return store.collection(conn, actor.org_id, collection_id, node.clock.now())


def _rank(node: Node, marking: str) -> int:
    term = node.vocab.markings.terms.get(marking)
    return int(term.attrs["rank"]) if term is not None else 1 << 30  # unknown: above every maximum


def _content(node: Node, conn: Any, actor: Actor, c: Collection) -> tuple[list[_Entry], dict[str, int]]:
    """Everything the collection holds, in (date added, id) order, each object once; and the reports held
    back, by the clause that refuses them (a category the agreement does not allow, a marking above its
    maximum: ``check_content``)."""
    now = node.clock.now()
    cap = _rank(node, c.max_marking)
    withheld: dict[str, int] = {}
    statement = agreement_statement(c.id)
    marking_def: dict[str, Any] = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": stix_id("marking-definition", statement),
        "created": "2025-01-01T00:00:00.000Z",
        "definition_type": "statement",
        "definition": {"statement": statement},
    }
    out = [_Entry(c.created_at, marking_def)]
    used: set[str] = set()
    names: dict[str, str] = {}
    for r in store.published(conn, c):
        refusal = check_content(c.terms, r.marking, r.incident_type, now)
        if refusal is not None:
            withheld[refusal.clause] = withheld.get(refusal.clause, 0) + 1
            continue
        used.add(r.marking)
        creator = stix_id("identity", "org", r.org_id)
        if r.org_id not in names:
            names[r.org_id] = org_store.org_by_id(conn, r.org_id).name
            at = (
                r.ingested_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
                + f"{r.ingested_at.microsecond // 1000:03d}Z"
            )
            identity = {
                "type": "identity",
                "spec_version": "2.1",
                "id": creator,
                "created": at,
                "modified": at,
                "name": names[r.org_id],
                "identity_class": "organization",
                "object_marking_refs": [marking_def["id"]],
            }
            out.append(_Entry(r.ingested_at, identity, r))
        out.extend(_Entry(r.ingested_at, o, r) for o in report_objects(r, creator, [marking_def["id"]]))
    for bank in bank_store.visible(conn, actor.org_id, now):
        if bank.agreement_id != c.id or bank.type not in BANK_TYPES or _rank(node, bank.marking) > cap:
            continue
        used.add(bank.marking)
        entries = []
        after: int | None = None
        while page := bank_store.entries_page(conn, bank.id, after, 10_000):
            entries += page
            after = page[-1].id
        objs = stix_bank.bundle(bank, entries)["objects"]
        out.append(_Entry(bank.created_at, objs[1]))  # the owner's identity
        out.extend(_Entry(e.added_at, o) for e, o in zip(entries, objs[2:], strict=True))
    out.extend(_Entry(c.created_at, tlp2_definition(code)) for code in used)
    seen: set[str] = set()
    unique = []
    for e in sorted(out, key=lambda e: e.key):
        if e.obj["id"] not in seen:
            seen.add(e.obj["id"])
            unique.append(e)
    return unique, withheld


def _encode(key: tuple[datetime, str]) -> str:
    return base64.urlsafe_b64encode(f"{taxii_time(key[0])}|{key[1]}".encode()).decode()


def _decode(token: str) -> tuple[datetime, str]:
    try:
        at, oid = base64.urlsafe_b64decode(token.encode()).decode().split("|", 1)
        return datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC), oid
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid.at("?next", f"not a next value this server gave: {token!r}") from None


def parse_time(value: str, name: str) -> datetime:
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid.at(f"?{name}", f"not a timestamp: {value!r}") from None
    if at.tzinfo is None:
        raise Invalid.at(f"?{name}", f"a timestamp needs a time zone (Z): {value!r}")
    return at.astimezone(UTC)


def objects(
    node: Node,
    actor: Actor,
    collection_id: str,
    *,
    added_after: datetime | None = None,
    limit: int | None = None,
    next_token: str | None = None,
    types: Sequence[str] = (),
    ids: Sequence[str] = (),
    manifest: bool = False,
    request_id: str | None = None,
) -> Page:
    """A page of the collection's objects (``manifest``: only their ids, versions and dates are wanted,
    which is not an export of the reports behind them)."""
    authorize(node, actor, Action.report_read, request_id)
    if limit is not None and limit < 1:
        raise Invalid.at("?limit", "limit is at least 1")
    size = min(limit or MAX_LIMIT, MAX_LIMIT)
    position = _decode(next_token) if next_token else None
    with refusals(node, actor, "taxii.objects", request_id), node.db.write() as conn:
        c = store.collection(conn, actor.org_id, collection_id, node.clock.now())
        content, withheld = _content(node, conn, actor, c)
        chosen: Iterable[_Entry] = content
        if added_after is not None:
            chosen = [e for e in chosen if e.added > added_after]
        if types:
            chosen = [e for e in chosen if e.obj["type"] in types]
        if ids:
            chosen = [e for e in chosen if e.obj["id"] in ids]
        if position is not None:
            chosen = [e for e in chosen if e.key > position]
        chosen = list(chosen)
        page, more = chosen[:size], len(chosen) > size
        served = {e.report.id: e.report for e in page if e.report is not None}
        if served and not manifest:
            record_reports(node, conn, actor, CustodyAction.EXPORTED, list(served.values()), {"format": "taxii"})
        detail: dict[str, object] = {"collection": c.id, "objects": len(page), "manifest": manifest}
        if served:
            detail["reports"] = sorted(served)
        if withheld:  # the agreement refuses them: never served, whatever the filters
            detail["withheld"] = withheld
        audit_store.append(conn, [draft(node, actor, "taxii.objects", request_id=request_id, detail=detail)])
    return Page(
        objects=[e.obj for e in page],
        added=[e.added for e in page],
        versions=[e.version for e in page],
        more=more,
        next=_encode(page[-1].key) if more else None,
    )


def _envelope_objects(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("objects"), list):
        raise Invalid.at("/objects", "a TAXII envelope is an object with a list of STIX objects under 'objects'")
    objs: list[dict[str, Any]] = body["objects"]
    if not objs:
        raise Invalid.at("/objects", "the envelope holds no objects")
    for i, o in enumerate(objs):
        if not isinstance(o, dict) or not isinstance(o.get("id"), str) or not isinstance(o.get("type"), str):
            raise Invalid.at(f"/objects/{i}", "a STIX object has a string 'type' and 'id'")
    return objs


def _fault(item: Item) -> str:
    return "; ".join(f"{k or '/'}: {v}" for k, v in item.faults.items())


def add_objects(
    node: Node, actor: Actor, collection_id: str, body: Any, request_id: str | None = None
) -> dict[str, Any]:
    """Read an envelope's objects with the STIX importer and store the reports they make under the
    agreement; the answer is TAXII's status resource (complete: the work is done before answering).

    A fault of the whole envelope (not STIX) raises ``Invalid`` and stores nothing. Otherwise each report's
    root object succeeds or fails alone, with the importer's reason or the agreement's clause; the other
    objects of the envelope are reported as successes (they were read as parts of the reports)."""
    authorize(node, actor, Action.report_create, request_id)
    with refusals(node, actor, "taxii.add", request_id):
        with node.db.read() as conn:
            c = store.collection(conn, actor.org_id, collection_id, node.clock.now())
        objs = _envelope_objects(body)
        bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objs}
        options = ImportOptions(name="taxii", max_document_bytes=node.settings.max_document_bytes)
        items = list(STIX.read(io.BytesIO(orjson.dumps(bundle)), options))
        now = node.clock.now()
        failures: dict[str, str] = {}
        refused: dict[str, int] = {}
        accepted: list[tuple[str, Prepared]] = []
        for item in items:
            ref = item.ref or ""
            if item.report is None:
                failures[ref] = _fault(item)
            elif (refusal := check_content(c.terms, item.report.marking, item.report.incident_type, now)) is not None:
                failures[ref] = str(refusal)
                refused[refusal.clause] = refused.get(refusal.clause, 0) + 1
            else:
                try:
                    accepted.append((ref, prepare(item.report, node.vocab)))
                except Invalid as exc:
                    failures[ref] = "; ".join(f"{k}: {v}" for k, v in exc.errors.items()) if exc.errors else exc.detail
        for attempt in (1, 2):
            try:
                return _add(node, actor, c, objs, accepted, dict(failures), refused, request_id)
            except DuplicateKey:  # another add stored the same external id meanwhile (PostgreSQL): look again
                if attempt == 2:
                    raise
    raise AssertionError("unreachable")  # pragma: no cover


def _add(
    node: Node,
    actor: Actor,
    c: Collection,
    objs: list[dict[str, Any]],
    accepted: list[tuple[str, Prepared]],
    failures: dict[str, str],
    refused: dict[str, int],
    request_id: str | None,
) -> dict[str, Any]:
    """One transaction: the reports, their publication under the agreement, the status resource and the
    audit event, so a crash leaves either all of them or none (never a report stored outside its collection,
    or one the status does not list)."""
    with node.db.write() as conn:
        stored: list[str] = []
        for ref, p in accepted:
            try:
                stored.append(report_service.submit_in(node, conn, actor, p, request_id).report.id)
            except Conflict as exc:  # raised before the report wrote anything
                failures[ref] = exc.detail
        now = node.clock.now()
        version = {o["id"]: str(o.get("modified") or o.get("created") or taxii_time(now)) for o in objs}
        successes = [{"id": o["id"], "version": version[o["id"]]} for o in objs if o["id"] not in failures]
        failed = [{"id": k, "version": version.get(k, taxii_time(now)), "message": v} for k, v in failures.items()]
        status_id = node.ids("txs")
        resource: dict[str, Any] = {
            "id": status_id,
            "status": "complete",
            "request_timestamp": taxii_time(now),
            "total_count": len(successes) + len(failed),
            "success_count": len(successes),
            "successes": successes,
            "failure_count": len(failed),
            "failures": failed,
            "pending_count": 0,
            "pendings": [],
        }
        store.publish(conn, actor.org_id, stored, c.id)
        store.insert_status(conn, status_id, actor.org_id, c.id, now, resource)
        detail: dict[str, object] = {
            "collection": c.id,
            "status": status_id,
            "reports": stored,
            "failures": len(failed),
        }
        if refused:  # the agreement's clauses that refused objects, with counts
            detail["refused"] = refused
        audit_store.append(
            conn, [draft(node, actor, "taxii.add", "taxii_status", status_id, request_id=request_id, detail=detail)]
        )
    return resource


def status(node: Node, actor: Actor, status_id: str, request_id: str | None = None) -> dict[str, Any]:
    authorize(node, actor, Action.report_create, request_id)
    with refusals(node, actor, "taxii.status", request_id), node.db.read() as conn:
        return store.status(conn, actor.org_id, status_id)


# --- pulling from a remote TAXII 2.1 collection -------------------------------------------------------

_HASH_TERM = re.compile(r"file:hashes\.(?:'([^']+)'|([A-Za-z0-9_-]+))\s*=\s*'([0-9A-Fa-f]+)'")
_HASH_NAMES = {"md5": "MD5", "sha256": "SHA-256", "pdq": PDQ_HASH}


@dataclass
class Pulled:
    """What one pulled page did: bank entries added and already held, values that are not valid for
    the bank, and reports imported (new, already held, rejected)."""

    objects: int = 0
    added: int = 0
    already_present: int = 0
    invalid: int = 0
    reports: int = 0
    duplicates: int = 0
    rejected: int = 0


def pattern_hashes(pattern: str, bank_type: str) -> list[str]:
    """The values of ``bank_type`` (md5, sha256, pdq) that a file-hash pattern compares with."""
    wanted = _HASH_NAMES.get(bank_type)
    return [m.group(3) for m in _HASH_TERM.finditer(pattern) if (m.group(1) or m.group(2)) == wanted]


def pull_cursor(node: Node, org_id: str, source: str) -> str | None:
    with node.db.read() as conn:
        return store.cursor(conn, org_store.org_by_id(conn, org_id).id, source)


def pull_page(
    node: Node,
    org_id: str,
    source: str,
    objs: list[dict[str, Any]],
    last_added: str | None,
    *,
    bank: str | None = None,
    actor: Actor | None = None,
) -> Pulled:
    """Import one page of a remote collection, then move the cursor past it. Indicators' file hashes go
    into the organisation's bank ``bank`` (name or id; values it holds already are counted, not added);
    with ``actor`` (a key of the organisation's), what the STIX importer reads as reports is stored as
    that actor's reports. Both are idempotent, so a page imported again (a pull cut off before its
    cursor moved) changes nothing."""
    done = Pulled(objects=len(objs))
    if bank is not None:
        bank_id = banks.resolve_local(node, org_id, bank)
        kind = banks.get_local(node, org_id, bank_id).type
        if kind not in _HASH_NAMES:
            raise Invalid.at("/bank", f"bank {bank} holds {kind}: a pull fills md5, sha256 or pdq banks")
        signal = plugins.signal_type(kind)
        values: list[str] = []
        for o in objs:
            if o.get("type") == "indicator" and o.get("pattern_type") == "stix" and isinstance(o.get("pattern"), str):
                for value in pattern_hashes(o["pattern"], kind):
                    try:
                        values.append(signal.validate(value))
                    except Invalid:
                        done.invalid += 1
        if values:
            body = parse_obj(EntriesIn, {"entries": [{"value": v, "source": source[:200]} for v in values]})
            added = banks.add_entries_local(node, org_id, bank_id, body)
            done.added, done.already_present = len(added.added), added.already_present
    if actor is not None:
        wanted = [o for o in objs if o.get("type") != "indicator" or bank is None]
        if any(o.get("type") in ("grouping", "report", "sighting", "observed-data", "indicator") for o in wanted):
            bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": wanted}
            options = ImportOptions(name=source, max_document_bytes=node.settings.max_document_bytes)
            items = STIX.read(io.BytesIO(orjson.dumps(bundle)), options)
            result = report_service.ingest_items(node, actor, items)
            done.reports, done.duplicates, done.rejected = result.accepted, result.duplicates, result.rejected_lines
    if last_added is not None:
        with node.db.write() as conn:
            store.save_cursor(conn, org_store.org_by_id(conn, org_id).id, source, last_added, node.clock.now())
    return done
