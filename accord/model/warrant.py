"""Warrants: the judicial (or other lawful) authority an opening of sealed data rests on.

Accord records what a warrant says, not the warrant: who issued it, its reference, what it covers and
when it is in force, and the SHA-256 of the document, so the paper can later be shown to be the one
recorded without the node ever holding it.

What a warrant covers (its scope) is explicit on both axes:

- *objects*: report ids, and identifiers (normalised to their keys) that reports must hold among their
  indexed identifiers; at least one of the two;
- *fields*: JSON pointers into the sealed part of a report (``/narrative``, ``/subjects``,
  ``/subjects/1``). A pointer covers itself and everything beneath it. There is no "all fields"
  wildcard: a court order names what may be disclosed, and so does the record of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, NewType

from pydantic import Field, ValidationInfo, field_validator, model_validator

from accord.ids import ActorId, OrgId, ReportId
from accord.model.base import Inbound, Outbound, UtcDatetime
from accord.model.identifier import Identifier

__all__ = ["SealedField", "Warrant", "WarrantId", "WarrantIn", "WarrantScope", "WarrantScopeIn"]

WarrantId = NewType("WarrantId", str)

SealedField = Annotated[
    str,
    Field(
        pattern=r"^(/[A-Za-z0-9_\-]+)+$",
        max_length=200,
        description="JSON pointer into a report's sealed part, e.g. /narrative or /subjects/1",
    ),
]


class WarrantScopeIn(Inbound):
    report_ids: list[ReportId] = Field(default_factory=list, max_length=1000)
    identifiers: list[Identifier] = Field(
        default_factory=list, max_length=1000, description="reports holding any of these (indexed) identifiers"
    )
    fields: list[SealedField] = Field(min_length=1, max_length=100, description="sealed fields it allows to open")

    @model_validator(mode="after")
    def _names_objects(self) -> WarrantScopeIn:
        if not self.report_ids and not self.identifiers:
            raise ValueError("a warrant's scope names at least one report id or identifier")
        return self


class WarrantScope(Outbound):
    report_ids: list[ReportId]
    identifier_keys: list[str] = Field(description="kind:normalised value of each identifier")
    fields: list[str]


class WarrantIn(Inbound):
    issuing_authority: str = Field(min_length=1, max_length=200, description="the court or authority")
    reference: str = Field(min_length=1, max_length=200, description="its reference, docket or case number")
    scope: WarrantScopeIn
    valid_from: UtcDatetime
    valid_until: UtcDatetime
    document_sha256: str = Field(
        pattern="^[0-9a-fA-F]{64}$", description="SHA-256 (hex) of the warrant document, which is not stored"
    )

    @field_validator("valid_until")
    @classmethod
    def _window(cls, v: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("valid_from")
        if start is not None and v <= start:
            raise ValueError("valid_until must be after valid_from")
        return v


class Warrant(Outbound):
    id: WarrantId
    org_id: OrgId
    issuing_authority: str
    reference: str
    scope: WarrantScope
    valid_from: datetime
    valid_until: datetime
    document_sha256: str
    recorded_by: ActorId
    recorded_at: datetime
