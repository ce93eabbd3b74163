"""Verdicts on recorded matches, and the flag an entry earns with too many false positives
(docs/matching.md, "Verdicts and flags").

A verdict is given by the organisation holding the match (the matched report's); a changed verdict
supersedes the current one, which is kept. After each verdict the entry's counts (across every
organisation) are checked against its bank's thresholds; an entry that passes them is flagged, once, to
the bank's owner: a flag row and a ``bank.entry.flag`` audit event in the owner's trail, holding counts
only, so the owner never learns which organisation's report was matched.

An entry of a mirror bank (received from a peer by sync) came from another node's bank: each verdict on it
appends the entry's counts to this node's feed toward that peer (``counts_to_origin``), so the origin can
add them to its own and flag the entry there. Counts only: no report id, no organisation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from accord.errors import NotFound
from accord.model.organisation import Actor
from accord.model.verdict import MatchRecord, VerdictIn
from accord.safeguards.policy import Action
from accord.services.audit import authorize, draft, refusals
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import federation as fed_store
from accord.store import reports as report_store
from accord.store import sync as sync_store
from accord.store import verdicts as store
from accord.store.audit import AuditDraft

__all__ = ["COUNTS_KIND", "FALSE_POSITIVES", "counts_to_origin", "flag_if_due", "record_verdict", "report_matches"]

COUNTS_KIND = "verdict.counts"
"""The kind of a feed item carrying a mirror entry's verdict counts back to its origin (a wire key)."""

FALSE_POSITIVES = "false_positives"
"""The reason an entry is flagged for (a flag's storage key)."""


def record_verdict(
    node: Node, actor: Actor, match_id: int, body: VerdictIn, request_id: str | None = None
) -> MatchRecord:
    """Record the caller's organisation's verdict on one of its matches; the same verdict and note again
    changes nothing (no new history row)."""
    authorize(node, actor, Action.match_verdict, request_id)
    with refusals(node, actor, "match.verdict", request_id), node.db.write() as conn:
        match = store.record(conn, actor.org_id, match_id)
        current = match.verdict
        if current is not None and (current.verdict, current.note) == (body.verdict, body.note):
            return match
        now = node.clock.now()
        store.set_verdict(conn, match, body.verdict, body.note, actor.id, now)
        drafts = [
            draft(
                node,
                actor,
                "match.verdict",
                "match",
                str(match.id),
                request_id=request_id,
                detail={
                    "verdict": body.verdict.value,
                    "previous": current.verdict.value if current else None,
                    "bank_id": match.bank_id,
                    "entry_id": match.entry_id,
                },
            )
        ]
        drafts += flag_if_due(node, conn, match.bank_id, match.entry_id, now, request_id)
        counts_to_origin(node, conn, match.bank_id, match.entry_id, now)
        audit_store.append(conn, drafts)
        return store.record(conn, actor.org_id, match_id)


def report_matches(node: Node, actor: Actor, report_id: str, request_id: str | None = None) -> list[MatchRecord]:
    """The recorded matches of one of the organisation's reports, with their verdicts."""
    authorize(node, actor, Action.report_read, request_id)
    with refusals(node, actor, "report.matches", request_id), node.db.write() as conn:
        report_store.get(conn, actor, report_id)  # another organisation's is a 404, a purged one a 410
        found = store.of_report(conn, actor.org_id, report_id)
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    actor,
                    "report.matches",
                    "report",
                    report_id,
                    request_id=request_id,
                    detail={"matches": len(found)},
                )
            ],
        )
    return found


def flag_if_due(
    node: Node, conn: Connection, bank_id: str, entry_id: int, now: datetime, request_id: str | None
) -> list[AuditDraft]:
    """Flag the entry to its bank's owner if its counts (remote ones included) pass the bank's thresholds,
    once; the ``bank.entry.flag`` event to append, if it was flagged now."""
    policy = store.flag_policy(conn, bank_id)
    counts = store.entry_counts(conn, [entry_id])[entry_id]
    if not policy.due(counts):
        return []
    flag = store.insert_flag(conn, bank_id, entry_id, FALSE_POSITIVES, counts, now)
    if flag is None:
        return []
    return [
        draft(
            node,
            None,
            "bank.entry.flag",
            "bank",
            bank_id,
            request_id=request_id,
            org_id=policy.owner,
            detail={
                "entry_id": entry_id,
                "reason": FALSE_POSITIVES,
                "false_positives": flag.false_positives,
                "verdicts": flag.verdicts,
            },
        )
    ]


def counts_to_origin(node: Node, conn: Connection, bank_id: str, entry_id: int, now: datetime) -> bool:
    """If the bank mirrors a peer's, append the entry's current counts to the feed of the agreement it came
    under, as the peer's bank and entry ids: the item the origin pulls. False for a bank of this node's own
    (or an entry whose origin is not known)."""
    mirror = sync_store.mirror_of_bank(conn, bank_id)
    if mirror is None:
        return False
    peer, origin_bank, agreement_id = mirror
    found = sync_store.entry_source(conn, entry_id)
    prefix = f"{peer}/{origin_bank}/"
    if found is None or not found[0].startswith(prefix):
        return False
    source, marking = found
    origin_entry = source[len(prefix) :]
    if not origin_entry.isdigit():
        return False
    counts = store.entry_counts(conn, [entry_id])[entry_id]
    object_id = f"verdicts/{origin_bank}/{origin_entry}"
    try:
        agreement = fed_store.get_signed_agreement(conn, agreement_id).agreement
    except NotFound:
        return False
    category = sync_store.mirror_category(conn, bank_id) or (agreement.categories or ["other"])[0]
    item = sync_store.NewFeedItem(
        agreement_id,
        COUNTS_KIND,
        object_id,
        sync_store.last_version(conn, agreement_id, object_id) + 1,
        marking,
        category,
        None,
        {
            "bank_id": origin_bank,
            "entry_id": int(origin_entry),
            "confirmed": counts.confirmed,
            "false_positive": counts.false_positive,
            "not_actionable": counts.not_actionable,
        },
    )
    sync_store.append_feed(conn, [item], now)
    return True
