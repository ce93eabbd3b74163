"""Sessions: what a person gets for signing in, and what they send to get one."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from accord.ids import ActorId, OrgId
from accord.model.base import Inbound, Outbound

__all__ = ["Session", "SignIn"]


class SignIn(Inbound):
    actor: str = Field(min_length=1, max_length=40, description="the actor id shown at enrolment (act_...)")
    password: str = Field(min_length=1, max_length=1024)
    totp: str = Field(min_length=1, max_length=16, description="the 6-digit code from the authenticator app")


class Session(Outbound):
    """A session's public record. Its token is returned once, at sign-in, and stored only as a hash."""

    id: str
    actor_id: ActorId
    org_id: OrgId
    created_at: datetime
    expires_at: datetime = Field(description="absolute end, however active the session is")
    idle_timeout_seconds: int = Field(description="the session ends after this long without a request")
    password_change_required: bool = Field(
        default=False,
        description="an admin reset the password: until it is changed the session may only change it or sign out",
    )
