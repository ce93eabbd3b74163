"""Banks: named lists of signals (hashes, URLs) with an owner, a marking, an agreement, per-entry
provenance and a version number; and what a match against them answers (docs/matching.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, model_validator

from accord.model.base import Inbound, Outbound

__all__ = [
    "Bank",
    "BankIn",
    "EntriesAdded",
    "EntriesIn",
    "Entry",
    "EntryCounts",
    "EntryIn",
    "Hit",
    "ImageHashes",
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
    fp_flag_count: int = Field(
        default=3, ge=1, le=1_000_000, description="flag an entry from this many false-positive verdicts on"
    )
    fp_flag_share: int = Field(
        default=50, ge=0, le=100, description="... when they are at least this percentage of its verdicts"
    )
    frame_quality: int | None = Field(
        default=None, ge=0, le=100, description="vpdq: frames of lower PDQ quality are ignored (default 50)"
    )
    query_match_percent: float | None = Field(
        default=None, ge=0, le=100, description="vpdq: share of the query's frames found in the entry (default 80)"
    )
    compared_match_percent: float | None = Field(
        default=None, ge=0, le=100, description="vpdq: share of the entry's frames found in the query (default 0)"
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
    fp_flag_count: int
    fp_flag_share: int
    rescanned_version: int = Field(description="the last version a re-scan of the stored media covered")
    frame_quality: int | None = Field(default=None, description="vpdq banks only")
    query_match_percent: float | None = Field(default=None, description="vpdq banks only")
    compared_match_percent: float | None = Field(default=None, description="vpdq banks only")
    created_at: datetime
    updated_at: datetime


class EntryIn(Inbound):
    value: str = Field(
        min_length=1,
        max_length=2_000_000,
        description="the hash or URL; for a vpdq bank, the frame list (vpdq's file, compact lines, or JSON)",
    )
    source: str | None = Field(default=None, max_length=200, description="where the signal came from")


class EntriesIn(Inbound):
    entries: list[EntryIn] = Field(min_length=1, max_length=10_000)


class EntryCounts(Outbound):
    """What the organisations that hold its matches said of an entry: counts only, never whose matches."""

    matches: int = 0
    confirmed: int = 0
    false_positive: int = 0
    not_actionable: int = 0


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
    frames: int | None = Field(default=None, description="vpdq: the entry's frame count")
    counts: EntryCounts = Field(default_factory=EntryCounts)


class EntriesAdded(Outbound):
    bank: Bank
    added: list[Entry]
    already_present: int = Field(description="values the bank already held (not added again)")


class RetractIn(Inbound):
    reason: str = Field(min_length=1, max_length=2000)


class MatchIn(Inbound):
    hashes: list[str] = Field(
        default_factory=list,
        max_length=10_000,
        description=(
            "32 hex digits: md5; 64: pdq and sha256; anything else: a URL. A prefix 'type:' (pdq:, md5:, "
            "sha256:, url:) names the type"
        ),
    )
    videos: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="vPDQ frame lists (the vpdq tool's file, compact lines or JSON, as text), against vpdq banks",
    )
    banks: list[str] | None = Field(default=None, max_length=100, description="bank ids (default: every visible bank)")

    @model_validator(mode="after")
    def _something(self) -> MatchIn:
        if not self.hashes and not self.videos:
            raise ValueError("give at least one hash (hashes) or frame list (videos)")
        return self


class Hit(Outbound):
    bank: str
    entry: int
    type: str
    distance: int
    threshold: int
    bank_version: int
    query_match_percent: float | None = Field(default=None, description="vpdq: share of the query's frames found")
    compared_match_percent: float | None = Field(default=None, description="vpdq: share of the entry's frames found")


class MatchResult(Outbound):
    hash: str = Field(description="the value asked about; for a video, the SHA-256 of its canonical frame list")
    matches: list[Hit]


class ImageHashes(Outbound):
    """What an uploaded image was matched as (the image itself is not kept)."""

    pdq: str
    quality: int = Field(description="PDQ quality 0-100 (under 50: a flat image, matches are less reliable)")
    md5: str
    sha256: str
