"""Per-request plumbing: the node, the authenticated actor and the request id."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from accord.model.organisation import Actor
from accord.services import admin
from accord.services.node import Node

__all__ = ["CurrentActor", "RequestId", "get_node"]

_bearer = HTTPBearer(auto_error=False, description="API key: accord_key_<id>_<secret>")


def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def request_id(request: Request) -> str:
    rid: str = request.state.request_id
    return rid


def current_actor(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    return admin.authenticate(get_node(request), creds.credentials if creds else None, request.state.request_id)


CurrentActor = Annotated[Actor, Depends(current_actor)]
RequestId = Annotated[str, Depends(request_id)]
NodeDep = Annotated[Node, Depends(get_node)]


def bearer_token(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str | None:
    """The raw bearer token, for the one route that acts on the credential itself (sign-out)."""
    return creds.credentials if creds else None


BearerToken = Annotated[str | None, Depends(bearer_token)]
