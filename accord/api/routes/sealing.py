"""/v1/custodians, /v1/warrants, /v1/unseal-requests and /v1/reports/{id}/flags: opening sealed data
under a warrant with custodians' signed approvals, emergency disclosure and its review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.model.custodian import Custodian, CustodianIn
from accord.model.unseal import (
    ApprovalIn,
    Opened,
    OpenIn,
    ReportFlag,
    ReviewIn,
    UnsealRequest,
    UnsealRequestIn,
    UnsealStatus,
)
from accord.model.warrant import Warrant, WarrantIn
from accord.services import custodians, unsealing, warrants
from accord.services.unsealing import RequestFilter

router = APIRouter(prefix="/v1", tags=["sealing"])

_NO_STORE = {"Cache-Control": "no-store"}


class WarrantPage(BaseModel):
    items: list[Warrant]
    next_cursor: str | None


class UnsealRequestPage(BaseModel):
    items: list[UnsealRequest]
    next_cursor: str | None


# ----------------------------------------------------------------------------- custodians


@router.post("/custodians", status_code=201, response_model=Custodian)
def register_custodian(body: CustodianIn, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Custodian:
    """An organisation admin registers a custodian's Ed25519 public key (the actor must hold the role)."""
    return custodians.register(node, actor, body, rid)


@router.get("/custodians", response_model=list[Custodian])
def list_custodians(actor: CurrentActor, node: NodeDep, rid: RequestId) -> list[Custodian]:
    return custodians.list_all(node, actor, rid)


@router.get("/custodians/{custodian_id}", response_model=Custodian)
def read_custodian(custodian_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Custodian:
    return custodians.get(node, actor, custodian_id, rid)


@router.delete("/custodians/{custodian_id}", response_model=Custodian)
def revoke_custodian(custodian_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Custodian:
    """Revoke a custodian key: its approvals stop counting for openings not yet made."""
    return custodians.revoke(node, actor, custodian_id, rid)


# ----------------------------------------------------------------------------- warrants


@router.post("/warrants", status_code=201, response_model=Warrant)
def record_warrant(body: WarrantIn, response: Response, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Warrant:
    """Record a warrant: authority, reference, scope, validity and the document's SHA-256 (the document
    itself is not stored)."""
    warrant = warrants.record(node, actor, body, rid)
    response.headers["Location"] = f"/v1/warrants/{warrant.id}"
    return warrant


@router.get("/warrants", response_model=WarrantPage)
def list_warrants(
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> WarrantPage:
    items, nxt = warrants.list_page(node, actor, cursor, limit, rid)
    return WarrantPage(items=items, next_cursor=nxt)


@router.get("/warrants/{warrant_id}", response_model=Warrant)
def read_warrant(warrant_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Warrant:
    return warrants.get(node, actor, warrant_id, rid)


# ----------------------------------------------------------------------------- unseal requests


@router.post("/unseal-requests", status_code=201, response_model=UnsealRequest)
def create_unseal_request(
    body: UnsealRequestIn, response: Response, actor: CurrentActor, node: NodeDep, rid: RequestId
) -> UnsealRequest:
    """Ask to open named sealed fields of one report under a warrant; custodians then approve it."""
    req = unsealing.create(node, actor, body, rid)
    response.headers["Location"] = f"/v1/unseal-requests/{req.id}"
    return req


@router.get("/unseal-requests", response_model=UnsealRequestPage)
def list_unseal_requests(
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    overdue: Annotated[
        bool, Query(description="only emergency disclosures whose review is overdue (shown escalated)")
    ] = False,
    status: UnsealStatus | None = None,
    emergency: bool | None = None,
    report_id: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> UnsealRequestPage:
    f = RequestFilter(status=status.value if status else None, report_id=report_id, emergency=emergency)
    items, nxt = unsealing.list_page(node, actor, f, cursor, limit, overdue=overdue, request_id=rid)
    return UnsealRequestPage(items=items, next_cursor=nxt)


@router.get("/unseal-requests/{request_id}", response_model=UnsealRequest)
def read_unseal_request(request_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> UnsealRequest:
    return unsealing.get(node, actor, request_id, rid)


@router.post("/unseal-requests/{request_id}/approvals", status_code=201, response_model=UnsealRequest)
def approve_unseal_request(
    request_id: str, body: ApprovalIn, actor: CurrentActor, node: NodeDep, rid: RequestId
) -> UnsealRequest:
    """A custodian's approval: an Ed25519 signature over the request's approval message
    (docs/sealing.md; ``accord seal approve`` builds and signs it)."""
    return unsealing.approve(node, actor, request_id, body, rid)


@router.post("/unseal-requests/{request_id}/open", response_model=Opened)
def open_unseal_request(
    request_id: str,
    response: Response,
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    body: OpenIn | None = None,
) -> Opened:
    """Open the requested fields, once: the answer is the only place their values ever appear."""
    opened = unsealing.open_request(node, actor, request_id, body, rid)
    response.headers.update(_NO_STORE)
    return opened


@router.post("/unseal-requests/{request_id}/review", response_model=UnsealRequest)
def review_unseal_request(
    request_id: str, body: ReviewIn, actor: CurrentActor, node: NodeDep, rid: RequestId
) -> UnsealRequest:
    """A custodian's signed review of an emergency disclosure (due within the review window)."""
    return unsealing.review(node, actor, request_id, body, rid)


@router.get("/reports/{report_id}/flags", response_model=list[ReportFlag])
def report_flags(report_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> list[ReportFlag]:
    """Emergency disclosures made from this report, with their review state."""
    return unsealing.flags(node, actor, report_id, rid)
