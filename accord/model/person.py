"""People: actors of kind ``user`` who sign in with a password and a TOTP code instead of holding a key."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from accord.ids import ActorId, OrgId
from accord.model.base import Inbound, Outbound
from accord.model.organisation import Role

__all__ = ["Person", "PersonIn"]


class PersonIn(Inbound):
    name: str = Field(min_length=1, max_length=200, description="the person's name, as colleagues know them")
    roles: list[Role] = Field(min_length=1)


class Person(Outbound):
    """A person's public record. Their password and TOTP secret are never returned after enrolment."""

    actor_id: ActorId = Field(description="also the identifier the person signs in with")
    org_id: OrgId
    name: str
    roles: list[Role]
    created_at: datetime
    locked_until: datetime | None = Field(description="set while too many failed sign-ins keep the account locked")
