"""Reviews a retraction leaves: the organisation's reports (and cases citing them) that a now-retracted
bank entry matched, to be looked at again and marked resolved (docs/matching.md, "Retraction")."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from accord.model.organisation import Actor
from accord.model.review import Review
from accord.safeguards.policy import Action
from accord.services.audit import authorize, draft, refusals
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import orgs as org_store
from accord.store import reviews as store

__all__ = ["ReviewPage", "list_local", "list_reviews", "resolve", "resolve_local"]


@dataclass(frozen=True)
class ReviewPage:
    items: list[Review]
    next_cursor: str | None


def _page(conn: Connection, org_id: str, open_only: bool, after: str | None, limit: int) -> ReviewPage:
    items = store.page(conn, org_id, open_only=open_only, after=after, limit=limit + 1)
    more = len(items) > limit
    items = items[:limit]
    return ReviewPage(items, items[-1].id if more else None)


def list_reviews(
    node: Node,
    actor: Actor,
    *,
    open_only: bool = True,
    after: str | None = None,
    limit: int = 100,
    request_id: str | None = None,
) -> ReviewPage:
    authorize(node, actor, Action.review_read, request_id)
    limit = max(1, min(limit, node.settings.page_size_max))
    with node.db.write() as conn:
        found = _page(conn, actor.org_id, open_only, after, limit)
        audit_store.append(
            conn, [draft(node, actor, "review.list", request_id=request_id, detail={"count": len(found.items)})]
        )
    return found


def list_local(node: Node, org_id: str, *, open_only: bool = True) -> list[Review]:
    """Every review of the organisation (``accord review list``)."""
    out: list[Review] = []
    after: str | None = None
    with node.db.read() as conn:
        org = org_store.org_by_id(conn, org_id).id
        while True:
            page = _page(conn, org, open_only, after, 1000)
            out += page.items
            if page.next_cursor is None:
                return out
            after = page.next_cursor


def _resolve(node: Node, org_id: str, actor: Actor | None, review_id: str, request_id: str | None) -> Review:
    with node.db.write() as conn:
        before = store.get(conn, org_id, review_id)
        done = store.resolve(conn, org_id, review_id, actor.id if actor else None, node.clock.now())
        if before.resolved_at is None:
            audit_store.append(
                conn,
                [
                    draft(
                        node,
                        actor,
                        "review.resolve",
                        "review",
                        review_id,
                        request_id=request_id,
                        org_id=org_id,
                        detail={"object_type": done.object_type, "object_id": done.object_id},
                    )
                ],
            )
    return done


def resolve(node: Node, actor: Actor, review_id: str, request_id: str | None = None) -> Review:
    """Mark one of the organisation's reviews done; resolving it again changes nothing."""
    authorize(node, actor, Action.review_resolve, request_id)
    with refusals(node, actor, "review.resolve", request_id):
        return _resolve(node, actor.org_id, actor, review_id, request_id)


def resolve_local(node: Node, org_id: str, review_id: str) -> Review:
    with node.db.read() as conn:
        org = org_store.org_by_id(conn, org_id).id
    return _resolve(node, org, None, review_id, None)
