"""Entity resolution over a node's store: the identifier records of the organisation's reports, and the
analysts' merge and split decisions that later runs respect (``accord.graph.resolve``)."""

from __future__ import annotations

from accord.errors import Invalid
from accord.graph.records import RecordSet, records_from_report
from accord.graph.resolve import Decision
from accord.model.organisation import Actor
from accord.safeguards.policy import Action
from accord.services.audit import authorize, draft
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import resolution as store

__all__ = ["decide", "decisions", "identity_records"]

_PAGE = 5000


def identity_records(node: Node, actor: Actor, request_id: str | None = None) -> RecordSet:
    """One record per suspect or unknown subject of every report the organisation holds."""
    authorize(node, actor, Action.report_read, request_id)
    out = RecordSet()
    after: str | None = None
    reports = 0
    with node.db.read() as conn:
        while True:
            page = store.subjects_page(conn, actor, after, _PAGE)
            for report_id, received_at, subjects in page:
                records_from_report(report_id, actor.org_id, received_at, subjects or (), out)
            reports += len(page)
            if len(page) < _PAGE:
                break
            after = page[-1][0]
    with node.db.write() as conn:
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    actor,
                    "resolution.records",
                    "report",
                    request_id=request_id,
                    detail={"reports": reports, "records": len(out.records)},
                )
            ],
        )
    return out


def decide(
    node: Node, actor: Actor, kind: str, a: str, b: str, note: str | None = None, request_id: str | None = None
) -> Decision:
    """Record an analyst's verdict that records ``a`` and ``b`` are (``merge``) or are not (``split``) one
    person. Any record id is accepted: one that no longer exists is ignored by later runs."""
    authorize(node, actor, Action.case_update, request_id)
    if kind not in ("merge", "split"):
        raise Invalid.at("/kind", f"unknown decision {kind!r}: merge or split")
    for name, rid in (("a", a), ("b", b)):
        if not rid or len(rid) > 300:
            raise Invalid.at(f"/{name}", "a record id is 1 to 300 characters")
    if a == b:
        raise Invalid.at("/b", "a decision needs two different records")
    did = node.ids("rd")
    with node.db.write() as conn:
        store.insert_decision(conn, actor, (did, kind, a, b, actor.id, node.clock.now(), note))
        audit_store.append(
            conn,
            [draft(node, actor, f"resolution.{kind}", "resolution_decision", did, request_id=request_id)],
        )
    return Decision(kind, a, b)  # type: ignore[arg-type]  # checked above


def decisions(node: Node, actor: Actor, request_id: str | None = None) -> list[Decision]:
    authorize(node, actor, Action.report_read, request_id)
    with node.db.read() as conn:
        rows = store.decisions(conn, actor)
    return [Decision(kind, a, b) for _, kind, a, b, *_ in rows]  # type: ignore[arg-type]
