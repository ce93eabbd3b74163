"""Cross-border requests in the sync feed (docs/federation.md, "Requests"): preservation, disclosure and urgent
disclosure from one organisation to a peer party of a signed agreement, with a status both ends see.

The requester creates a request (a draft, kept here only) and sends it: its events so far and the request
itself go into the agreement's feed as an item of kind ``request``, named by the request's id and versioned
by the number of the requester's events. The addressee's node applies it on pull (``apply``, from sync) as a
request received for the organisation it speaks for. The addressee's steps (acknowledge, answer, refuse) go
into its own feed under the same agreement, so the requester's next pull brings them back; the requester's
later steps (withdraw, extend, expire) travel the same way. Each item carries all of its side's events, so
an item skipped as older changes nothing; both ends fold the same events to the same state
(``accord.model.request.fold``). A request item goes only to the nodes of the party it concerns (the other
parties to a multi-party agreement pull past it).

Every step that travels is checked with ``check_outgoing`` toward the other party's nodes under the purpose
its kind needs (``PURPOSES``); a refusal names the clause, is audited and stores nothing. ``tick`` (run by
``accord peer sync`` rounds and ``accord request tick``) expires the requester's overdue requests and
escalates, once per deadline, those whose deadline is within ``request_warning_hours``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from accord.errors import Conflict, Invalid, NotFound
from accord.exchange.agreement import ObjectMeta, Refusal, check_outgoing
from accord.exchange.envelope import Opened, Refused
from accord.model.agreement import Agreement
from accord.model.organisation import Actor
from accord.model.request import (
    PURPOSES,
    Request,
    RequestEvent,
    RequestIn,
    RequestItem,
    TransitionIn,
    check,
    fold,
    rule,
)
from accord.safeguards.policy import Action
from accord.services.audit import authorize, draft
from accord.services.federation import refuse_send
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import case_refs as case_store
from accord.store import federation as fed_store
from accord.store import orgs as org_store
from accord.store import requests as store
from accord.store import sync as sync_store

__all__ = ["REQUEST_KIND", "Tick", "apply", "audience", "create", "get", "list_requests", "step", "tick"]

REQUEST_KIND = "request"
"""The kind of a feed item carrying a request or its status (a wire key)."""

_ACTIONS = {
    "send": Action.request_send,
    "withdraw": Action.request_send,
    "extend": Action.request_send,
    "acknowledge": Action.request_answer,
    "answer": Action.request_answer,
    "refuse": Action.request_answer,
}


def _org(node: Node, actor: Actor | None, org_id: str | None, action: Action, request_id: str | None) -> str:
    if actor is not None:
        authorize(node, actor, action, request_id)
        return actor.org_id
    if org_id is None:
        raise Invalid.at("/org", "the organisation is needed")
    return org_id


def _purpose(agreement: Agreement, kind: str) -> str:
    """The purpose a request of ``kind`` travels under: the first the agreement lists of those its kind
    allows (none listed: the first allowed, which ``check_outgoing`` then refuses with clause purposes)."""
    allowed = PURPOSES[kind]
    return next((p for p in allowed if p in agreement.purposes), allowed[0])


def _refusal(
    node: Node, agreement: Agreement, other_org: str, kind: str, marking: str, category: str
) -> Refusal | None:
    purpose = _purpose(agreement, kind)
    now = node.clock.now()
    for peer in sorted(agreement.nodes.get(other_org, [])):  # type: ignore[call-overload]
        refusal = check_outgoing(agreement, ObjectMeta(node.me.node_id, peer, purpose, marking, category, None), now)
        if refusal is not None:
            return refusal
    return None


def _deadline(node: Node, body: RequestIn, now: datetime) -> datetime:
    s = node.settings
    if body.kind == "preservation":
        least = now + timedelta(days=s.request_preservation_min_days)
        if body.deadline is None:
            return now + timedelta(days=s.request_preservation_days)
        if body.deadline < least:
            raise Invalid.at(
                "/deadline",
                f"a preservation request runs at least {s.request_preservation_min_days} days "
                "(Budapest Convention Art. 29)",
            )
        return body.deadline
    if body.kind == "urgent-disclosure":
        return body.deadline or now + timedelta(hours=s.request_urgent_hours)
    if body.deadline is None:
        raise Invalid.at("/deadline", "a disclosure request needs its due date")
    return body.deadline


def _audit(node: Node, actor: Actor | None, action: str, req: Request, request_id: str | None, **detail: object) -> Any:
    return draft(
        node,
        actor,
        action,
        "request",
        req.id,
        request_id=request_id,
        org_id=req.org_id,
        detail={"kind": req.kind, "agreement": req.agreement_id, "state": req.state, **detail},
    )


def create(
    node: Node, actor: Actor | None, body: RequestIn, org_id: str | None = None, request_id: str | None = None
) -> Request:
    """A new request of the organisation (a draft, kept here until sent) to a peer party of the agreement;
    one the agreement does not allow (purpose, category, marking) is refused naming the clause, audited,
    and stores nothing."""
    org = _org(node, actor, org_id, Action.request_send, request_id)
    now = node.clock.now()
    with node.db.write() as conn:
        org = org_store.org_by_id(conn, org).id
        agreement = fed_store.spoken_agreement(conn, body.agreement_id, node.me.node_id, org)
        if case_store.case_summary(conn, org, body.case_id) is None:
            raise NotFound(f"no case {body.case_id}")
        node.vocab.legal_bases.check(body.legal_basis, "/legal_basis")
        if body.legal_basis not in agreement.legal_bases:
            raise Invalid.at("/legal_basis", f"{body.legal_basis} is not a legal basis of {agreement.id}")
        others = [p for p in agreement.parties if p != org and agreement.nodes.get(p)]
        to_org = body.to_org or (others[0] if len(others) == 1 else None)
        if to_org is None:
            raise Invalid.at("/to_org", "name the addressee: the agreement has several other parties")
        if to_org not in others:
            raise Invalid.at("/to_org", f"{to_org} is not another party with a node under {agreement.id}")
        category = body.category or (agreement.categories[0] if agreement.categories else "")
        node.vocab.categories.check(category, "/category")
        marking = body.marking or agreement.max_marking
        node.vocab.markings.check(marking, "/marking")
        deadline = _deadline(node, body, now)
        refusal = _refusal(node, agreement, to_org, body.kind, marking, category)
        if refusal is None:
            first = RequestEvent(side="requester", n=1, transition="create", at=now)
            req = Request(
                id=node.ids("req"),
                origin_node=node.me.node_id,
                role="requester",
                org_id=org,
                peer=sorted(agreement.nodes[to_org])[0],  # type: ignore[index]
                agreement_id=agreement.id,
                kind=body.kind,
                legal_basis=body.legal_basis,
                case_id=body.case_id,
                keys=body.keys,
                reference=body.reference,
                from_org=org,
                to_org=to_org,
                category=category,
                marking=marking,
                state="draft",
                deadline=deadline,
                initial_deadline=deadline,
                answer_code=None,
                answered_at=None,
                created_at=now,
                changed_at=now,
                escalated_at=None,
                events=[first],
            )
            store.insert_request(conn, req)
            store.put_events(conn, req.origin_node, req.id, [first])
            audit_store.append(conn, [_audit(node, actor, "request.create", req, request_id, to_org=to_org)])
            return req
    refuse_send(node, actor, refusal, "request", "new", request_id, org_id=org, agreement=agreement.id, kind=body.kind)


def _item(req: Request) -> sync_store.NewFeedItem:
    """The feed item of this side's events (and, from the requester, the request itself)."""
    mine = sorted((e for e in req.events if e.side == req.role), key=lambda e: e.n)
    body: dict[str, Any] = {
        "id": req.id,
        "agreement": req.agreement_id,
        "from_org": req.from_org,
        "to_org": req.to_org,
        "side": req.role,
        "events": [e.model_dump(mode="json", exclude={"applied"}, exclude_none=True) for e in mine],
    }
    if req.role == "requester":
        body |= {
            "kind": req.kind,
            "legal_basis": req.legal_basis,
            "case_id": req.case_id,
            "keys": req.keys,
            "reference": req.reference,
            "deadline": _iso(req.initial_deadline),
            "created_at": _iso(req.created_at),
        }
    return sync_store.NewFeedItem(
        req.agreement_id, REQUEST_KIND, req.id, len(mine), req.marking, req.category, None, {"request": body}
    )


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _held(conn: Connection, org: str, request_id: str) -> Request:
    req = store.find(conn, org, request_id)
    if req is None:
        raise NotFound(f"no request {request_id}")
    return req


