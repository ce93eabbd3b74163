"""An organisation's share rules, as one list: its banks shared into agreements' feeds (``sync.share_bank``)
and its report share rules (``sightings.share_reports``), each named by an id; and their removal
(docs/federation.md, "Removing a share").

Removing a share stops sharing; it retracts nothing. What the share put into the feed stays there (the
feed is never rewritten, and a peer's cursor counts on it), what receivers applied stays with them, and no
removal of the shared entries is appended: the entries did not become wrong, the organisation only stopped
sending. Receivers need to know when an entry *is* wrong, though, so a removed bank share still carries
the retraction of an entry it shared (``accord.services.banks``), and verdict counts on those entries still
come back from the peers that hold them. A removed report share rule stops new reports entering; reports
are immutable, so there is nothing to correct afterwards.

Through the API these are an operator admin's (``peer.manage``, as the console's ``accord peer share``),
scoped to the caller's organisation: another organisation's share is "not found". At the console they are
the operator's, audited as the node.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from accord.errors import Invalid, NotFound
from accord.model.organisation import Actor
from accord.safeguards.policy import Action
from accord.services import banks, sightings, sync
from accord.services.audit import authorize, draft, record
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import orgs as org_store
from accord.store import sync as store

__all__ = ["ShareRule", "list_shares", "share", "unshare"]


@dataclass(frozen=True)
class ShareRule:
    """A share as the API shows it: ``kind`` ``bank`` (a bank into a feed) or ``reports`` (a report rule)."""

    id: str
    kind: str
    org_id: str
    agreement_id: str
    category: str
    bank_id: str | None
    marking_max: str | None
    created_at: datetime | None


def _bank_rule(s: store.Share) -> ShareRule:
    return ShareRule(s.id, "bank", s.org_id, s.agreement_id, s.category, s.bank_id, None, s.at)


def _report_rule(r: store.ReportShare) -> ShareRule:
    return ShareRule(r.id, "reports", r.org_id, r.agreement_id, r.category, None, r.marking_max, r.at)


def list_shares(
    node: Node, actor: Actor | None, org_id: str | None = None, request_id: str | None = None
) -> list[ShareRule]:
    """The organisation's shares in force, bank shares first, then report rules: the caller's (``actor``),
    or at the console (``actor`` None) ``org_id``'s."""
    if actor is not None:
        authorize(node, actor, Action.peer_manage, request_id)
    with node.db.read() as conn:
        org = actor.org_id if actor is not None else org_store.org_by_id(conn, str(org_id)).id
        found = [_bank_rule(s) for s in store.org_shares(conn, org)]
        return found + [_report_rule(r) for r in store.report_shares(conn, org)]


def share(
    node: Node,
    actor: Actor,
    *,
    kind: str,
    agreement_id: str,
    category: str,
    bank: str | None = None,
    marking_max: str | None = None,
    request_id: str | None = None,
) -> ShareRule:
    """Share one of the caller's organisation's banks (``kind`` ``bank``, ``bank`` its name or id) or its
    reports of ``category`` (``kind`` ``reports``) into an agreement's feed, with the console's checks."""
    authorize(node, actor, Action.peer_manage, request_id)
    if kind == "bank":
        if bank is None:
            raise Invalid.at("/bank", "a bank share names the bank")
        if marking_max is not None:
            raise Invalid.at("/marking_max", "marking_max goes with a share of reports")
        bank_id = banks.resolve_local(node, actor.org_id, bank)
        return _bank_rule(sync.share_bank(node, actor, actor.org_id, bank_id, agreement_id, category, request_id))
    if bank is not None:
        raise Invalid.at("/bank", "a share of reports names no bank")
    rule = sightings.share_reports(node, actor, actor.org_id, agreement_id, category, marking_max, request_id)
    return _report_rule(rule)


def unshare(node: Node, actor: Actor | None, org_id: str, share_id: str, request_id: str | None = None) -> ShareRule:
    """Remove one of the organisation's shares: from now on no new change (bank) or report (rule) enters
    the feed through it. Audited ``sync.unshare``; an id that names no share of the organisation's in force
    is refused as not found, audited ``refused``, and changes nothing."""
    if actor is not None:
        authorize(node, actor, Action.peer_manage, request_id)
    now = node.clock.now()
    with node.db.write() as conn:
        org = org_store.org_by_id(conn, org_id).id
        bank_share = store.share_by_id(conn, org, share_id)
        report_rule = None if bank_share is not None else store.report_share_by_id(conn, org, share_id)
        if bank_share is not None:
            store.remove_share(conn, share_id, now)
            removed = _bank_rule(bank_share)
        elif report_rule is not None:
            store.remove_report_share(conn, share_id)
            removed = _report_rule(report_rule)
        if bank_share is not None or report_rule is not None:
            detail: dict[str, object] = {
                "kind": removed.kind,
                "agreement": removed.agreement_id,
                "category": removed.category,
            }
            if removed.bank_id is not None:
                detail["bank_id"] = removed.bank_id
            event = draft(
                node, actor, "sync.unshare", "share", share_id, request_id=request_id, org_id=org, detail=detail
            )
            audit_store.append(conn, [event])
            return removed
    # the id is not echoed into the trail: it may be another organisation's
    refused = draft(
        node,
        actor,
        "sync.unshare",
        request_id=request_id,
        org_id=org,
        outcome="refused",
        detail={"reason": "not-found", "status": 404},
    )
    record(node, refused)
    raise NotFound(f"no share {share_id} of this organisation")
