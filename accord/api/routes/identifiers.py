"""/v1/identifiers: exact search on the normalised form of an identifier."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.errors import Invalid
from accord.model.identifier import Identifier, IdentifierKind
from accord.model.parse import parse_obj
from accord.model.report import Report
from accord.services import reports as service

router = APIRouter(prefix="/v1/identifiers", tags=["identifiers"])


class Hits(BaseModel):
    """The answer of a search by key (identifier or media hash), in the caller's organisation only."""

    key: str = Field(description="the normalised key that was searched")
    items: list[Report] = Field(description="reports holding it, oldest first, up to the limit")
    first_seen: datetime | None = Field(description="earliest received_at of those reports; null if none")
    last_seen: datetime | None = Field(description="latest received_at of those reports; null if none")
    report_count: int = Field(description="how many reports hold it (all of them, not only those listed)")

    @classmethod
    def of(cls, hits: service.Hits) -> Self:
        r = hits.record
        if r is None:
            return cls(key=hits.key, items=hits.items, first_seen=None, last_seen=None, report_count=0)
        return cls(
            key=hits.key, items=hits.items, first_seen=r.first_seen, last_seen=r.last_seen, report_count=r.report_count
        )


class IdentifierHits(Hits):
    """Reports holding an identifier, and the organisation's record of it."""


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
    return IdentifierHits.of(service.search_identifier(node, actor, ident, limit, rid))