def _record(node: Node, conn: Connection, req: Request, event: RequestEvent) -> Request:
    """Add one of this side's events, fold again and, once sent, put this side's item into the feed."""
    store.put_events(conn, req.origin_node, req.id, [event])
    folded = fold(req.kind, req.initial_deadline, [*req.events, event])
    store.set_folded(conn, req.origin_node, req.id, folded, event.at)
    fresh = store.get(conn, req.origin_node, req.id)
    assert fresh is not None
    if fresh.state != "draft" and not (event.transition == "withdraw" and req.state == "draft"):
        sync_store.append_feed(conn, [_item(fresh)], event.at)
    return fresh


def step(
    node: Node,
    actor: Actor | None,
    request_id_: str,
    transition: str,
    body: TransitionIn | None = None,
    org_id: str | None = None,
    request_id: str | None = None,
) -> Request:
    """One step on a request the organisation holds: send, withdraw, extend (the requester's), acknowledge,
    answer, refuse (the addressee's). One not allowed from its state is a conflict naming the state (nothing
    changes); one the agreement no longer allows is refused naming the clause, audited, and changes nothing."""
    if transition not in _ACTIONS:
        raise Invalid.at("/transition", f"unknown step {transition!r} (one of {', '.join(_ACTIONS)})")
    org = _org(node, actor, org_id, _ACTIONS[transition], request_id)
    body = body or TransitionIn()
    now = node.clock.now()
    with node.db.write() as conn:
        req = _held(conn, org, request_id_)
        side, sources = rule(transition)
        if req.role != side:
            raise Conflict(f"request {req.id} is {req.state}: only the {side} may {transition} it")
        if req.state not in sources:
            raise Conflict(f"request {req.id} is {req.state}: it cannot be {transition} from that state")
        n = 1 + max((e.n for e in req.events if e.side == req.role), default=0)
        event = RequestEvent(side=req.role, n=n, transition=transition, at=now, code=body.code, deadline=body.deadline)
        why = check(req.kind, req.state, req.deadline, event)
        if why is not None:
            raise Invalid.at("/code" if "code" in why else "/deadline" if "deadline" in why else "", why)
        if (
            transition == "extend"
            and event.deadline is not None
            and event.deadline < now + timedelta(days=node.settings.request_preservation_min_days)
        ):
            raise Invalid.at("/deadline", "an extended preservation runs at least the minimum period from now")
        agreement = fed_store.spoken_agreement(conn, req.agreement_id, node.me.node_id, org)
        other = req.to_org if req.role == "requester" else req.from_org
        refusal = None
        if not (transition == "withdraw" and req.state == "draft"):
            refusal = _refusal(node, agreement, other, req.kind, req.marking, req.category)
        if refusal is None:
            done = _record(node, conn, req, event)
            detail: dict[str, object] = {"transition": transition}
            if body.code is not None:
                detail["code"] = body.code
            audit_store.append(conn, [_audit(node, actor, f"request.{transition}", done, request_id, **detail)])
            return done
    refuse_send(node, actor, refusal, "request", req.id, request_id, org_id=org, agreement=req.agreement_id)


