"""/v1/people: an organisation admin enrols the people who sign in, releases a lockout early, disables and
enables them, and resets a lost password or authenticator."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.model.person import Person, PersonIn
from accord.services import people as service

router = APIRouter(prefix="/v1/people", tags=["people"])


class EnrolledPerson(BaseModel):
    person: Person
    password: str = Field(description="the initial password, shown this once")
    totp_uri: str = Field(description="otpauth:// URI for the person's authenticator app, shown this once")


@router.get("", response_model=list[Person])
def list_people(actor: CurrentActor, node: NodeDep, rid: RequestId) -> list[Person]:
    return service.list_people(node, actor, rid)


@router.post("", status_code=201, response_model=EnrolledPerson)
def enrol_person(
    body: PersonIn, response: Response, actor: CurrentActor, node: NodeDep, rid: RequestId
) -> EnrolledPerson:
    enrolment = service.enrol(node, actor, body, rid)
    response.headers["Cache-Control"] = "no-store"
    return EnrolledPerson(person=enrolment.person, password=enrolment.password, totp_uri=enrolment.totp_uri)


@router.post("/{actor_id}/unlock", response_model=Person)
def unlock_person(actor_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Person:
    return service.unlock(node, actor, actor_id, rid)


@router.post("/{actor_id}/disable", response_model=Person)
def disable_person(actor_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Person:
    """The person can no longer sign in, and every session of theirs ends now. Not on yourself."""
    return service.disable(node, actor, actor_id, rid)


@router.post("/{actor_id}/enable", response_model=Person)
def enable_person(actor_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Person:
    return service.enable(node, actor, actor_id, rid)


class ResetPassword(BaseModel):
    person: Person
    password: str = Field(description="the new initial password, shown this once; to be changed at next sign-in")


@router.post("/{actor_id}/password-reset", response_model=ResetPassword)
def reset_password(
    actor_id: str, response: Response, actor: CurrentActor, node: NodeDep, rid: RequestId
) -> ResetPassword:
    reset = service.reset_password(node, actor, actor_id, rid)
    response.headers["Cache-Control"] = "no-store"
    return ResetPassword(person=reset.person, password=reset.password)


class ResetTotp(BaseModel):
    person: Person
    totp_uri: str = Field(description="otpauth:// URI for the person's new authenticator, shown this once")


@router.post("/{actor_id}/totp-reset", response_model=ResetTotp)
def reset_totp(actor_id: str, response: Response, actor: CurrentActor, node: NodeDep, rid: RequestId) -> ResetTotp:
    reset = service.reset_totp(node, actor, actor_id, rid)
    response.headers["Cache-Control"] = "no-store"
    return ResetTotp(person=reset.person, totp_uri=reset.totp_uri)
