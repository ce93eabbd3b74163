"""Warrants: recorded by investigators and supervisors, read by those who ask, approve and audit."""

from __future__ import annotations

from accord.errors import NotFound
from accord.model.organisation import Actor
from accord.model.warrant import Warrant, WarrantId, WarrantIn, WarrantScope
from accord.safeguards import policy
from accord.safeguards.policy import Action
from accord.services.audit import draft, refusals
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import reports as report_store
from accord.store import warrants as store

__all__ = ["get", "list_page", "record"]


def record(node: Node, actor: Actor, win: WarrantIn, request_id: str | None = None) -> Warrant:
    """Record a warrant. Its report ids must be the organisation's own (another organisation's report is
    a 404, as everywhere); its identifiers are kept as normalised keys, compared with reports' indexed
    identifiers when an opening is asked for."""
    with refusals(node, actor, "warrant.record", request_id):
        policy.require(actor, Action.warrant_record)
        scope = WarrantScope(
            report_ids=list(dict.fromkeys(win.scope.report_ids)),
            identifier_keys=list(dict.fromkeys(i.key for i in win.scope.identifiers)),
            fields=list(dict.fromkeys(win.scope.fields)),
        )
        warrant = Warrant(
            id=WarrantId(node.ids("wrt")),
            org_id=actor.org_id,
            issuing_authority=win.issuing_authority,
            reference=win.reference,
            scope=scope,
            valid_from=win.valid_from,
            valid_until=win.valid_until,
            document_sha256=win.document_sha256.lower(),
            recorded_by=actor.id,
            recorded_at=node.clock.now(),
        )
        with node.db.write() as conn:
            found = report_store.get_many(conn, actor, scope.report_ids)
            missing = [r for r in scope.report_ids if r not in found]
            if missing:
                raise NotFound(f"no report {missing[0]}")
            store.insert_warrant(conn, warrant)
            audit_store.append(
                conn,
                [
                    draft(
                        node,
                        actor,
                        "warrant.record",
                        "warrant",
                        warrant.id,
                        request_id=request_id,
                        detail={
                            "reports": len(scope.report_ids),
                            "identifiers": len(scope.identifier_keys),
                            "fields": scope.fields,
                        },
                    )
                ],
            )
    return warrant


def get(node: Node, actor: Actor, warrant_id: str, request_id: str | None = None) -> Warrant:
    with refusals(node, actor, "warrant.read", request_id):
        policy.require(actor, Action.warrant_read)
        with node.db.write() as conn:
            warrant = store.get(conn, actor, warrant_id)
            audit_store.append(conn, [draft(node, actor, "warrant.read", "warrant", warrant.id, request_id=request_id)])
    return warrant


def list_page(
    node: Node, actor: Actor, cursor: str | None, limit: int, request_id: str | None = None
) -> tuple[list[Warrant], str | None]:
    with refusals(node, actor, "warrant.list", request_id):
        policy.require(actor, Action.warrant_read)
        limit = max(1, min(limit, node.settings.page_size_max))
        with node.db.write() as conn:
            items = store.page(conn, actor, cursor, limit + 1)
            more = len(items) > limit
            items = items[:limit]
            audit_store.append(
                conn,
                [
                    draft(
                        node,
                        actor,
                        "warrant.list",
                        "warrant",
                        request_id=request_id,
                        detail={"ids": [w.id for w in items]},
                    )
                ],
            )
    return items, items[-1].id if more else None
