"""Cases: create, read, list, change status along the allowed transitions, link reports."""

from __future__ import annotations

from sqlalchemy import Connection

from accord.errors import Invalid, NotFound
from accord.ids import CaseId
from accord.model.case import TRANSITIONS, Case, CaseIn, CaseStatus
from accord.model.organisation import Actor
from accord.safeguards.policy import Action
from accord.services import case_refs
from accord.services.audit import authorize, draft
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import cases as store
from accord.store import reports as report_store

__all__ = ["create", "get", "link_reports", "list_page", "set_status"]


def _check_reports(conn: Connection, actor: Actor, report_ids: list[str]) -> None:
    found = report_store.get_many(conn, actor, report_ids)
    missing = [r for r in report_ids if r not in found]
    if missing:
        # Another organisation's report is indistinguishable from a missing one.
        raise NotFound(f"no report {missing[0]}")


def create(node: Node, actor: Actor, cin: CaseIn, request_id: str | None = None) -> Case:
    authorize(node, actor, Action.case_create, request_id)
    node.vocab.jurisdictions.check(cin.jurisdiction, "/jurisdiction")
    now = node.clock.now()
    case = Case(
        id=CaseId(node.ids("case")),
        org_id=actor.org_id,
        title=cin.title,
        status=CaseStatus.open,
        jurisdiction=cin.jurisdiction,
        report_ids=[],
        created_at=now,
        updated_at=now,
    )
    with node.db.write() as conn:
        _check_reports(conn, actor, list(cin.report_ids))
        store.insert_case(conn, case)
        store.link(conn, actor, case.id, list(cin.report_ids), now)
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    actor,
                    "case.create",
                    "case",
                    case.id,
                    request_id=request_id,
                    detail={"linked": len(set(cin.report_ids))},
                )
            ],
        )
        return store.get(conn, actor, case.id)


def get(node: Node, actor: Actor, case_id: str, request_id: str | None = None) -> Case:
    authorize(node, actor, Action.case_read, request_id)
    with node.db.write() as conn:
        case = store.get(conn, actor, case_id)
        audit_store.append(conn, [draft(node, actor, "case.read", "case", case.id, request_id=request_id)])
    return case


def list_page(
    node: Node, actor: Actor, status: CaseStatus | None, cursor: str | None, limit: int, request_id: str | None = None
) -> tuple[list[Case], str | None]:
    authorize(node, actor, Action.case_read, request_id)
    limit = max(1, min(limit, node.settings.page_size_max))
    with node.db.write() as conn:
        items = store.page(conn, actor, status, cursor, limit + 1)
        more = len(items) > limit
        items = items[:limit]
        audit_store.append(
            conn,
            [draft(node, actor, "case.list", "case", request_id=request_id, detail={"ids": [c.id for c in items]})],
        )
    return items, (items[-1].id if more else None)


def set_status(node: Node, actor: Actor, case_id: str, status: CaseStatus, request_id: str | None = None) -> Case:
    authorize(node, actor, Action.case_update, request_id)
    with node.db.write() as conn:
        case = store.get(conn, actor, case_id)
        if status != case.status and status not in TRANSITIONS[case.status]:
            allowed = ", ".join(sorted(TRANSITIONS[case.status]))
            raise Invalid.at("/status", f"a {case.status.value} case can move to {allowed}, not {status.value}")
        store.set_status(conn, actor, case_id, status, node.clock.now())
        events = [
            draft(
                node,
                actor,
                "case.update",
                "case",
                case_id,
                request_id=request_id,
                detail={"from": case.status.value, "to": status.value},
            )
        ]
        if status != case.status:  # a shared case's new status reaches its feeds in this transaction
            events += case_refs.on_change(node, conn, actor.org_id, case_id, request_id, actor)
        audit_store.append(conn, events)
        return store.get(conn, actor, case_id)


def link_reports(node: Node, actor: Actor, case_id: str, report_ids: list[str], request_id: str | None = None) -> Case:
    authorize(node, actor, Action.case_update, request_id)
    with node.db.write() as conn:
        store.get(conn, actor, case_id)
        _check_reports(conn, actor, report_ids)
        added = store.link(conn, actor, case_id, report_ids, node.clock.now())
        events = [draft(node, actor, "case.link", "case", case_id, request_id=request_id, detail={"linked": added})]
        if added:  # a shared case's new number of linked reports reaches its feeds in this transaction
            events += case_refs.on_change(node, conn, actor.org_id, case_id, request_id, actor)
        audit_store.append(conn, events)
        return store.get(conn, actor, case_id)
