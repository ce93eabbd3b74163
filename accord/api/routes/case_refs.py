"""Case references (docs/federation.md, "Sync"): sharing one of the organisation's cases with the partners
under an agreement as a reference, stopping it, and the references received from peers."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.model.case_ref import CaseReference, CaseShare, CaseShareIn
from accord.services import case_refs as service

__all__ = ["router"]

router = APIRouter(tags=["cases"])


@router.post("/v1/cases/{case_id}/shares", status_code=201, response_model=CaseShare)
def share_case(
    case_id: str, body: CaseShareIn, response: Response, actor: CurrentActor, node: NodeDep, rid: RequestId
) -> CaseShare:
    """Share a reference to the case into the agreement's sync feed (never its title or report ids): 201, or
    200 when it is shared so already. A category or marking the agreement does not allow is refused (403,
    naming the clause) and shares nothing."""
    share, new = service.share_case(
        node, actor, actor.org_id, case_id, body.agreement_id, body.category, body.marking, rid
    )
    if not new:
        response.status_code = 200
    return share


@router.delete("/v1/cases/{case_id}/shares/{agreement_id}", response_model=CaseShare)
def unshare_case(case_id: str, agreement_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> CaseShare:
    """Stop sharing the case into the agreement's feed: the peers receive its withdrawal."""
    return service.unshare_case(node, actor, case_id, agreement_id, request_id=rid)


@router.get("/v1/federation/case-references", response_model=list[CaseReference])
def case_references(
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    withdrawn: bool = Query(default=False, description="include references their holders withdrew"),
) -> list[CaseReference]:
    """The case references peers shared with the caller's organisation (their latest versions)."""
    return service.received(node, actor, withdrawn=withdrawn, request_id=rid)
