"""/v1/reviews: the reports and cases a retracted bank entry matched, to be looked at again
(docs/matching.md, "Retraction")."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from accord.api.deps import CurrentActor, NodeDep, RequestId
from accord.model.review import Review
from accord.services import reviews as service

router = APIRouter(prefix="/v1/reviews", tags=["banks"])


class ReviewPage(BaseModel):
    items: list[Review]
    next_cursor: str | None


@router.get("", response_model=ReviewPage)
def list_reviews(
    actor: CurrentActor,
    node: NodeDep,
    rid: RequestId,
    status: Annotated[Literal["open", "all"], Query(description="open (default): not yet resolved")] = "open",
    after: Annotated[str | None, Query(description="the next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
) -> ReviewPage:
    page = service.list_reviews(node, actor, open_only=status == "open", after=after, limit=limit, request_id=rid)
    return ReviewPage(items=page.items, next_cursor=page.next_cursor)


@router.post("/{review_id}:resolve", response_model=Review)
def resolve(review_id: str, actor: CurrentActor, node: NodeDep, rid: RequestId) -> Review:
    """Mark the review done (again: no change)."""
    return service.resolve(node, actor, review_id, rid)
