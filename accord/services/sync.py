"""Sync: pull-based, cursor-resumable, idempotent exchange of bank entries and their retractions, sightings
(reports, ``accord.services.sightings``) and verdict counts on received entries (``accord.services.verdicts``)
between nodes (docs/federation.md, "Sync").

The sending node keeps, per agreement, a feed: the numbered, append-only sequence of changes to the banks
shared into it (``share_bank``), appended in the transaction that makes each change. A peer that is a
party to the agreement pulls it: its pull request is itself a signed envelope (opened with
``open_envelope`` like any other, nonce included), and the answer is one bounded batch, also a signed
envelope, recorded as sent (row and ``shared_out`` leaf) before it leaves. Every item in it passed
``check_outgoing`` (marking, category, purpose and, for what this node received from another, onward
sharing); a refused item is left out and the refusal audited.

The puller opens the batch, applies it, keeps the envelope verbatim with the receipt it signs (custody leaves
``shared_in`` and ``receipt``) and moves its cursor, all in one transaction, then posts the receipt back,
where the sender keeps it as a custody leaf. A receipt the sender did not take stays marked as unsent and is
sent again at the start of the next round with that peer, so both custody logs end up proving every hand-over.
A pull at the feed's end is answered with a signed ``sync.idle`` envelope that neither side keeps (nothing was
handed over: no row, leaf, receipt or audit event) and that leaves the cursor where it is. Applying is
idempotent: each object is applied under its id at the sender and the bank version that changed it, and an
item whose version is not newer than the one applied is skipped, so a batch applied twice (pulled again after
a crash) changes nothing. A peer that fails is tried again after an exponential backoff with jitter.

Received entries land in a mirror bank per (peer, origin bank), owned by the organisation this node
speaks for under the agreement, so matching uses them; each entry's ``source`` names the peer, bank and
entry it came from. A retraction retracts the mirror entry as a local retraction does (matches marked,
reviews opened). A mirror bank may itself be shared on into another agreement's feed when the agreement it
came under allows onward sharing; its changes, retractions included, then travel on down the chain.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from pydantic import ValidationError
from sqlalchemy import Connection

from accord.custody.entry import CustodyAction
from accord.errors import Conflict, Invalid, NotFound, Unavailable
from accord.exchange.agreement import ObjectMeta, check_outgoing
from accord.exchange.envelope import Opened, Refused, digest, seal, verified
from accord.exchange.receipt import RECEIPT_TYPE, receipt, verify_receipt
from accord.ids import ActorId, OrgId
from accord.intake.prepare import prepare
from accord.model.agreement import Agreement
from accord.model.bank import BankIn, EntriesIn, EntryIn
from accord.model.case_ref import CaseRefBody, CaseReference
from accord.model.organisation import Actor, ActorKind
from accord.model.report import ReportIn
from accord.services import banks, case_refs, custody, federation, requests, sightings, verdicts
from accord.services import reports as report_service
from accord.services.audit import draft
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import banks as bank_store
from accord.store import case_refs as case_store
from accord.store import federation as fed_store
from accord.store import orgs as org_store
from accord.store import peers as peer_store
from accord.store import sync as store
from accord.store import taxii as taxii_store
from accord.store.federation import EnvelopeRow
from accord.store.reports import NewReport

__all__ = [
    "BANK_KIND",
    "BATCH_TYPE",
    "FEED_PATH",
    "IDLE_TYPE",
    "PULL_TYPE",
    "RECEIPTS_PATH",
    "RESEND_PER_ROUND",
    "Pulled",
    "Served",
    "accept_receipt",
    "backoff",
    "pull",
    "serve_pull",
    "share_bank",
    "sync",
]

FEED_PATH = "/v1/federation/feed"
RECEIPTS_PATH = "/v1/federation/receipts"
PULL_TYPE = "sync.pull"
IDLE_TYPE = "sync.idle"
# receipts not yet taken that a round sends again before it pulls, at most
RESEND_PER_ROUND = 50
BANK_KIND = "bank.entry"
BATCH_TYPE = "sync.batch"
_BACKOFF_BASE_S = 5.0


def _lowest_marking(node: Node) -> str:
    terms = node.vocab.markings.terms
    return min(terms, key=lambda m: terms[m].attrs["rank"])


def _rank(node: Node, marking: str) -> int:
    """A marking's rank; an unknown marking ranks above every known one (fail closed)."""
    term = node.vocab.markings.terms.get(marking)
    return 1_000_000 if term is None else int(term.attrs["rank"])


