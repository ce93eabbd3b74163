"""The node's federation registry on the API (docs/federation.md, "API"): peers, stored signed agreements
and the organisation's share rules, as an operator admin reads and changes them.

Documents travel as JSON objects (an identity document, a signed agreement); the services check them in
their canonical form (RFC 8785), which is the form both sides sign and store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import Field, model_validator

from accord.model.base import Inbound, Outbound

__all__ = ["PeerIn", "PeerOut", "PeerPatch", "ShareIn", "ShareOut", "StoredAgreement", "StoredAgreementIn"]


class PeerIn(Inbound):
    base_url: str = Field(min_length=1, max_length=500, description="where the peer serves, e.g. https://...")
    identity: dict[str, Any] = Field(description="the peer's identity document (GET /v1/federation/identity)")
    orgs: list[str] = Field(default_factory=list, description="organisations behind the peer (informative)")


class PeerPatch(Inbound):
    """One change: the trust state, or the peer's identity after a key rotation (a document given, or the
    one the peer publishes at its base URL, ``fetch_identity``)."""

    state: Literal["trusted", "removed"] | None = None
    identity: dict[str, Any] | None = None
    fetch_identity: bool = False

    @model_validator(mode="after")
    def _one(self) -> Self:
        given = [self.state is not None, self.identity is not None, self.fetch_identity]
        if sum(given) != 1:
            raise ValueError("give exactly one of state, identity and fetch_identity")
        return self


class PeerOut(Outbound):
    node_id: str
    base_url: str
    state: Literal["pending", "trusted", "removed"]
    orgs: list[str]
    current_keyid: str
    identity: dict[str, Any] = Field(description="the identity document on file, every key with its window")
    added_at: datetime
    updated_at: datetime


class StoredAgreementIn(Inbound):
    signed: dict[str, Any] = Field(description='a signed agreement: {"agreement": {...}, "signatures": [...]}')
    upstream: bool = Field(
        False,
        description="an agreement between other nodes, held so that what a peer received under it and shares "
        "on can be checked here (its onward-sharing clause)",
    )


class StoredAgreement(Outbound):
    id: str
    parties: list[str]
    nodes: dict[str, list[str]]
    purposes: list[str]
    categories: list[str]
    max_marking: str
    onward_sharing: bool
    valid_from: datetime
    valid_until: datetime | None
    upstream: bool = Field(description="this node speaks for no party: held only to check onward sharing")
    signed_by: list[str] = Field(description="the nodes whose signatures it carries")
    signed: dict[str, Any] = Field(description="the signed agreement as stored (its canonical JSON)")


class ShareIn(Inbound):
    kind: Literal["bank", "reports"] = Field(description="a bank into the feed, or the organisation's reports")
    agreement_id: str = Field(min_length=1, max_length=40)
    category: str = Field(min_length=1, max_length=40, description="vocabulary: categories")
    bank: str | None = Field(None, min_length=1, max_length=200, description="kind bank: the bank's name or id")
    marking_max: str | None = Field(
        None, max_length=20, description="kind reports: the highest marking shared (default the agreement's)"
    )


class ShareOut(Outbound):
    id: str
    kind: Literal["bank", "reports"]
    org_id: str
    agreement_id: str
    category: str
    bank_id: str | None
    marking_max: str | None
    created_at: datetime | None
