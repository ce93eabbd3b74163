"""Reviews: a report or case an organisation must look at again, because a bank entry that matched it was
retracted (docs/matching.md, "Retraction")."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from accord.model.base import Outbound

__all__ = ["Review"]


class Review(Outbound):
    id: str
    org_id: str
    object_type: str = Field(description="report, or case (a case citing a matched report)")
    object_id: str
    reason: str = Field(description="entry_retracted")
    bank_id: str
    entry_id: int
    matches: int = Field(description="the retracted entry's matches behind this review")
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