def _peer_nodes(node: Node, agreement: Agreement) -> list[str]:
    """The other parties' nodes under the agreement."""
    return sorted({n for nodes in agreement.nodes.values() for n in nodes} - {node.me.node_id})


# --- the sending side -----------------------------------------------------------------------------


def share_bank(
    node: Node,
    actor: Actor | None,
    org_id: str,
    bank_id: str,
    agreement_id: str,
    category: str,
    request_id: str | None = None,
) -> store.Share:
    """Share one of the organisation's banks into an agreement's feed, as data of ``category``: its active
    entries now, and every later change. A mirror bank (received from a peer) may be shared on only if the
    agreement it came under allows onward sharing; a refusal names the clause, is audited and shares nothing."""
    now = node.clock.now()
    with node.db.write() as conn:
        org = org_store.org_by_id(conn, org_id).id
        agreement = fed_store.spoken_agreement(conn, agreement_id, node.me.node_id, org)
        bank = bank_store.get_owned(conn, org, bank_id, now)
        if bank.type == bank_store.VPDQ:
            raise Invalid.at("/bank", "vpdq banks are not synced (their frames do not travel in the feed)")
        if category not in node.vocab.categories.terms:
            raise Invalid.at("/category", f"unknown category {category!r}")
        if any(s.agreement_id == agreement.id and s.removed_at is None for s in store.shares_of(conn, bank.id)):
            raise Conflict(f"bank {bank.id} is already shared into the feed of {agreement.id}")
        mirror = store.mirror_of_bank(conn, bank.id)
        upstream = None if mirror is None else fed_store.get_signed_agreement(conn, mirror[2]).agreement
        purpose = agreement.purposes[0] if agreement.purposes else ""
        refusal = None
        for peer in _peer_nodes(node, agreement):
            meta = ObjectMeta(node.me.node_id, peer, purpose, bank.marking, category, upstream)
            refusal = refusal or check_outgoing(agreement, meta, now)
        if refusal is None:
            received_under = None if upstream is None else upstream.id
            share = store.Share(bank.id, agreement.id, org, category, received_under, node.ids("shr"), now)
            store.add_share(conn, share, now)
            after: int | None = None
            while page := bank_store.entries_page(conn, bank.id, after, 5000):
                after = page[-1].id
                items = [i for e in page for i in banks.feed_items(share, bank, "add", [e], e.added_in_version)]
                store.append_feed(conn, items, now)
            detail: dict[str, object] = {"agreement": agreement.id, "category": category, "bank_id": bank.id}
            event = draft(node, actor, "sync.share", "bank", bank.id, request_id=request_id, org_id=org, detail=detail)
            audit_store.append(conn, [event])
            return share
    federation.refuse_send(node, actor, refusal, "bank", bank.id, request_id, org_id=org, agreement=agreement.id)


@dataclass(frozen=True)
class Served:
    """The feed's answer: a signed batch envelope, or the refusal (with its signed refusal receipt)."""

    batch: bytes | None
    refused: Refused | None = None
    receipt: bytes | None = None


def _pull_request(opened: Opened) -> tuple[int, int]:
    obj = opened.object
    after, limit = obj.get("after"), obj.get("limit")
    if (
        obj.get("type") != PULL_TYPE
        or set(obj) != {"type", "after", "limit"}
        or not isinstance(after, int)
        or not isinstance(limit, int)
        or isinstance(after, bool)
        or isinstance(limit, bool)
        or after < 0
        or limit < 1
    ):
        raise Refused(
            "malformed", "a pull request is {type: sync.pull, after: int >= 0, limit: int >= 1}", sender=opened.sender
        )
    return after, limit


