"""/v1/reports: submit (single, idempotent; bulk NDJSON), read, list with filters and cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.model.report import Report, ReportIn
from accord.services import reports as service
from accord.services.filters import report_filter as check_filter
from accord.services.reports import BulkResult
from accord.store.reports import ReportFilter

router = APIRouter(prefix="/v1/reports", tags=["reports"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="resending the same key with the same body returns the stored report",
    ),
]


class ReportPage(BaseModel):
    items: list[Report]
    next_cursor: str | None


class RejectedLine(BaseModel):
    line: int
    pointer: str
    message: str


class BulkOutcome(BaseModel):
    lines: int
    accepted: int
    duplicates: int
    rejected: list[RejectedLine]


@router.post("", status_code=201, response_model=Report, responses={200: {"description": "replayed: already stored"}})
def create_report(
    body: ReportIn,
    response: Response,
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    idempotency_key: IdempotencyKey = None,
) -> Report:
    sub = service.submit(node, actor, body, idempotency_key=idempotency_key, request_id=rid)
    response.headers["Location"] = f"/v1/reports/{sub.report.id}"
    if not sub.created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return sub.report


_NDJSON_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/x-ndjson": {"schema": {"type": "string", "description": "one ReportIn per line"}}},
    }
}


@router.post(":bulk", response_model=BulkOutcome, openapi_extra=_NDJSON_BODY)
async def bulk_create(request: Request, actor: CurrentActor, node: NodeDep, rid: RequestId) -> BulkOutcome:
    """NDJSON, one report per line. Lines are committed in batches as they stream in; invalid lines are
    returned with their number and field and do not stop the rest."""
    total = BulkResult()
    chunk: list[tuple[int, bytes]] = []
    number = 0
    pending = b""

    async def flush() -> None:
        part = await run_in_threadpool(service.ingest_lines, node, actor, list(chunk), request_id=rid)
        total.accepted += part.accepted
        total.duplicates += part.duplicates
        total.lines += part.lines
        total.rejected.extend(part.rejected)
        chunk.clear()

    async for piece in request.stream():
        pending += piece
        *complete, pending = pending.split(b"\n")
        for line in complete:
            number += 1
            chunk.append((number, line))
        if len(chunk) >= node.settings.bulk_batch_size:
            await flush()
    if pending.strip():
        number += 1
        chunk.append((number, pending))
    if chunk or number == 0:
        await flush()
    return BulkOutcome(
        lines=total.lines,
        accepted=total.accepted,
        duplicates=total.duplicates,
        rejected=[RejectedLine(line=r.line, pointer=r.pointer, message=r.message) for r in total.rejected],
    )


@router.get("/{report_id}", response_model=Report)
def read_report(report_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Report:
    return service.get(node, actor, report_id, rid)


def report_filter(
    node: NodeDep,
    received_after: datetime | None = None,
    received_before: datetime | None = None,
    incident_type: str | None = None,
    urgency: str | None = None,
    urgent: bool | None = None,
    source: str | None = None,
) -> ReportFilter:
    """The report filters of the query string, checked (accord.services.filters)."""
    return check_filter(
        node.vocab,
        lambda name: f"?{name}",
        received_after=received_after,
        received_before=received_before,
        incident_type=incident_type,
        urgency=urgency,
        urgent=urgent,
        source=source,
    )


ReportFilterDep = Annotated[ReportFilter, Depends(report_filter)]


@router.get("", response_model=ReportPage)
def list_reports(
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    f: ReportFilterDep,
    cursor: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=100, ge=1, le=500),
) -> ReportPage:
    page = service.list_page(node, actor, f, cursor, limit, rid)
    return ReportPage(items=page.items, next_cursor=page.next_cursor)
