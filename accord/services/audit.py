"""Audit: permission checks that leave a trace, auditors' queries, and chain verification."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import orjson

from accord.errors import AccordError, NotFound
from accord.model.audit import AuditEvent
from accord.model.organisation import Actor
from accord.safeguards import policy
from accord.safeguards.audit_chain import ChainBreak, verify_chain
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store.audit import AuditDraft, AuditQuery

__all__ = ["Refusal", "authorize", "draft", "export", "query", "refusals", "verify"]


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
    at: datetime | None = None,
) -> AuditDraft:
    """An event to append; ``at``: when the action was taken, if the caller read the clock for it already."""
    return AuditDraft(
        at=node.clock.now() if at is None else at,
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


class Refusal:
    """What a refused operation's audit event names. The object is set only once the operation has seen
    that it belongs to the caller's organisation: a refusal about another organisation's id (or about a
    role check made before any lookup) names no object, so no trail ever holds a foreign id."""

    def __init__(self) -> None:
        self.object_type: str | None = None
        self.object_id: str | None = None

    def object(self, object_type: str, object_id: str) -> None:
        self.object_type, self.object_id = object_type, object_id


@contextmanager
def refusals(node: Node, actor: Actor, action: str, request_id: str | None = None) -> Iterator[Refusal]:
    """Run an operation; if it raises an ``AccordError``, append one audit event with outcome ``refused``
    (``failure`` for a 5xx) and the refusal's stable reason, in a transaction of its own (the operation's
    own transaction is rolled back), then let the error go on to the caller.

    The event carries the reason code and status, never the error's sentence: a sentence may quote
    input, and the trail holds codes and counts only.
    """
    seen = Refusal()
    try:
        yield seen
    except AccordError as exc:
        visible = not isinstance(exc, NotFound)
        record(
            node,
            draft(
                node,
                actor,
                action,
                seen.object_type if visible else None,
                seen.object_id if visible else None,
                request_id=request_id,
                outcome="failure" if exc.status >= 500 else "refused",
                detail={"reason": str(getattr(exc, "reason", exc.code)), "status": exc.status},
            ),
        )
        raise


def export(
    node: Node, actor: Actor, q: AuditQuery, write: Callable[[bytes], object], request_id: str | None = None
) -> int:
    """Write the auditor's organisation's events matching ``q`` as NDJSON (one event a line, in chain order,
    exactly as ``GET /v1/audit`` shows them) through ``write``; returns how many. The export itself is
    then recorded, with its filters and count."""
    authorize(node, actor, policy.Action.audit_export, request_id)
    count, after, page = 0, None, 1000
    while True:
        with node.db.read() as conn:
            events = audit_store.query(conn, actor.org_id, q, after, page)
        for ev in events:
            write(orjson.dumps(ev.model_dump(mode="json")) + b"\n")
        count += len(events)
        if len(events) < page:
            break
        after = events[-1].seq
    # which filters, and their values except ids: an id an auditor probed may be no object of theirs
    filters = {
        k: (True if k.endswith("_id") else v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in vars(q).items()
        if v is not None
    }
    record(node, draft(node, actor, "audit.export", request_id=request_id, detail={"count": count, "filters": filters}))
    return count