def serve_pull(node: Node, raw: bytes, request_id: str | None = None) -> Served:
    """Answer a peer's signed pull request with the next batch of the agreement's feed (module docstring)."""
    me, now = node.me, node.clock.now()
    try:
        with node.db.write() as conn:
            opened, agreements = federation.open_in(node, conn, raw)
            after, limit = _pull_request(opened)
            agreement = agreements[opened.agreement_id]
            org = agreement.party_of(me.node_id)
            assert org is not None  # open_envelope refused otherwise (parties)
            fetched = store.feed_page(conn, agreement.id, after, min(limit, node.settings.sync_batch) + 1)
            if not fetched:  # nothing new: a signed answer that hands nothing over (no row, leaf or receipt)
                idle = seal(
                    me,
                    recipient=opened.sender,
                    agreement_id=agreement.id,
                    purpose=opened.purpose,
                    marking=_lowest_marking(node),
                    category=agreement.categories[0],
                    obj={"type": IDLE_TYPE, "after": after},
                    now=now,
                )
                return Served(idle)
            batch = fetched[: min(limit, node.settings.sync_batch)]
            if batch:  # one category and one upstream agreement per envelope: cut where they change
                key = (batch[0].category, batch[0].received_under)
                batch = batch[
                    : next((i for i, it in enumerate(batch) if (it.category, it.received_under) != key), None)
                ]
            more = len(batch) < len(fetched)
            items: list[dict[str, Any]] = []
            refused: dict[str, int] = {}
            org_sender = agreement.party_of(opened.sender)
            for it in batch:
                upstream = None if it.received_under is None else agreements.get(it.received_under)
                meta = ObjectMeta(me.node_id, opened.sender, opened.purpose, it.marking, it.category, upstream)
                refusal = check_outgoing(agreement, meta, now)
                if it.kind == requests.REQUEST_KIND and not requests.audience(it.body, org_sender):
                    continue  # a request between two other parties: not this puller's to see
                if it.received_under is not None and upstream is None:
                    refused["onward_sharing"] = refused.get("onward_sharing", 0) + 1
                elif refusal is not None:
                    refused[refusal.clause] = refused.get(refusal.clause, 0) + 1
                else:
                    body = {"seq": it.seq, "kind": it.kind, "id": it.object_id, "version": it.version}
                    items.append(body | {"marking": it.marking} | it.body)
            position = batch[-1].seq if batch else after
            markings = [i["marking"] for i in items] or [_lowest_marking(node)]
            sent = seal(
                me,
                recipient=opened.sender,
                agreement_id=agreement.id,
                purpose=opened.purpose,
                marking=max(markings, key=lambda m: _rank(node, m)),
                category=batch[0].category if batch else agreement.categories[0],
                obj={"type": BATCH_TYPE, "after": after, "next": position, "more": more, "items": items},
                now=now,
                received_under=batch[0].received_under if batch and items else None,
            )
            env_id = node.ids("env")
            fed_store.insert_envelope(
                conn,
                EnvelopeRow(
                    env_id, org, "out", opened.sender, agreement.id, digest(sent), sent, None, None, None, None, now
                ),
            )
            detail = {"peer": opened.sender, "agreement": agreement.id}
            custody.record(
                node,
                conn,
                [federation.entry(CustodyAction.SHARED_OUT, me.node_id, org, now, "envelope", env_id, sent, detail)],
            )
            events = [
                draft(
                    node,
                    None,
                    "federation.send",
                    "envelope",
                    env_id,
                    request_id=request_id,
                    org_id=org,
                    detail={**detail, "envelope": digest(sent), "items": len(items), "after": after, "next": position},
                )
            ]
            if refused:
                events.append(
                    draft(
                        node,
                        None,
                        "federation.send",
                        "agreement",
                        agreement.id,
                        request_id=request_id,
                        org_id=org,
                        outcome="refused",
                        detail={**detail, "clause": sorted(refused)[0], "refused": refused},
                    )
                )
            audit_store.append(conn, events)
        return Served(sent)
    except Refused as refusal:
        federation.audit_refused(node, raw, refusal, request_id)
        return Served(None, refusal, receipt(me, refusal, raw=raw, now=now))


def accept_receipt(node: Node, raw: bytes, request_id: str | None = None) -> None:
    """Keep a peer's signed receipt for a batch this node sent (its row's receipt, a ``receipt`` custody
    leaf, ``federation.receipt``). A receipt kept already changes nothing; one that does not verify, or
    names no batch sent to its signer, is refused and stores nothing."""
    with node.db.write() as conn:
        peers = peer_store.trusted_documents(conn)
        try:
            signer, _, body = verified(raw, RECEIPT_TYPE, peers)
            row = fed_store.sent_to(conn, signer, str(body.get("envelope")))
            got = verify_receipt(raw, sent=row.raw, receiver=peers[signer])
        except Refused as e:
            raise Invalid.at("", f"not a valid receipt: {e.reason}: {e.detail}") from None
        if row.receipt is not None:
            return
        fed_store.set_receipt(conn, row.id, raw, got.verdict, got.reason, got.clause)
        at = node.clock.now()
        detail = {"peer": signer, "agreement": row.agreement_id}
        leaf = federation.entry(
            CustodyAction.RECEIPT,
            node.me.node_id,
            row.org_id,
            at,
            "receipt",
            row.id,
            raw,
            detail | {"verdict": got.verdict},
        )
        custody.record(node, conn, [leaf])
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    None,
                    "federation.receipt",
                    "envelope",
                    row.id,
                    request_id=request_id,
                    org_id=row.org_id,
                    outcome="success" if got.verdict == "accepted" else "refused",
                    detail={**detail, "verdict": got.verdict},
                )
            ],
        )


