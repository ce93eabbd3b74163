"""/v1/agreements: local agreements between organisations hosted on this node (docs/federation.md, "Stored
agreements"); what ``accord agreement create|local|end`` do at the console, through the same service.

Making and ending one is an operator admin's (``agreement.manage``); an organisation reads the agreements
it is party to, and another one's id is "not found". Signed agreements with peers are
/v1/federation/agreements.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.model.agreement import LocalAgreement, LocalAgreementIn
from accord.services import agreements as service

__all__ = ["router"]

router = APIRouter(prefix="/v1/agreements", tags=["agreements"])


@router.post("", status_code=201, response_model=LocalAgreement)
def create_agreement(body: LocalAgreementIn, actor: CurrentActor, node: NodeDep, rid: RequestId) -> LocalAgreement:
    """Make an agreement between organisations of this node (at least two); its TAXII collection opens
    for the parties once it is in force. 422 names the field (a party that is no organisation here, an
    unknown code, a window that is never open)."""
    return service.create(node, actor, body, rid)


@router.get("", response_model=list[LocalAgreement])
def list_agreements(
    actor: CurrentActor,
    node: NodeDep,
    in_force: Annotated[bool, Query(description="only those valid now")] = False,
) -> list[LocalAgreement]:
    """The agreements the caller's organisation is party to (an operator admin: all), oldest first."""
    return service.list_agreements(node, actor, in_force=in_force)


@router.get("/{agreement_id}", response_model=LocalAgreement)
def get_agreement(agreement_id: str, actor: CurrentActor, node: NodeDep) -> LocalAgreement:
    """One agreement the caller's organisation is party to."""
    return service.get(node, actor, agreement_id)


@router.post("/{agreement_id}:end", response_model=LocalAgreement)
def end_agreement(agreement_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> LocalAgreement:
    """End the agreement now (its row stays: banks, retention rules and custody name it); 409 if it is
    over already."""
    return service.end(node, actor, agreement_id, rid)
