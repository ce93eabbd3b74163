"""/v1/sessions: people sign in with a password and a TOTP code, and sign out."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from accord.api.deps import BearerToken, CurrentActor, NodeDep, RequestId
from accord.model.session import Session, SignIn
from accord.services import sessions as service

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


class IssuedSession(BaseModel):
    session: Session
    token: str


@router.post("", status_code=201, response_model=IssuedSession)
def sign_in(body: SignIn, response: Response, node: NodeDep, rid: RequestId) -> IssuedSession:
    """Any failure is one 401 with one message: wrong id, password or code, a replayed code, or a
    locked account all look the same from outside."""
    issued = service.sign_in(node, body, rid)
    response.headers["Cache-Control"] = "no-store"
    return IssuedSession(session=issued.session, token=issued.token)


@router.delete("/current", status_code=204, response_class=Response)
def sign_out(actor: CurrentActor, token: BearerToken, node: NodeDep, rid: RequestId) -> Response:
    service.sign_out(node, actor, token, rid)
    return Response(status_code=204)
