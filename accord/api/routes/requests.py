"""Cross-border requests (docs/federation.md, "Requests"): preservation, disclosure and urgent disclosure to a
peer party of an agreement, and the steps on them that both ends see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Body, Query

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.model.request import Request, RequestIn, RequestState, Side, TransitionIn
from accord.services import requests as service

__all__ = ["router"]

router = APIRouter(prefix="/v1/requests", tags=["requests"])


@router.post("", status_code=201, response_model=Request)
def create_request(body: RequestIn, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Request:
    """A new request (a draft until sent) under an agreement whose purposes allow its kind; one the agreement
    does not allow is refused (403, naming the clause), audited, and stores nothing."""
    return service.create(node, actor, body, request_id=rid)


@router.get("", response_model=list[Request])
def list_requests(
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    role: Annotated[Side | None, Query(description="requester: sent; addressee: received")] = None,
    state: Annotated[RequestState | None, Query()] = None,
) -> list[Request]:
    """The organisation's requests, sent and received."""
    return service.list_requests(node, actor, role=role, state=state, request_id=rid)


@router.get("/{req_id}", response_model=Request)
def read_request(req_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Request:
    """One request with its history (each event marked applied or not)."""
    return service.get(node, actor, req_id, request_id=rid)


def _step(transition: str) -> Callable[..., Request]:
    def route(
        req_id: str,
        actor: CurrentActor,
        node: NodeDep,
        rid: RequestId,
        body: Annotated[TransitionIn | None, Body()] = None,
    ) -> Request:
        return service.step(node, actor, req_id, transition, body, request_id=rid)

    route.__name__ = f"request_{transition}"
    route.__doc__ = (
        f"{transition.capitalize()} the request: 409 naming its state when that state does not allow it; 403 "
        "naming the clause when the agreement no longer does (audited, nothing changes)."
    )
    return route


for _transition in ("send", "withdraw", "extend", "acknowledge", "answer", "refuse"):
    router.add_api_route(f"/{{req_id}}:{_transition}", _step(_transition), methods=["POST"], response_model=Request)
