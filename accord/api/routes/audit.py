"""/v1/audit: the auditor's view of their organisation's audit trail."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.errors import Invalid
from accord.model.audit import AuditEvent
from accord.services import audit as service
from accord.store.audit import AuditQuery

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class AuditPage(BaseModel):
    items: list[AuditEvent]
    next_cursor: int | None


@router.get("", response_model=AuditPage)
def query_audit(
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    actor_id: str | None = Query(default=None, max_length=40),
    action: str | None = Query(default=None, max_length=60),
    object_id: str | None = Query(default=None, max_length=40),
    since: datetime | None = None,
    until: datetime | None = None,
    after: int | None = Query(default=None, ge=0),
    limit: int = Query(default=100, ge=1, le=1000),
) -> AuditPage:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise Invalid(f"{name}: needs a time zone", {f"?{name}": "timestamp needs a time zone (Z or +hh:mm)"})
    items = service.query(node, actor, AuditQuery(actor_id, action, object_id, since, until), after, limit + 1, rid)
    more = len(items) > limit
    items = items[:limit]
    return AuditPage(items=items, next_cursor=items[-1].seq if more and items else None)
