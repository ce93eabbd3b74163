"""/v1/sessions: people sign in with a password and a TOTP code, and sign out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from accord.api.deps import BearerToken, CurrentActor, NodeDep, RequestId
from accord.model.person import PasswordChange
from accord.model.session import Session, SignIn
from accord.services import passwords
from accord.services import sessions as service

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


class IssuedSession(BaseModel):
    session: Session
    token: str


@router.post("", status_code=201, response_model=IssuedSession)
def sign_in(body: SignIn, request: Request, response: Response, node: NodeDep, rid: RequestId) -> IssuedSession:
    """Any failure is one 401 with one message: wrong id, password or code, a replayed code, or a
    locked or disabled account all look the same from outside. Too many attempts from one client address
    are 429 with ``Retry-After``, whatever they name. The address is the connection's (behind a reverse
    proxy, run uvicorn with ``--forwarded-allow-ips`` so that it is the client's)."""
    address = request.client.host if request.client else "unknown"
    issued = service.sign_in(node, body, rid, address)
    response.headers["Cache-Control"] = "no-store"
    return IssuedSession(session=issued.session, token=issued.token)


@router.delete("/current", status_code=204, response_class=Response)
def sign_out(actor: CurrentActor, token: BearerToken, node: NodeDep, rid: RequestId) -> Response:
    service.sign_out(node, actor, token, rid)
    return Response(status_code=204)


@router.post("/current/password", status_code=204, response_class=Response)
def change_password(
    body: PasswordChange, actor: CurrentActor, token: BearerToken, node: NodeDep, rid: RequestId
) -> Response:
    """The signed-in person changes their own password, proving both factors again; their other sessions
    end. A wrong password or code is 403 and counts towards the lockout like a failed sign-in."""
    passwords.change_password(node, actor, token, body, rid)
    return Response(status_code=204)
