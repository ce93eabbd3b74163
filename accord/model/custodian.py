"""Custodians: actors of an organisation holding the ``custodian`` role and a registered Ed25519 key
with which they sign approvals of openings and reviews of emergency disclosures.

Why a key on top of the API credential: an approval is evidence that a named person agreed to one
disclosure. A signature over the exact request (``accord.safeguards.approvals``) proves that, and can
be checked again later from the stored record; an authenticated HTTP call alone could not.
"""

from __future__ import annotations

from datetime import datetime
from typing import NewType

from pydantic import Field

from accord.ids import ActorId, OrgId
from accord.model.base import Inbound, Outbound

__all__ = ["Custodian", "CustodianId", "CustodianIn"]

CustodianId = NewType("CustodianId", str)


class CustodianIn(Inbound):
    actor_id: ActorId = Field(max_length=40, description="an actor of your organisation with the custodian role")
    public_key: str = Field(max_length=100, description="Ed25519 public key, 32 bytes in base64")


class Custodian(Outbound):
    id: CustodianId
    org_id: OrgId
    actor_id: ActorId
    public_key: str
    registered_by: ActorId
    registered_at: datetime
    revoked_at: datetime | None