# --- the pulling side -----------------------------------------------------------------------------


@dataclass
class Pulled:
    """One (peer, agreement) pull: batches applied, items applied and skipped (already applied), the cursor
    after it, and the error that stopped it (None: the feed was read to its end)."""

    peer: str
    agreement_id: str
    batches: int = 0
    applied: int = 0
    skipped: int = 0
    position: int = 0
    error: str | None = None
    backing_off: bool = False
    retry_at: datetime | None = None
    receipts_failed: int = field(default=0)
    receipts_resent: int = field(default=0)


def backoff(failures: int, cap_s: float, rng: random.Random | None = None) -> timedelta:
    """The wait after the ``failures``-th failure in a row: 5 s doubled per failure, capped, with "equal
    jitter" (half fixed, half random) so that pullers of one peer that went down do not all return at once."""
    base = min(cap_s, _BACKOFF_BASE_S * 2 ** max(0, failures - 1))
    return timedelta(seconds=base / 2 + (rng or random).random() * base / 2)


def _apply(
    node: Node, peer: str, agreement: Agreement, position: int, raw: bytes
) -> tuple[Pulled, tuple[str, bytes] | None, bool]:
    """Open a batch, apply it, keep it and its receipt in custody (the receipt also as not yet taken by the
    sender) and move the cursor: one transaction. Returns the result, (envelope id, receipt) and whether
    more follows. A "nothing new" answer is opened (signature, agreement, nonce, freshness) and keeps
    nothing; it only clears a failure count."""
    result = Pulled(peer, agreement.id)
    with node.db.write() as conn:
        opened, agreements = federation.open_in(node, conn, raw)
        obj = opened.object
        if (
            opened.sender == peer
            and opened.agreement_id == agreement.id
            and obj.get("type") == IDLE_TYPE
            and obj.get("after") == position
            and set(obj) == {"type", "after"}
        ):
            store.clear_failures(conn, peer, agreement.id, node.clock.now())
            result.position = position
            return result, None, False
        if (
            opened.sender != peer
            or opened.agreement_id != agreement.id
            or obj.get("type") != BATCH_TYPE
            or obj.get("after") != position
            or not isinstance(obj.get("next"), int)
            or obj["next"] < position
            or not isinstance(obj.get("items"), list)
            or not isinstance(obj.get("more"), bool)
        ):
            raise Refused("malformed", f"not the batch after {position} of {agreement.id} from {peer}", sender=peer)
        org = agreement.party_of(node.me.node_id)
        assert org is not None
        result.applied, result.skipped = _apply_items(node, conn, peer, agreement, org, obj["items"], opened)
        env_id, answer = federation.store_accepted(node, conn, opened, agreements[opened.agreement_id], None)
        store.add_unsent_receipt(conn, env_id, peer, agreement.id, node.clock.now())
        result.position = obj["next"]
        store.set_cursor(conn, store.Cursor(peer, agreement.id, obj["next"], 0, None, None), node.clock.now())
    result.batches = 1
    return result, (env_id, answer), bool(obj["more"])


_SIGHTING_FIELDS = ("received_at", "incident_type", "urgency", "marking", "location", "subjects", "media")
_SYNC_ACTOR = "federation sync"


def _apply_items(
    node: Node, conn: Connection, peer: str, agreement: Agreement, org: str, items: list[Any], opened: Opened
) -> tuple[int, int]:
    kinds = (BANK_KIND, sightings.SIGHTING_KIND, verdicts.COUNTS_KIND, case_refs.CASE_KIND, requests.REQUEST_KIND)
    for i, it in enumerate(items):
        if not isinstance(it, dict) or it.get("kind") not in kinds or not isinstance(it.get("version"), int):
            raise Refused("malformed", f"item {i} is not a feed item", sender=peer)
        if _rank(node, str(it.get("marking", ""))) > _rank(node, opened.marking):
            raise Refused("agreement", f"item {i} is marked above its envelope", clause="max_marking", sender=peer)
    applied = skipped = 0
    for kind, apply in (
        (BANK_KIND, _apply_entries),
        (sightings.SIGHTING_KIND, _apply_sightings),
        (verdicts.COUNTS_KIND, _apply_counts),
        (case_refs.CASE_KIND, _apply_case_refs),
        (requests.REQUEST_KIND, requests.apply),
    ):
        mine = [it for it in items if it["kind"] == kind]
        if mine:
            a, s = apply(node, conn, peer, agreement, org, mine, opened)
            applied, skipped = applied + a, skipped + s
    return applied, skipped


