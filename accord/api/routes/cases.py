"""/v1/cases: create, read, list, change status, link reports."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.model.case import Case, CaseIn, CaseStatus, CaseUpdate, LinkReports
from accord.services import cases as service

router = APIRouter(prefix="/v1/cases", tags=["cases"])


class CasePage(BaseModel):
    items: list[Case]
    next_cursor: str | None


@router.post("", status_code=201, response_model=Case)
def create_case(body: CaseIn, response: Response, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Case:
    case = service.create(node, actor, body, rid)
    response.headers["Location"] = f"/v1/cases/{case.id}"
    return case


@router.get("", response_model=CasePage)
def list_cases(
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    status: CaseStatus | None = None,
    cursor: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=100, ge=1, le=500),
) -> CasePage:
    items, nxt = service.list_page(node, actor, status, cursor, limit, rid)
    return CasePage(items=items, next_cursor=nxt)


@router.get("/{case_id}", response_model=Case)
def read_case(case_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Case:
    return service.get(node, actor, case_id, rid)


@router.patch("/{case_id}", response_model=Case)
def update_case(case_id: str, body: CaseUpdate, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Case:
    return service.set_status(node, actor, case_id, body.status, rid)


@router.post("/{case_id}/reports", response_model=Case)
def link_reports(case_id: str, body: LinkReports, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Case:
    return service.link_reports(node, actor, case_id, list(body.report_ids), rid)