def get(
    node: Node, actor: Actor | None, request_id_: str, org_id: str | None = None, request_id: str | None = None
) -> Request:
    org = _org(node, actor, org_id, Action.request_read, request_id)
    with node.db.write() as conn:
        req = _held(conn, org, request_id_)
        audit_store.append(conn, [_audit(node, actor, "request.read", req, request_id)])
    return req


def list_requests(
    node: Node,
    actor: Actor | None,
    org_id: str | None = None,
    *,
    role: str | None = None,
    state: str | None = None,
    request_id: str | None = None,
) -> list[Request]:
    """The organisation's requests, sent and received (or one role's, or in one state); the reading is audited."""
    org = _org(node, actor, org_id, Action.request_read, request_id)
    with node.db.write() as conn:
        org = org_store.org_by_id(conn, org).id
        found = store.list_for(conn, org, role, state)
        detail: dict[str, object] = {"requests": len(found), "role": role, "state": state}
        event = draft(node, actor, "request.list", "request", request_id=request_id, org_id=org, detail=detail)
        audit_store.append(conn, [event])
    return found


# --- expiry and escalation ---------------------------------------------------------------------------


@dataclass
class Tick:
    """What one tick did: requests expired (the requester's), and those whose deadline is near (both roles),
    with the ones escalated by this tick (audited ``request.escalate`` once per deadline)."""

    expired: list[Request] = field(default_factory=list)
    due: list[Request] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def tick(node: Node, org_id: str | None = None) -> Tick:
    """Expire the requester's requests whose deadline passed without an answer (the expiry travels to the
    addressee as a step), and list and escalate those still open whose deadline is within the warning
    window. Run by the node (``accord peer sync`` rounds, ``accord request tick``); ``org_id`` limits it."""
    now = node.clock.now()
    out = Tick()
    with node.db.read() as conn:
        near = [r for r in store.due(conn, now + timedelta(hours=node.settings.request_warning_hours))]
    for req in near:
        if org_id is not None and req.org_id != org_id:
            continue
        if req.role == "requester" and req.deadline <= now:
            with node.db.write() as conn:
                agreement = fed_store.spoken_agreement(conn, req.agreement_id, node.me.node_id, req.org_id)
                refusal = _refusal(node, agreement, req.to_org, req.kind, req.marking, req.category)
                if refusal is None:
                    n = 1 + max(e.n for e in req.events if e.side == "requester")
                    event = RequestEvent(side="requester", n=n, transition="expire", at=now)
                    done = _record(node, conn, req, event)
                    expired = _audit(node, None, "request.expire", done, None, deadline=_iso(req.deadline))
                    audit_store.append(conn, [expired])
                    out.expired.append(done)
                    continue
            out.refused.append(req.id)
            with contextlib.suppress(Refused):  # audited there; the tick goes on with the others
                refuse_send(node, None, refusal, "request", req.id, None, org_id=req.org_id, agreement=req.agreement_id)
            continue
        out.due.append(req)
        if req.escalated_at is None:
            with node.db.write() as conn:
                store.set_escalated(conn, req.origin_node, req.id, now)
                event = _audit(node, None, "request.escalate", req, None, deadline=_iso(req.deadline), role=req.role)
                audit_store.append(conn, [event])
            out.escalated.append(req.id)
    return out


