"""People: actors of kind ``user`` who sign in with a password and a TOTP code instead of holding a key."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from accord.ids import ActorId, OrgId
from accord.model.base import Inbound, Outbound
from accord.model.organisation import Role

__all__ = ["PasswordChange", "Person", "PersonIn"]


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
    disabled_at: datetime | None = Field(
        default=None, description="set while an admin has disabled the person: they cannot sign in"
    )
    must_change_password: bool = Field(
        default=False, description="after an admin's reset, until the person has chosen a new password"
    )


class PasswordChange(Inbound):
    """A person changes their own password: both current factors again, and the new password."""

    current_password: str = Field(min_length=1, max_length=1024)
    totp: str = Field(min_length=1, max_length=16, description="the current code from the authenticator app")
    new_password: str = Field(
        min_length=1, max_length=4096, description="at least 12 characters, other than the current password"
    )
