"""Deconfliction between nodes on the API: the request that starts a run, the run, and its alert.

A run's ``members`` are the caller's own items (identifier or hash keys; for set ``pdq`` its own ``pdq:``
keys with a near duplicate at the peer) that the peer holds too; nothing
of the peer's is ever in it but the count. An alert carries the reference number, the two organisations,
the agreement and the count, and no case content: it is what lets the two be introduced.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from accord.model.base import Inbound, Outbound

__all__ = ["DeconflictionAlert", "DeconflictionIn", "DeconflictionRun"]


class DeconflictionIn(Inbound):
    peer: str = Field(min_length=1, max_length=128, description="the peer's node id (node_...)")
    set: Literal["identifiers", "hashes", "pdq"] = Field(
        description="normalised identifiers, exact media hashes, or PDQ hashes compared by Hamming distance"
    )
    mode: Literal["members", "count"] = Field("members", description="learn which items overlap, or how many")
    agreement_id: str | None = Field(
        None, max_length=40, description="the agreement to run under (default: the first that allows it)"
    )
    threshold: int | None = Field(
        None,
        ge=0,
        le=31,
        description="set pdq: the largest Hamming distance that counts as a near duplicate (default: the "
        "node's PDQ match threshold, at most 31)",
    )


class DeconflictionRun(Outbound):
    id: str
    org_id: str
    reference: str = Field(description="the deconfliction reference number, the same on both nodes")
    role: Literal["initiator", "responder"]
    peer: str
    peer_org: str
    agreement_id: str
    set: str
    mode: str
    state: Literal["running", "done", "failed"]
    own_size: int
    peer_size: int | None
    count: int | None
    members: list[str] | None = Field(description="the organisation's own items the peer holds too")
    detail: str | None
    started_at: datetime
    finished_at: datetime | None
    threshold: int | None = Field(description="set pdq: the Hamming distance that counts as a near duplicate")


class DeconflictionAlert(Outbound):
    id: str
    org_id: str
    reference: str
    peer: str
    peer_org: str
    agreement_id: str
    count: int
    at: datetime
