"""/v1/identifiers: exact search on the normalised form of an identifier."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.errors import Invalid
from accord.model.identifier import Identifier, IdentifierKind
from accord.model.parse import parse_obj
from accord.model.report import Report
from accord.services import reports as service

router = APIRouter(prefix="/v1/identifiers", tags=["identifiers"])


class IdentifierHits(BaseModel):
    key: str
    items: list[Report]


@router.get("", response_model=IdentifierHits)
def search(
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    kind: IdentifierKind,
    value: str = Query(min_length=1, max_length=2048),
    service_name: str | None = Query(default=None, alias="service", max_length=200),
    region: str | None = Query(default=None, pattern="^[A-Z]{2}$"),
    instrument: str | None = Query(default=None),
    chain: str | None = Query(default=None, max_length=50),
    limit: int = Query(default=100, ge=1, le=500),
) -> IdentifierHits:
    raw = {
        "kind": kind,
        "value": value,
        "service": service_name,
        "region": region,
        "instrument": instrument,
        "chain": chain,
    }
    try:
        ident = parse_obj(Identifier, {k: v for k, v in raw.items() if v is not None})
    except Invalid as exc:
        raise Invalid(exc.detail, {"?value": "; ".join(exc.errors.values())}) from None
    return IdentifierHits(key=ident.key, items=service.search_identifier(node, actor, ident, limit, rid))
