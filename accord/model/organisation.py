"""Organisations, the actors that act for them, and the roles those actors hold."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from accord.ids import ActorId, OrgId
from accord.model.base import Inbound, Outbound, UtcDatetime

__all__ = [
    "Actor",
    "ActorKind",
    "Credential",
    "CredentialIn",
    "OrgKind",
    "Organisation",
    "OrganisationIn",
    "Role",
]


class OrgKind(StrEnum):
    platform = "platform"
    hotline = "hotline"
    law_enforcement = "law_enforcement"
    victim_service = "victim_service"
    oversight = "oversight"


class Role(StrEnum):
    submitter = "submitter"
    analyst = "analyst"
    investigator = "investigator"
    supervisor = "supervisor"
    custodian = "custodian"
    auditor = "auditor"
    admin = "admin"


class ActorKind(StrEnum):
    user = "user"
    service = "service"


class OrganisationIn(Inbound):
    name: str = Field(min_length=1, max_length=200)
    kind: OrgKind
    jurisdiction: str = Field(description="ISO 3166-1 alpha-2")


class Organisation(Outbound):
    id: OrgId
    name: str
    kind: OrgKind
    jurisdiction: str
    operator: bool = Field(description="the organisation that runs this node; its admins manage the node")
    created_at: datetime


class Actor(Outbound):
    """Who is acting: one user or service credential holder, always of exactly one organisation."""

    id: ActorId
    org_id: OrgId
    name: str
    kind: ActorKind
    roles: frozenset[Role]
    operator: bool = False

    def has(self, role: Role) -> bool:
        return role in self.roles


class CredentialIn(Inbound):
    name: str = Field(min_length=1, max_length=200, description="who or what holds the key")
    kind: ActorKind = ActorKind.service
    roles: list[Role] = Field(min_length=1)
    expires_at: UtcDatetime | None = None


class Credential(Outbound):
    """An API key's public record. The secret is shown once at creation and stored only as an argon2 hash."""

    id: str
    actor_id: ActorId
    org_id: OrgId
    name: str
    roles: list[Role]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