def _apply_entries(
    node: Node, conn: Connection, peer: str, agreement: Agreement, org: str, items: list[Any], opened: Opened
) -> tuple[int, int]:
    for i, it in enumerate(items):
        if (
            it.get("op") not in ("add", "remove", "retract")
            or not isinstance(it.get("bank"), dict)
            or not isinstance(it.get("entry"), dict)
        ):
            raise Refused("malformed", f"item {i} is not a bank entry change", sender=peer)
        if _rank(node, it["bank"].get("marking", "")) > _rank(node, opened.marking):
            raise Refused("agreement", f"item {i} is marked above its envelope", clause="max_marking", sender=peer)
    known = store.applied_versions(conn, peer, [str(it["id"]) for it in items])
    applied = skipped = 0
    done: dict[str, tuple[int, str]] = {}
    adds: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        oid = str(it["id"])
        if it["op"] != "add":
            _flush(node, conn, peer, org, adds, done)  # an entry added earlier in this batch has its id now
        seen = done.get(oid) or known.get(oid)
        if seen is not None and seen[0] >= it["version"]:
            skipped += 1
            continue
        bank_id = _mirror(node, conn, peer, agreement, org, it["bank"], opened.category)
        if it["op"] == "add":
            adds.setdefault(bank_id, []).append(it)
            done[oid] = (it["version"], "")  # its local id once flushed
        elif seen is None or not seen[1]:
            skipped += 1  # the removal of an entry never received here (shared before this node pulled)
            done[oid] = (it["version"], "")
            continue
        else:
            reason = it.get("reason") if it["op"] == "retract" else None
            if it["op"] == "retract" and not isinstance(reason, str):
                reason = "retracted at origin"
            banks.remove_in(node, conn, org, None, bank_id, int(seen[1]), reason, None)
            done[oid] = (it["version"], seen[1])
        applied += 1
    _flush(node, conn, peer, org, adds, done)
    store.set_applied(conn, peer, [(o, v, loc) for o, (v, loc) in done.items()], set(known))
    return applied, skipped


def _sync_actor(node: Node, conn: Connection, org: str) -> Actor:
    """The organisation's service actor that received sightings are stored by (no role, no credential)."""
    found = store.service_actor(conn, org, _SYNC_ACTOR)
    actor = Actor(
        id=ActorId(found or node.ids("act")),
        org_id=OrgId(org),
        name=_SYNC_ACTOR,
        kind=ActorKind.service,
        roles=frozenset(),
    )
    if found is None:
        org_store.insert_actor(conn, actor, node.clock.now())
    return actor


def _apply_sightings(
    node: Node, conn: Connection, peer: str, agreement: Agreement, org: str, items: list[Any], opened: Opened
) -> tuple[int, int]:
    """Store each new sighting as a report of the organisation, with its provenance: custody "received"
    leaf, matching, search and feeds as any intake. Only an item of the envelope's category is taken."""
    known = store.applied_versions(conn, peer, [str(it["id"]) for it in items])
    fresh: dict[str, tuple[str, Any]] = {}  # external id -> (origin id, prepared)
    skipped = 0
    for i, it in enumerate(items):
        oid, report = str(it["id"]), it.get("report")
        if it.get("op") != "add" or not isinstance(report, dict) or not 0 < len(oid) <= 100:
            raise Refused("malformed", f"item {i} is not a sighting", sender=peer)
        if oid in known or f"{peer}/{oid}" in fresh:
            skipped += 1
            continue
        if report.get("incident_type") != opened.category:
            raise Refused("agreement", f"item {i} is not of the envelope's category", clause="categories", sender=peer)
        body = {k: report[k] for k in _SIGHTING_FIELDS if k in report}
        body |= {"external_id": f"{peer}/{oid}", "source": "partner"}
        try:
            fresh[f"{peer}/{oid}"] = (oid, prepare(ReportIn.model_validate(body), node.vocab))
        except (ValidationError, Invalid) as e:
            raise Refused("malformed", f"item {i} is not a valid report: {str(e)[:200]}", sender=peer) from None
    if not fresh:
        return 0, skipped
    actor = _sync_actor(node, conn, org)
    now = node.clock.now()

    def provenance(stamped: list[NewReport]) -> None:
        rows = [(str(r.id), org, peer, fresh[str(r.flat.external_id)][0], agreement.id) for r in stamped]
        store.insert_sightings(conn, rows, now)

    stored = report_service.store_received(node, conn, actor, [p for _, p in fresh.values()], provenance)
    taxii_store.publish(conn, org, list(stored.values()), agreement.id)  # held under it: its retention applies
    store.set_applied(conn, peer, [(oid, 1, stored[ext]) for ext, (oid, _) in fresh.items()], set())
    return len(fresh), skipped


