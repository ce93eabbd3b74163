"""Banks: named lists of signals (hashes, URLs) with an owner, a marking, an agreement, per-entry
provenance and a version number; and what a match against them answers (docs/matching.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from accord.model.base import Inbound, Outbound

__all__ = [
    "Bank",
    "BankIn",
    "EntriesAdded",
    "EntriesIn",
    "Entry",
    "EntryIn",
    "Hit",
    "MatchIn",
    "MatchResult",
    "RetractIn",
]

_NAME = r"^[^\x00-\x1f\x7f/]+$"  # printable, no slash: a bank name is also a CLI argument and a file stem


class BankIn(Inbound):
    name: str = Field(min_length=1, max_length=200, pattern=_NAME)
    type: str = Field(description="signal type: pdq, md5, sha256, url (or a plugin's)")
    threshold: int | None = Field(
        default=None, description="PDQ: the largest Hamming distance that matches (0-256; the node default if unset)"
    )
    marking: str = Field(default="AMBER", description="vocabulary: markings")
    agreement_id: str | None = Field(
        default=None, description="share the bank with the parties of this agreement while it is valid"
    )


class Bank(Outbound):
    id: str
    org_id: str
    name: str
    type: str
    threshold: int
    marking: str
    agreement_id: str | None
    version: int
    entries: int = Field(description="entries in the bank now (removed and retracted ones not counted)")
    created_at: datetime
    updated_at: datetime


class EntryIn(Inbound):
    value: str = Field(min_length=1, max_length=2048)
    source: str | None = Field(default=None, max_length=200, description="where the signal came from")


class EntriesIn(Inbound):
    entries: list[EntryIn] = Field(min_length=1, max_length=10_000)


class Entry(Outbound):
    id: int
    bank_id: str
    type: str
    value: str
    source: str | None
    added_by: str | None
    added_at: datetime
    added_in_version: int
    removed_in_version: int | None
    removed_at: datetime | None
    retracted: bool
    retracted_reason: str | None


class EntriesAdded(Outbound):
    bank: Bank
    added: list[Entry]
    already_present: int = Field(description="values the bank already held (not added again)")


class RetractIn(Inbound):
    reason: str = Field(min_length=1, max_length=2000)


class MatchIn(Inbound):
    hashes: list[str] = Field(
        min_length=1,
        max_length=10_000,
        description=(
            "32 hex digits: md5; 64: pdq and sha256; anything else: a URL. A prefix 'type:' (pdq:, md5:, "
            "sha256:, url:) names the type"
        ),
    )
    banks: list[str] | None = Field(default=None, max_length=100, description="bank ids (default: every visible bank)")


class Hit(Outbound):
    bank: str
    entry: int
    type: str
    distance: int
    threshold: int
    bank_version: int


class MatchResult(Outbound):
    hash: str
    matches: list[Hit]
