"""/v1/organisations and /v1/credentials: hosted organisations and their API keys."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.errors import Invalid
from accord.model.organisation import Credential, CredentialIn, Organisation, OrganisationIn
from accord.services import admin as service

router = APIRouter(prefix="/v1", tags=["administration"])


class NewOrganisation(BaseModel):
    model_config = {"extra": "forbid"}
    organisation: OrganisationIn
    admin: CredentialIn | None = None


class IssuedCredential(BaseModel):
    credential: Credential
    token: str


class CreatedOrganisation(BaseModel):
    organisation: Organisation
    admin: IssuedCredential | None


@router.get("/organisations", response_model=list[Organisation])
def list_organisations(actor: CurrentActor, node: NodeDep, rid: RequestId) -> list[Organisation]:
    return service.list_orgs(node, actor, rid)


@router.post("/organisations", status_code=201, response_model=CreatedOrganisation)
def create_organisation(
    body: NewOrganisation, actor: CurrentActor, node: NodeDep, rid: RequestId
) -> CreatedOrganisation:
    try:
        org, issued = service.create_org(node, actor, body.organisation, body.admin, rid)
    except Invalid as exc:
        raise exc.within("/organisation") from None
    admin = IssuedCredential(credential=issued.credential, token=issued.token) if issued else None
    return CreatedOrganisation(organisation=org, admin=admin)


@router.get("/organisations/{org_id}", response_model=Organisation)
def read_organisation(org_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Organisation:
    return service.get_org(node, actor, org_id, rid)


@router.get("/credentials", response_model=list[Credential])
def list_credentials(actor: CurrentActor, node: NodeDep, rid: RequestId) -> list[Credential]:
    return service.list_credentials(node, actor, rid)


@router.post("/credentials", status_code=201, response_model=IssuedCredential)
def create_credential(
    body: CredentialIn, response: Response, actor: CurrentActor, node: NodeDep, rid: RequestId
) -> IssuedCredential:
    issued = service.create_credential(node, actor, body, rid)
    response.headers["Cache-Control"] = "no-store"
    return IssuedCredential(credential=issued.credential, token=issued.token)


@router.delete("/credentials/{key_id}", response_model=Credential)
def revoke_credential(key_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Credential:
    return service.revoke_credential(node, actor, key_id, rid)
