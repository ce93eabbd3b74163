"""Case references (docs/federation.md, "Sync"): an organisation tells a partner under an agreement that it
holds a case, without sending the case's content, so that the two can be introduced.

A reference carries the case's id, jurisdiction, status, lead organisation (id and name), its times and the
number of linked reports: never the title (free text) or a report id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from accord.model.base import Inbound, Outbound, UtcDatetime

__all__ = ["WITHDRAWN", "CaseRefBody", "CaseReference", "CaseShare", "CaseShareIn", "RefStatus"]

WITHDRAWN = "withdrawn"
"""The status of a reference its holder stopped sharing."""

RefStatus = Literal["open", "active", "suspended", "closed", "withdrawn"]


class CaseShareIn(Inbound):
    agreement_id: str = Field(min_length=1, max_length=40, description="the signed agreement whose feed it joins")
    category: str = Field(min_length=1, max_length=40, description="the data category it travels as")
    marking: str | None = Field(None, max_length=20, description="its marking (default: the agreement's maximum)")


class CaseShare(Outbound):
    case_id: str
    agreement_id: str
    org_id: str
    category: str
    marking: str
    version: int = Field(description="the last version appended to the feed")
    withdrawn_at: datetime | None
    at: datetime


class CaseRefBody(Inbound):
    """What a feed item of kind ``case.reference`` carries (a wire shape: any other field is refused)."""

    id: str = Field(min_length=1, max_length=100)
    jurisdiction: str = Field(min_length=2, max_length=10)
    status: RefStatus
    lead_org_id: str = Field(min_length=1, max_length=100)
    lead_org_name: str = Field(min_length=1, max_length=200)
    created_at: UtcDatetime
    updated_at: UtcDatetime
    linked_reports: int = Field(ge=0)
    agreement: str = Field(min_length=1, max_length=40)


class CaseReference(Outbound):
    """A case reference received from a peer, as the receiving organisation holds it (its latest version)."""

    peer: str = Field(description="the node that holds the case")
    origin_case: str = Field(description="the case's id at that node")
    org_id: str = Field(description="the organisation it was received for")
    agreement_id: str
    category: str
    marking: str
    version: int
    status: RefStatus
    jurisdiction: str
    lead_org_id: str
    lead_org_name: str
    linked_reports: int
    created_at: datetime
    updated_at: datetime
    received_at: datetime
    changed_at: datetime
