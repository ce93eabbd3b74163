"""/v1/audit: the auditor's view of their organisation's audit trail."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
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


def audit_filters(
    actor_id: str | None = Query(default=None, max_length=40),
    action: str | None = Query(default=None, max_length=60, description='exact, or a family: "unseal.*"'),
    object_id: str | None = Query(default=None, max_length=40),
    object_type: str | None = Query(default=None, max_length=40),
    outcome: str | None = Query(default=None, max_length=20, description="success, denied, refused, failure..."),
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditQuery:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise Invalid(f"{name}: needs a time zone", {f"?{name}": "timestamp needs a time zone (Z or +hh:mm)"})
    return AuditQuery(actor_id, action, object_id, since, until, outcome=outcome, object_type=object_type)


AuditFilters = Annotated[AuditQuery, Depends(audit_filters)]


@router.get("", response_model=AuditPage)
def query_audit(
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    q: AuditFilters,
    after: int | None = Query(default=None, ge=0),
    limit: int = Query(default=100, ge=1, le=1000),
) -> AuditPage:
    items = service.query(node, actor, q, after, limit + 1, rid)
    more = len(items) > limit
    items = items[:limit]
    return AuditPage(items=items, next_cursor=items[-1].seq if more and items else None)


@router.get("/export", response_class=StreamingResponse)
def export_audit(actor: CurrentActor, node: NodeDep, rid: RequestId, q: AuditFilters) -> StreamingResponse:
    """The organisation's events matching the filters as NDJSON, one event a line in chain order (the
    export is itself recorded). Same filters as ``GET /v1/audit``, no paging."""
    spool = tempfile.SpooledTemporaryFile(max_size=16 << 20)  # noqa: SIM115 - the body below closes it
    try:
        service.export(node, actor, q, spool.write, rid)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)

    def body() -> Iterator[bytes]:
        with spool:
            while chunk := spool.read(1 << 16):
                yield chunk

    return StreamingResponse(
        body(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="accord-audit.ndjson"'},
    )
