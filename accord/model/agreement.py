"""A sharing agreement between organisations (skeleton: enforced by the federation work)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from accord.ids import OrgId
from accord.model.base import Inbound, Outbound, UtcDatetime

__all__ = ["Agreement", "AgreementIn"]


class AgreementIn(Inbound):
    parties: list[OrgId] = Field(min_length=2)
    purposes: list[str] = Field(min_length=1)
    legal_bases: list[str] = Field(min_length=1, description="vocabulary: legal_bases")
    max_marking: str = Field(description="vocabulary: markings")
    retention_days: int = Field(ge=1, le=36500)
    onward_sharing: bool = False
    valid_from: UtcDatetime
    valid_until: UtcDatetime | None = None


class Agreement(Outbound):
    id: str
    parties: list[OrgId]
    purposes: list[str]
    legal_bases: list[str]
    max_marking: str
    retention_days: int
    onward_sharing: bool
    valid_from: datetime
    valid_until: datetime | None
    created_at: datetime
