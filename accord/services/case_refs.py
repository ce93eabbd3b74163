"""Case references in the sync feed (docs/federation.md, "Sync"): an organisation tells the partners under
an agreement that it holds a case, without sending the case's content, so that the two can be introduced.

Sharing (``share_case``) puts one of the organisation's cases into an agreement's feed as a reference: a
feed item of kind ``case.reference``, named by the case's id and versioned, carrying its id, jurisdiction,
status, lead organisation (id and name), created and updated times, the number of linked reports and the
agreement. Never the title (free text may hold sensitive content) or a report id. The share is checked with
``check_outgoing`` toward every peer party first; a refusal names the clause, is audited and shares nothing.

A status change of a shared case (``accord.services.cases.set_status``) or newly linked reports append a new
version in the transaction that makes the change (``on_change``), each checked again; ``unshare_case``
appends a version with status ``withdrawn``. Versions count per case across agreements, so a peer holding
the case under two agreements keeps the newest. A received reference is never shared on: only a case held
here can be shared, and a reference points at its holder.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from accord.errors import Conflict, Invalid, NotFound
from accord.exchange.agreement import ObjectMeta, Refusal, check_outgoing
from accord.model.agreement import Agreement
from accord.model.case_ref import WITHDRAWN, CaseReference, CaseShare
from accord.model.organisation import Actor
from accord.safeguards.policy import Action
from accord.services.audit import authorize, draft
from accord.services.federation import refuse_send
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import case_refs as store
from accord.store import federation as fed_store
from accord.store import orgs as org_store
from accord.store import sync as sync_store
from accord.store.audit import AuditDraft

__all__ = ["CASE_KIND", "on_change", "received", "share_case", "unshare_case"]

CASE_KIND = "case.reference"
"""The kind of a feed item carrying a case reference (a wire key)."""


def _refusal(node: Node, agreement: Agreement, marking: str, category: str) -> Refusal | None:
    """The first refusal of ``check_outgoing`` toward any peer party (None: every one allows it)."""
    peers = sorted({n for nodes in agreement.nodes.values() for n in nodes} - {node.me.node_id})
    purpose = agreement.purposes[0] if agreement.purposes else ""
    now = node.clock.now()
    for peer in peers:
        refusal = check_outgoing(agreement, ObjectMeta(node.me.node_id, peer, purpose, marking, category, None), now)
        if refusal is not None:
            return refusal
    return None


def _item(share: CaseShare, summary: dict[str, Any], status: str | None = None) -> sync_store.NewFeedItem:
    case = {**summary, "agreement": share.agreement_id}
    if status is not None:
        case["status"] = status
    return sync_store.NewFeedItem(
        share.agreement_id, CASE_KIND, share.case_id, share.version, share.marking, share.category, None, {"case": case}
    )


def _case(conn: Connection, org: str, case_id: str) -> dict[str, Any]:
    summary = store.case_summary(conn, org, case_id)
    if summary is None:
        raise NotFound(f"no case {case_id}")
    return summary


def share_case(
    node: Node,
    actor: Actor | None,
    org_id: str,
    case_id: str,
    agreement_id: str,
    category: str,
    marking: str | None = None,
    request_id: str | None = None,
) -> tuple[CaseShare, bool]:
    """Share one of the organisation's cases into the agreement's feed as a reference (module docstring):
    the share and whether it is new. The same share again changes nothing; a withdrawn one is shared again
    with a new version; another category or marking for a case shared already is a conflict."""
    if actor is not None:
        authorize(node, actor, Action.case_share, request_id)
        org_id = actor.org_id
    with node.db.write() as conn:
        org = org_store.org_by_id(conn, org_id).id
        summary = _case(conn, org, case_id)
        agreement = fed_store.spoken_agreement(conn, agreement_id, node.me.node_id, org)
        if category not in node.vocab.categories.terms:
            raise Invalid.at("/category", f"unknown category {category!r}")
        marking = marking or agreement.max_marking
        if marking not in node.vocab.markings.terms:
            raise Invalid.at("/marking", f"unknown marking {marking!r}")
        held = store.get_share(conn, case_id, agreement.id)
        if held is not None and held.withdrawn_at is None:
            if (held.category, held.marking) == (category, marking):
                return held, False
            raise Conflict(
                f"case {case_id} is already shared into the feed of {agreement.id} as {held.category} "
                f"marked {held.marking}"
            )
        refusal = _refusal(node, agreement, marking, category)
        if refusal is None:
            now = node.clock.now()
            share = CaseShare(
                case_id=case_id,
                agreement_id=agreement.id,
                org_id=org,
                category=category,
                marking=marking,
                version=store.last_version(conn, case_id) + 1,
                withdrawn_at=None,
                at=now,
            )
            store.put_share(conn, share)
            sync_store.append_feed(conn, [_item(share, summary)], now)
            detail: dict[str, object] = {
                "agreement": agreement.id,
                "category": category,
                "marking": marking,
                "version": share.version,
            }
            event = draft(node, actor, "sync.share", "case", case_id, request_id=request_id, org_id=org, detail=detail)
            audit_store.append(conn, [event])
            return share, True
    refuse_send(node, actor, refusal, "case", case_id, request_id, org_id=org, agreement=agreement.id)


def unshare_case(
    node: Node,
    actor: Actor | None,
    case_id: str,
    agreement_id: str,
    org_id: str | None = None,
    request_id: str | None = None,
) -> CaseShare:
    """Stop sharing a case into the agreement's feed: a last version with status ``withdrawn``, which the
    peers apply as the reference's withdrawal. Withdrawing it again changes nothing. Without an actor (the
    operator's console) the organisation is the case's own, unless ``org_id`` names it."""
    if actor is not None:
        authorize(node, actor, Action.case_share, request_id)
        org_id = actor.org_id
    with node.db.write() as conn:
        org = org_id or store.case_owner(conn, case_id)
        if org is None:
            raise NotFound(f"no case {case_id}")
        summary = _case(conn, org, case_id)
        held = store.get_share(conn, case_id, agreement_id)
        if held is None:
            raise NotFound(f"case {case_id} is not shared into the feed of {agreement_id}")
        if held.withdrawn_at is not None:
            return held
        now = node.clock.now()
        share = held.model_copy(update={"version": store.last_version(conn, case_id) + 1, "withdrawn_at": now})
        store.put_share(conn, share)
        sync_store.append_feed(conn, [_item(share, summary, WITHDRAWN)], now)
        detail: dict[str, object] = {"agreement": agreement_id, "version": share.version}
        event = draft(node, actor, "sync.unshare", "case", case_id, request_id=request_id, org_id=org, detail=detail)
        audit_store.append(conn, [event])
        return share


def on_change(
    node: Node, conn: Connection, org_id: str, case_id: str, request_id: str | None, actor: Actor | None = None
) -> list[AuditDraft]:
    """Append a new version of a shared case to each feed it is shared into, in the caller's transaction
    (its status changed, or reports were linked); each is checked again toward every peer party. The audit
    events of refusals, for the caller to append."""
    shares = store.shares_of(conn, case_id)
    if not shares:
        return []
    summary = _case(conn, org_id, case_id)
    version = store.last_version(conn, case_id) + 1
    now = node.clock.now()
    items, refused = [], dict[str, int]()
    for held in shares:
        try:
            agreement = fed_store.spoken_agreement(conn, held.agreement_id, node.me.node_id, org_id)
        except NotFound:
            refused["parties"] = refused.get("parties", 0) + 1
            continue
        refusal = _refusal(node, agreement, held.marking, held.category)
        if refusal is not None:
            refused[refusal.clause] = refused.get(refusal.clause, 0) + 1
            continue
        share = held.model_copy(update={"version": version})
        store.put_share(conn, share)
        items.append(_item(share, summary))
    sync_store.append_feed(conn, items, now)
    if not refused:
        return []
    detail: dict[str, object] = {"kind": CASE_KIND, "clause": sorted(refused)[0], "refused": refused}
    return [
        draft(
            node,
            actor,
            "federation.send",
            "case",
            case_id,
            request_id=request_id,
            org_id=org_id,
            outcome="refused",
            detail=detail,
        )
    ]


def received(
    node: Node,
    actor: Actor | None,
    org_id: str | None = None,
    *,
    withdrawn: bool = False,
    request_id: str | None = None,
) -> list[CaseReference]:
    """The case references received from peers for the organisation (the caller's; without an actor, the
    operator's console, ``org_id``), withdrawn ones too if asked; the reading is audited."""
    if actor is not None:
        authorize(node, actor, Action.case_read, request_id)
        org_id = actor.org_id
    assert org_id is not None
    with node.db.write() as conn:
        org = org_store.org_by_id(conn, org_id).id
        found = store.received_for(conn, org, withdrawn=withdrawn)
        detail: dict[str, object] = {"references": len(found), "withdrawn": withdrawn}
        event = draft(
            node, actor, "case.reference.list", "case_reference", request_id=request_id, org_id=org, detail=detail
        )
        audit_store.append(conn, [event])
    return found
