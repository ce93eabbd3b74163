"""Audit: permission checks that leave a trace, auditors' queries, and chain verification."""

from __future__ import annotations

from dataclasses import dataclass

from accord.model.audit import AuditEvent
from accord.model.organisation import Actor
from accord.safeguards import policy
from accord.safeguards.audit_chain import ChainBreak, verify_chain
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store.audit import AuditDraft, AuditQuery

__all__ = ["authorize", "draft", "query", "verify"]


def draft(
    node: Node,
    actor: Actor | None,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    *,
    request_id: str | None = None,
    outcome: str = "success",
    detail: dict[str, object] | None = None,
    org_id: str | None = None,
) -> AuditDraft:
    return AuditDraft(
        at=node.clock.now(),
        actor_id=actor.id if actor else None,
        org_id=actor.org_id if actor else org_id,
        action=action,
        object_type=object_type,
        object_id=(object_id or None) and object_id[:40],
        request_id=request_id,
        outcome=outcome,
        detail=dict(detail or {}),
    )


def record(node: Node, *drafts: AuditDraft) -> None:
    """Append events in their own transaction (failures, denials: nothing else is written)."""
    with node.db.write() as conn:
        audit_store.append(conn, drafts)


def authorize(node: Node, actor: Actor, action: policy.Action, request_id: str | None = None) -> None:
    """``policy.require``, with the denial recorded in the audit trail before it is raised."""
    if not policy.allowed(actor, action):
        record(node, draft(node, actor, action.value, request_id=request_id, outcome="denied"))
    policy.require(actor, action)


def query(
    node: Node, actor: Actor, q: AuditQuery, after: int | None, limit: int, request_id: str | None = None
) -> list[AuditEvent]:
    authorize(node, actor, policy.Action.audit_read, request_id)
    with node.db.write() as conn:
        events = audit_store.query(conn, actor.org_id, q, after, limit)
        audit_store.append(
            conn, [draft(node, actor, "audit.read", request_id=request_id, detail={"count": len(events)})]
        )
    return events


@dataclass(frozen=True)
class Verification:
    checked: int
    breaks: list[ChainBreak]

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify(node: Node) -> Verification:
    """Walk the whole chain. Run by the operator (CLI), so it needs no actor."""
    with node.db.read() as conn:
        checked, breaks = verify_chain(audit_store.iterate(conn))
    return Verification(checked, breaks)


def head(node: Node) -> tuple[int, str] | None:
    """(seq, hash) of the newest event: record it somewhere else to detect a truncated trail later."""
    with node.db.read() as conn:
        return audit_store.head(conn)


def contains(node: Node, seq: int, digest: str) -> bool:
    with node.db.read() as conn:
        return audit_store.hash_at(conn, seq) == digest
