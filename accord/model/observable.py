"""An observable: one identifier or media hash as an organisation has seen it across its reports.

Why a record of its own: the same account, address or file turns up in many reports. Each report keeps
what it said (its subjects and media are evidence, and its digest is what custody hashes); the record is
the linking layer over them, one per distinct key and organisation, so that "seen before, where, since
when and how often" is one lookup rather than a scan of every report that repeats the key.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from accord.model.base import Outbound

__all__ = ["Observable", "ObservableKind"]


class ObservableKind(StrEnum):
    """What the key names; the key's own prefix (``email:``, ``sha256:``) says which type within it."""

    identifier = "identifier"
    media = "media"


class Observable(Outbound):
    kind: ObservableKind
    key: str = Field(description="Identifier.key or a media key such as sha256:<hex>")
    first_seen: datetime = Field(description="earliest received_at of the reports holding it")
    last_seen: datetime = Field(description="latest received_at of the reports holding it")
    report_count: int = Field(description="how many of the organisation's reports hold it")
