"""A report: one incoming referral, as submitted (``ReportIn``) and as stored (``Report``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, field_validator

from accord.ids import ActorId, OrgId, ReportId
from accord.model.base import Inbound, Outbound, UtcDatetime
from accord.model.identifier import Identifier
from accord.model.media import Media
from accord.model.transfer import TransferIn

__all__ = ["Location", "Report", "ReportIn", "Subject", "SubjectRole"]


class SubjectRole(StrEnum):
    suspect = "suspect"
    victim = "victim"
    unknown = "unknown"


class Subject(Inbound):
    """A person or account a report is about. A victim's identifiers are sealed, never indexed."""

    role: SubjectRole = SubjectRole.unknown
    identifiers: list[Identifier] = Field(min_length=1, max_length=100)


class Location(Inbound):
    """Hints for routing; any may be absent."""

    country: str | None = Field(default=None, pattern="^[A-Z]{2}$")
    timezone: str | None = Field(default=None, max_length=64)


class ReportIn(Inbound):
    """What a platform, hotline or partner submits."""

    external_id: str | None = Field(
        default=None, min_length=1, max_length=200, description="the submitter's own id; re-sending it never duplicates"
    )
    source: str = Field(description="vocabulary: sources")
    received_at: UtcDatetime = Field(description="when the submitter received or detected it")
    incident_type: str = Field(description="vocabulary: categories")
    urgency: list[str] = Field(default_factory=list, max_length=20, description="vocabulary: urgency")
    marking: str = Field(default="AMBER", description="vocabulary: markings (TLP 2.0)")
    location: Location = Field(default_factory=Location)
    subjects: list[Subject] = Field(default_factory=list, max_length=200)
    media: list[Media] = Field(default_factory=list, max_length=1000)
    narrative: str | None = Field(
        default=None, max_length=20000, description="free text; sealed at rest and never returned or logged"
    )
    transfers: list[TransferIn] = Field(
        default_factory=list,
        max_length=1000,
        description="payments the report carries (stored for money runs; docs/analytics.md)",
    )

    @field_validator("urgency")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("urgency indicators must not repeat")
        return value


class Report(Outbound):
    id: ReportId
    org_id: OrgId
    submitted_by: ActorId
    external_id: str | None
    source: str
    received_at: datetime
    ingested_at: datetime
    incident_type: str
    urgency: list[str]
    urgent: bool
    score: int
    marking: str
    location: Location
    subjects: list[Subject] = Field(description="suspect and unknown subjects; victims are sealed")
    media: list[Media]
    sealed: list[str] = Field(description="JSON pointers of the fields held sealed")
    digest: str = Field(description="SHA-256 of the canonical submission")
    transfers: list[TransferIn] = Field(default_factory=list, description="the payments it carries, as sent")

    @property
    def sealed_count(self) -> int:
        """How many fields are held sealed (what the report's "received" custody leaf records)."""
        return len(self.sealed)