_COUNTS = ("confirmed", "false_positive", "not_actionable")


def _apply_counts(
    node: Node, conn: Connection, peer: str, agreement: Agreement, org: str, items: list[Any], opened: Opened
) -> tuple[int, int]:
    """Keep a peer's verdict counts on entries of this node's banks shared with it under the agreement, and
    flag an entry whose counts, the peer's added, pass its bank's thresholds. Counts on an entry not shared
    with that peer are ignored (skipped)."""
    for i, it in enumerate(items):
        if (
            not isinstance(it.get("bank_id"), str)
            or not isinstance(it.get("entry_id"), int)
            or not all(isinstance(it.get(k), int) and it[k] >= 0 for k in _COUNTS)
        ):
            raise Refused("malformed", f"item {i} is not a verdict count", sender=peer)
    todo, known, skipped = store.unapplied(conn, peer, [(str(it["id"]), it["version"], it) for it in items])
    now = node.clock.now()
    applied = 0
    done: dict[str, tuple[int, str]] = {}
    events = []
    for oid, it in todo:
        bank_id, entry_id = it["bank_id"], it["entry_id"]
        shared = any(s.agreement_id == agreement.id and s.org_id == org for s in store.shares_of(conn, bank_id))
        try:
            bank_store.entry(conn, bank_id, entry_id) if shared else None
        except NotFound:
            shared = False
        if not shared:
            skipped += 1
            continue
        confirmed, fp, na = (int(it[k]) for k in _COUNTS)
        counts = store.RemoteCounts(peer, entry_id, bank_id, confirmed, fp, na, it["version"])
        store.set_remote_counts(conn, counts, now)
        done[oid] = (it["version"], str(entry_id))
        events += verdicts.flag_if_due(node, conn, bank_id, entry_id, now, None)
        verdicts.counts_to_origin(node, conn, bank_id, entry_id, now)  # a mirror shared on: on up the chain
        applied += 1
    store.set_applied(conn, peer, [(o, v, loc) for o, (v, loc) in done.items()], known)
    if events:
        audit_store.append(conn, events)
    return applied, skipped


def _apply_case_refs(
    node: Node, conn: Connection, peer: str, agreement: Agreement, org: str, items: list[Any], opened: Opened
) -> tuple[int, int]:
    """Keep the latest version of each case reference for the organisation (``sync_case_refs``); a version
    with status ``withdrawn`` withdraws it. Only the fields of a reference are taken (any other, a title
    say, refuses the batch), and only a case whose lead organisation is the party its sender speaks for."""
    bodies: list[CaseRefBody] = []
    for i, it in enumerate(items):
        try:
            body = CaseRefBody.model_validate(it.get("case"))
        except ValidationError as e:
            raise Refused("malformed", f"item {i} is not a case reference: {str(e)[:200]}", sender=peer) from None
        if str(it.get("id")) != body.id or body.agreement != agreement.id:
            raise Refused("malformed", f"item {i} names another case or agreement than its reference", sender=peer)
        if agreement.party_of(peer) != body.lead_org_id:
            raise Refused(
                "agreement",
                f"item {i}: case {body.id} is not led by the party its sender speaks for",
                clause="parties",
                sender=peer,
            )
        bodies.append(body)
    batch = [(b.id, it["version"], (it, b)) for it, b in zip(items, bodies, strict=True)]
    todo, known, skipped = store.unapplied(conn, peer, batch)
    held = case_store.received(conn, peer, [oid for oid, _ in todo])
    now = node.clock.now()
    done: dict[str, tuple[int, str]] = {}
    events = []
    for oid, (it, body) in todo:
        ref = CaseReference(
            peer=peer,
            origin_case=oid,
            org_id=org,
            agreement_id=agreement.id,
            category=opened.category,
            marking=str(it["marking"]),
            version=it["version"],
            status=body.status,
            jurisdiction=body.jurisdiction,
            lead_org_id=body.lead_org_id,
            lead_org_name=body.lead_org_name,
            linked_reports=body.linked_reports,
            created_at=body.created_at,
            updated_at=body.updated_at,
            received_at=now,
            changed_at=now,
        )
        case_store.put_received(conn, ref, oid in held)
        done[oid] = (it["version"], oid)
        detail = {"peer": peer, "agreement": agreement.id, "version": it["version"], "status": body.status}
        events.append(draft(node, None, "case.reference.receive", "case_reference", oid, org_id=org, detail=detail))
    store.set_applied(conn, peer, [(o, v, loc) for o, (v, loc) in done.items()], known)
    if events:
        audit_store.append(conn, events)
    return len(done), skipped


