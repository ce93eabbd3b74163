"""Verdicts on recorded matches, and the flag an entry earns with too many false positives
(docs/matching.md, "Verdicts and flags").

A verdict is given by the organisation holding the match (the matched report's); a changed verdict
supersedes the current one, which is kept. After each verdict the entry's counts (across every
organisation) are checked against its bank's thresholds; an entry that passes them is flagged, once, to
the bank's owner: a flag row and a ``bank.entry.flag`` audit event in the owner's trail, holding counts
only, so the owner never learns which organisation's report was matched.
"""

from __future__ import annotations

from accord.model.organisation import Actor
from accord.model.verdict import MatchRecord, VerdictIn
from accord.safeguards.policy import Action
from accord.services.audit import authorize, draft, refusals
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import reports as report_store
from accord.store import verdicts as store

__all__ = ["FALSE_POSITIVES", "record_verdict", "report_matches"]

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
        policy = store.flag_policy(conn, match.bank_id)
        counts = store.entry_counts(conn, [match.entry_id])[match.entry_id]
        if policy.due(counts):
            flag = store.insert_flag(conn, match.bank_id, match.entry_id, FALSE_POSITIVES, counts, now)
            if flag is not None:
                drafts.append(
                    draft(
                        node,
                        None,
                        "bank.entry.flag",
                        "bank",
                        match.bank_id,
                        request_id=request_id,
                        org_id=policy.owner,
                        detail={
                            "entry_id": match.entry_id,
                            "reason": FALSE_POSITIVES,
                            "false_positives": flag.false_positives,
                            "verdicts": flag.verdicts,
                        },
                    )
                )
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