# --- sync: what a request item may reach, and applying one -----------------------------------------------


def audience(body: dict[str, Any], party: str | None) -> bool:
    """Whether a request item of the feed is for the party a puller speaks for: the addressee for the
    requester's items, the requester for the addressee's."""
    item = body.get("request")
    if not isinstance(item, dict) or party is None:
        return False
    return party == (item.get("to_org") if item.get("side") == "requester" else item.get("from_org"))


def apply(
    node: Node, conn: Connection, peer: str, agreement: Agreement, org: str, items: list[Any], opened: Opened
) -> tuple[int, int]:
    """Apply request items from a peer: the requester's (a request received for the organisation, or its
    later steps) and the addressee's (its steps on a request this node sent). Only a request between the
    party the peer speaks for and the organisation, under this agreement, and of a kind its purposes
    allow; any other field refuses the batch."""
    theirs = agreement.party_of(peer)
    parsed: list[tuple[dict[str, Any], RequestItem]] = []
    for i, it in enumerate(items):
        try:
            body = RequestItem.model_validate(it.get("request"))
        except ValidationError as e:
            raise Refused("malformed", f"item {i} is not a request: {str(e)[:200]}", sender=peer) from None
        if str(it.get("id")) != body.id or body.agreement != agreement.id or it["version"] != len(body.events):
            raise Refused("malformed", f"item {i} names another request, agreement or version", sender=peer)
        sender, receiver = (body.from_org, body.to_org) if body.side == "requester" else (body.to_org, body.from_org)
        if sender != theirs or receiver != org:
            raise Refused(
                "agreement",
                f"item {i}: request {body.id} is not between {theirs} and {org}",
                clause="parties",
                sender=peer,
            )
        parsed.append((it, body))
    todo, known, skipped = sync_store.unapplied(conn, peer, [(b.id, it["version"], (it, b)) for it, b in parsed])
    now = node.clock.now()
    done: dict[str, tuple[int, str]] = {}
    events = []
    for oid, (it, body) in todo:
        origin = peer if body.side == "requester" else node.me.node_id
        held = store.get(conn, origin, oid)
        if body.side == "requester":
            assert body.kind is not None and body.deadline is not None and body.created_at is not None
            if not any(p in agreement.purposes for p in PURPOSES[body.kind]):
                raise Refused(
                    "agreement",
                    f"a {body.kind} request is not among the purposes of {agreement.id}",
                    clause="purposes",
                    sender=peer,
                )
            if held is None:
                held = Request(
                    id=body.id,
                    origin_node=peer,
                    role="addressee",
                    org_id=org,
                    peer=peer,
                    agreement_id=agreement.id,
                    kind=body.kind,
                    legal_basis=str(body.legal_basis),
                    case_id=str(body.case_id),
                    keys=list(body.keys or []),
                    reference=str(body.reference),
                    from_org=body.from_org,
                    to_org=body.to_org,
                    category=opened.category,
                    marking=str(it["marking"]),
                    state="draft",
                    deadline=body.deadline,
                    initial_deadline=body.deadline,
                    answer_code=None,
                    answered_at=None,
                    created_at=body.created_at,
                    changed_at=now,
                    escalated_at=None,
                    events=[],
                )
                store.insert_request(conn, held)
        elif held is None or held.role != "requester" or held.agreement_id != agreement.id:
            raise Refused("malformed", f"no request {oid} sent to {theirs} under {agreement.id}", sender=peer)
        assert held is not None
        store.put_events(conn, origin, oid, body.events)
        folded = fold(held.kind, held.initial_deadline, store.events(conn, origin, oid))
        store.set_folded(conn, origin, oid, folded, now)
        done[oid] = (it["version"], oid)
        detail: dict[str, object] = {
            "peer": peer,
            "agreement": agreement.id,
            "kind": held.kind,
            "side": body.side,
            "version": it["version"],
            "state": folded.state,
        }
        events.append(draft(node, None, "request.receive", "request", oid, org_id=org, detail=detail))
    sync_store.set_applied(conn, peer, [(o, v, loc) for o, (v, loc) in done.items()], known)
    if events:
        audit_store.append(conn, events)
    return len(done), skipped