def _flush(
    node: Node,
    conn: Connection,
    peer: str,
    org: str,
    adds: dict[str, list[dict[str, Any]]],
    done: dict[str, tuple[int, str]],
) -> None:
    """Add the pending entries, one call per mirror bank (one version bump per batch, not per entry)."""
    for bank_id, items in adds.items():
        body = EntriesIn(
            entries=[EntryIn(value=str(it["entry"]["value"]), source=f"{peer}/{it['id']}"[:200]) for it in items]
        )
        try:
            banks.add_in(node, conn, org, None, bank_id, body, None)
        except Invalid as e:
            raise Refused("malformed", f"an entry does not fit its bank: {e.detail} {e.errors}", sender=peer) from None
        ids = bank_store.active_ids(conn, bank_id, [x.value for x in body.entries])
        for it, x in zip(items, body.entries, strict=True):
            done[str(it["id"])] = (it["version"], str(ids.get(x.value, "")))
    adds.clear()


def _mirror(
    node: Node, conn: Connection, peer: str, agreement: Agreement, org: str, head: dict[str, Any], category: str
) -> str:
    """The local mirror of a peer's bank, created with the first entry it brings."""
    origin = str(head.get("id"))
    found = store.mirror_bank(conn, peer, origin)
    if found is not None:
        return found
    try:
        body = BankIn(
            name=f"{str(head.get('name'))[:100]} ({origin} from {peer})"[:200].replace("/", "-"),
            type=str(head.get("type")),
            threshold=head.get("threshold"),
            marking=str(head.get("marking")),
        )
        bank = banks.create_in(node, conn, org, None, body, None)
    except (Invalid, ValueError) as e:
        raise Refused("malformed", f"bank {origin} cannot be mirrored here: {e}", sender=peer) from None
    store.insert_mirror(conn, peer, origin, agreement.id, bank.id, category)
    return bank.id


async def pull(node: Node, peer: str, agreement: Agreement, *, force: bool = False) -> Pulled:
    """Pull one peer's feed under one agreement from the stored cursor to its end (module docstring), after
    sending again the receipts the peer has not taken yet."""
    with node.db.read() as conn:
        cur = store.cursor(conn, peer, agreement.id)
        target = peer_store.get_peer(conn, peer)
    total = Pulled(peer, agreement.id, position=cur.position)
    now = node.clock.now()
    if not force and cur.next_attempt_at is not None and cur.next_attempt_at > now:
        total.backing_off, total.retry_at = True, cur.next_attempt_at
        return total
    stuck = await _resend_receipts(node, target.base_url, peer, agreement.id, total)
    if stuck is not None:
        return _failed(node, total, cur.failures, stuck)
    taken: list[str] = []  # envelope ids whose receipt the peer took, dropped from the unsent in one write
    try:
        while True:
            request = seal(
                node.me,
                recipient=peer,
                agreement_id=agreement.id,
                purpose=agreement.purposes[0],
                marking=_lowest_marking(node),
                category=agreement.categories[0],
                obj={"type": PULL_TYPE, "after": total.position, "limit": node.settings.sync_batch},
                now=node.clock.now(),
            )
            try:
                r = await federation.post_signed(node, target.base_url + FEED_PATH, request)
                if r.status_code != 200:
                    raise Unavailable(f"peer {peer} answered {r.status_code}: {_problem(r)}")
                step, kept, more = await asyncio.to_thread(_apply, node, peer, agreement, total.position, r.content)
            except Refused as refused:
                federation.audit_refused(node, r.content, refused, None)
                rr = await _send_receipt(
                    node, target.base_url, receipt(node.me, refused, raw=r.content, now=node.clock.now())
                )
                total.receipts_failed += 0 if rr == 204 else 1
                return _failed(node, total, cur.failures, f"batch refused: {refused.reason}: {refused.detail}")
            except Unavailable as e:
                return _failed(node, total, cur.failures, e.detail)
            if kept is None:  # nothing new: no hand-over, the cursor stays
                return total
            total.batches += 1
            total.applied += step.applied
            total.skipped += step.skipped
            total.position = step.position
            cur = store.Cursor(peer, agreement.id, step.position, 0, None, None)
            if await _send_receipt(node, target.base_url, kept[1]) == 204:
                taken.append(kept[0])
            else:
                total.receipts_failed += 1
            if not more:
                return total
    finally:
        if taken:
            with node.db.write() as conn:
                store.drop_unsent_receipts(conn, taken)


