"""Sightings in the sync feed (docs/federation.md, "Sync"): an organisation's reports, shared into an
agreement's feed by a share rule, and applied by a peer as reports of its own organisation.

A share rule names an agreement, a data category (a report's category is its ``incident_type``) and the
highest marking it takes. Sharing puts the matching reports stored already into the feed, and from then on
intake appends each matching report in the transaction that stores it (``to_feeds``, called by
``accord.services.reports``), so a report is in the feed exactly when it is stored.

What an item carries is what search and matching use: source, times, category, urgency, marking,
location, the public subjects and the media. Never the sealed blob, the sealed fields' pointers, the
narrative or the transfers. Each item passes ``check_outgoing`` toward every peer party before it is
appended (and again when a peer pulls it); a report received from a peer carries the agreement it came
under, so onward sharing follows that agreement's ``onward_sharing`` clause: a refused item is not
appended, and the refusal is audited (``federation.send``, outcome ``refused``, counts per clause).

A received report is never put back into a feed toward the node it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from accord.errors import Conflict, Invalid, NotFound
from accord.exchange.agreement import ObjectMeta, check_outgoing
from accord.model.agreement import Agreement
from accord.model.organisation import Actor
from accord.services.audit import draft
from accord.services.federation import refuse_send
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import federation as fed_store
from accord.store import orgs as org_store
from accord.store import sync as store
from accord.store.audit import AuditDraft

__all__ = ["SIGHTING_KIND", "share_reports", "to_feeds"]

SIGHTING_KIND = "report.sighting"
"""The kind of a feed item carrying a report (a wire key)."""

_PAGE = 1000


def _rank(node: Node, marking: str) -> int:
    term = node.vocab.markings.terms.get(marking)
    return 1_000_000 if term is None else int(term.attrs["rank"])


def _peers(node: Node, agreement: Agreement) -> list[str]:
    return sorted({n for nodes in agreement.nodes.values() for n in nodes} - {node.me.node_id})


def _agreement(conn: Connection, agreement_id: str) -> Agreement | None:
    try:
        return fed_store.get_signed_agreement(conn, agreement_id).agreement
    except NotFound:
        return None


def _feed_items(
    node: Node, conn: Connection, rules: Sequence[store.ReportShare], found: Sequence[store.FeedReport], now: datetime
) -> tuple[list[store.NewFeedItem], dict[str, int]]:
    """The feed items of ``found`` under ``rules``, each checked toward every peer party; and the refusals
    by clause."""
    agreements: dict[str, Agreement | None] = {}

    def agreement(agreement_id: str) -> Agreement | None:
        if agreement_id not in agreements:
            agreements[agreement_id] = _agreement(conn, agreement_id)
        return agreements[agreement_id]

    items: list[store.NewFeedItem] = []
    refused: dict[str, int] = {}
    for rule in rules:
        terms = agreement(rule.agreement_id)
        if terms is None:
            continue
        peers = _peers(node, terms)
        cap = _rank(node, rule.marking_max)
        purpose = terms.purposes[0] if terms.purposes else ""
        for r in found:
            if r.incident_type != rule.category or _rank(node, r.marking) > cap:
                continue
            received = None if r.received_under is None else store.sighting_of(conn, r.id)
            if received is not None and received[0] in peers:
                continue  # it came from a party to this agreement: never echoed back
            upstream = None if r.received_under is None else agreement(r.received_under)
            if r.received_under is not None and upstream is None:
                refused["onward_sharing"] = refused.get("onward_sharing", 0) + 1
                continue
            refusal = next(
                (
                    x
                    for p in peers
                    if (
                        x := check_outgoing(
                            terms, ObjectMeta(node.me.node_id, p, purpose, r.marking, rule.category, upstream), now
                        )
                    )
                    is not None
                ),
                None,
            )
            if refusal is not None:
                refused[refusal.clause] = refused.get(refusal.clause, 0) + 1
                continue
            items.append(
                store.NewFeedItem(
                    rule.agreement_id,
                    SIGHTING_KIND,
                    r.id,
                    1,
                    r.marking,
                    rule.category,
                    r.received_under,
                    {"op": "add", "report": r.body},
                )
            )
    return items, refused


def _refusal_event(
    node: Node, actor: Actor | None, org_id: str, refused: dict[str, int], request_id: str | None
) -> AuditDraft:
    return draft(
        node,
        actor,
        "federation.send",
        "report",
        None,
        request_id=request_id,
        org_id=org_id,
        outcome="refused",
        detail={"kind": SIGHTING_KIND, "clause": sorted(refused)[0], "refused": refused},
    )


def to_feeds(
    node: Node, conn: Connection, org_id: str, report_ids: Sequence[str], at: datetime, request_id: str | None
) -> list[AuditDraft]:
    """Append the organisation's newly stored reports to the feeds its share rules put them in, in the
    caller's (intake's) transaction; the audit events of refusals, for the caller to append."""
    rules = store.report_shares(conn, org_id)
    if not rules or not report_ids:
        return []
    wanted = {r.category for r in rules}
    found = [r for r in store.feed_reports(conn, org_id, ids=report_ids) if r.incident_type in wanted]
    items, refused = _feed_items(node, conn, rules, found, at)
    store.append_feed(conn, items, at)
    return [_refusal_event(node, None, org_id, refused, request_id)] if refused else []


def share_reports(
    node: Node,
    actor: Actor | None,
    org_id: str,
    agreement_id: str,
    category: str,
    marking_max: str | None = None,
    request_id: str | None = None,
) -> store.ReportShare:
    """Share the organisation's reports of ``category`` marked at most ``marking_max`` (default: the
    agreement's maximum) into the agreement's feed: those stored now and every later one. The rule is
    checked against every peer party first; a refusal names the clause, is audited and shares nothing."""
    now = node.clock.now()
    with node.db.write() as conn:
        org = org_store.org_by_id(conn, org_id).id
        agreement = fed_store.spoken_agreement(conn, agreement_id, node.me.node_id, org)
        if category not in node.vocab.categories.terms:
            raise Invalid.at("/category", f"unknown category {category!r}")
        cap = marking_max or agreement.max_marking
        if cap not in node.vocab.markings.terms:
            raise Invalid.at("/marking_max", f"unknown marking {cap!r}")
        if any(r.category == category for r in store.report_shares(conn, org, agreement.id)):
            raise Conflict(f"reports of {category} are already shared into the feed of {agreement.id}")
        purpose = agreement.purposes[0] if agreement.purposes else ""
        refusal = None
        for peer in _peers(node, agreement):
            refusal = refusal or check_outgoing(
                agreement, ObjectMeta(node.me.node_id, peer, purpose, cap, category, None), now
            )
        if refusal is None:
            rule = store.ReportShare(agreement.id, category, org, cap, node.ids("shr"), now)
            store.add_report_share(conn, rule, now)
            appended, refused = 0, dict[str, int]()
            after: str | None = None
            while page := store.feed_reports(conn, org, categories=[category], after=after, limit=_PAGE):
                after = page[-1].id
                items, more_refused = _feed_items(node, conn, [rule], page, now)
                store.append_feed(conn, items, now)
                appended += len(items)
                for clause, n in more_refused.items():
                    refused[clause] = refused.get(clause, 0) + n
            detail: dict[str, object] = {
                "agreement": agreement.id,
                "category": category,
                "marking_max": cap,
                "reports": appended,
            }
            events = [
                draft(
                    node,
                    actor,
                    "sync.share",
                    "agreement",
                    agreement.id,
                    request_id=request_id,
                    org_id=org,
                    detail=detail,
                )
            ]
            if refused:
                events.append(_refusal_event(node, actor, org, refused, request_id))
            audit_store.append(conn, events)
            return rule
    refuse_send(node, actor, refusal, "agreement", agreement.id, request_id, org_id=org, agreement=agreement.id)