def _problem(r: httpx.Response) -> str:
    try:
        body = orjson.loads(r.content)
        return f"{body.get('reason') or body.get('title')}: {body.get('detail')}"[:200]
    except (orjson.JSONDecodeError, AttributeError):
        return r.text[:200]


async def _send_receipt(node: Node, base_url: str, answer: bytes) -> int | None:
    """Post a receipt back: the status the sender answered (204: taken), None if it did not answer. A
    receipt not taken stays on its row and among the unsent, and is sent again next round."""
    try:
        r = await federation.post_signed(node, base_url + RECEIPTS_PATH, answer)
    except Unavailable:
        return None
    return r.status_code


async def _resend_receipts(node: Node, base_url: str, peer: str, agreement_id: str, total: Pulled) -> str | None:
    """Send again (oldest first, at most ``RESEND_PER_ROUND``) the receipts for batches pulled from the peer
    that it has not taken. Taken (204): dropped from the unsent. Refused for good (another 4xx than 429:
    the peer no longer holds the batch, or the receipt does not verify there): dropped and audited
    ``sync.receipt`` refused, so one receipt cannot hold up the others. The peer not answering, or
    answering 429 or 5xx: the round stops here, and the reason is returned (the round fails and backs
    off as a failed pull does)."""
    with node.db.read() as conn:
        unsent = store.unsent_receipts(conn, peer, agreement_id, RESEND_PER_ROUND)
    done: list[str] = []
    refused: list[tuple[str, int]] = []
    why = None
    for env_id, answer in unsent:
        status = await _send_receipt(node, base_url, answer)
        if status == 204:
            done.append(env_id)
        elif status is not None and 400 <= status < 500 and status != 429:
            refused.append((env_id, status))
        else:
            why = f"peer {peer} did not take a receipt sent again" + ("" if status is None else f" ({status})")
            break
    if done or refused:
        with node.db.write() as conn:
            store.drop_unsent_receipts(conn, done + [e for e, _ in refused])
            if refused:
                org = org_store.operator_org_id(conn)
                events = [
                    draft(
                        node,
                        None,
                        "sync.receipt",
                        "envelope",
                        env_id,
                        org_id=org,
                        outcome="refused",
                        detail={"peer": peer, "agreement": agreement_id, "status": status},
                    )
                    for env_id, status in refused
                ]
                audit_store.append(conn, events)
    total.receipts_resent += len(done)
    return why


def _failed(node: Node, total: Pulled, failures: int, why: str) -> Pulled:
    now = node.clock.now()
    wait = backoff(failures + 1, node.settings.sync_backoff_max_s)
    with node.db.write() as conn:
        store.set_cursor(
            conn, store.Cursor(total.peer, total.agreement_id, total.position, failures + 1, now + wait, why[:300]), now
        )
        org = org_store.operator_org_id(conn)
        detail = {"peer": total.peer, "agreement": total.agreement_id, "detail": why[:300], "failures": failures + 1}
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    None,
                    "sync.pull",
                    "agreement",
                    total.agreement_id,
                    org_id=org,
                    outcome="failed",
                    detail=detail,
                )
            ],
        )
    total.error, total.retry_at = why, now + wait
    return total


async def sync(node: Node, *, peer: str | None = None, force: bool = False) -> list[Pulled]:
    """Pull every (trusted peer, agreement) this node is party to (or one peer's), each from its cursor."""
    with node.db.read() as conn:
        trusted = set(peer_store.trusted_documents(conn))
        agreements = [s.agreement for s in fed_store.list_signed_agreements(conn)]
    if peer is not None and peer not in trusted:
        raise NotFound(f"no trusted peer {peer}")
    now = node.clock.now()
    pairs = [
        (p, a)
        for a in agreements
        if a.party_of(node.me.node_id) is not None
        and a.valid_from <= now
        and (a.valid_until is None or now <= a.valid_until)
        for p in _peer_nodes(node, a)
        if p in trusted and (peer is None or p == peer)
    ]
    return [await pull(node, p, a, force=force) for p, a in pairs]
