"""A custody entry: one action on one evidence object, the leaf of the custody log.

The leaf bytes are the RFC 8785 canonical JSON of the entry, so anyone can recompute a leaf hash from the
entry alone, in any language, and ``parse_leaf`` accepts only those exact bytes: a leaf has one spelling,
and a re-encoded or edited one is rejected instead of silently hashing to something else.

Why orjson and not the ``rfc8785`` package for the bytes: an entry holds only ASCII keys, strings and
integers within ±2**53 (no floats, no other key order to settle), and for those values orjson with
sorted keys writes exactly the RFC 8785 bytes (a hypothesis test compares the two) at a quarter of the
cost; every piece of evidence appends at least one leaf, so the encoder is on the intake path.

What an entry never holds: the object's content or any sealed value. ``digest`` is the SHA-256 of the
content, and ``detail`` is a few small strings and integers (counts, codes, a recipient organisation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import orjson

from accord.ids import ActorId, OrgId

__all__ = ["MAX_DETAIL_ITEMS", "MAX_DETAIL_TEXT", "CustodyAction", "CustodyEntry", "parse_leaf"]

MAX_DETAIL_ITEMS = 16
MAX_DETAIL_TEXT = 256
_MAX_ID = 128
_MAX_INT = 2**53 - 1  # I-JSON: integers beyond this do not survive every JSON parser

_FIELDS = ("action", "actor_id", "at", "detail", "digest", "object_id", "object_type", "org_id")
_DIGEST = re.compile(r"[0-9a-f]{64}\Z")
_OBJECT_TYPE = re.compile(r"[a-z][a-z0-9_.-]{0,63}\Z")
_DETAIL_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")


class CustodyAction(StrEnum):
    RECEIVED = "received"
    HASHED = "hashed"
    MATCHED = "matched"
    VIEWED = "viewed"
    SHARED = "shared"
    EXPORTED = "exported"
    SEALED = "sealed"
    UNSEALED = "unsealed"
    PURGED = "purged"
    # federation (docs/federation.md): an envelope sent to or accepted from a peer, and the signed
    # receipt that answered it (issued here for what came in, received for what went out)
    SHARED_OUT = "shared_out"
    SHARED_IN = "shared_in"
    RECEIPT = "receipt"


@dataclass(frozen=True)
class CustodyEntry:
    action: CustodyAction
    actor_id: ActorId
    org_id: OrgId
    at: datetime
    object_type: str
    object_id: str
    digest: str
    detail: Mapping[str, str | int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "action", CustodyAction(self.action))
        except ValueError:
            known = ", ".join(a.value for a in CustodyAction)
            raise ValueError(f"custody action must be one of {known}, got {self.action!r}") from None
        for name in ("actor_id", "org_id", "object_id"):
            _check_id(name, getattr(self, name))
        if not isinstance(self.object_type, str) or not _OBJECT_TYPE.match(self.object_type):
            raise ValueError(
                f"object_type must be a lower-case code like 'report' or 'media', got {self.object_type!r}"
            )
        if not isinstance(self.digest, str) or not _DIGEST.match(self.digest):
            raise ValueError("digest must be a SHA-256 in 64 lower-case hex characters")
        if not isinstance(self.at, datetime) or self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("at must be a datetime with a time zone")
        object.__setattr__(self, "at", self.at.astimezone(UTC))
        object.__setattr__(self, "detail", MappingProxyType(_checked_detail(self.detail)))

    def sibling(self, object_id: str, digest: str, detail: Mapping[str, str | int]) -> CustodyEntry:
        """The entry of the same action by the same actor and organisation at the same time on another
        object of the same type. Only what differs is checked (with the constructor's checks): what it
        shares with this entry was checked when this one was made. Why: intake appends a "received" leaf
        per report, a batch at a time, and re-checking the shared fields was most of an entry's cost."""
        _check_id("object_id", object_id)
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            raise ValueError("digest must be a SHA-256 in 64 lower-case hex characters")
        entry = object.__new__(CustodyEntry)
        for name, value in (
            ("action", self.action),
            ("actor_id", self.actor_id),
            ("org_id", self.org_id),
            ("at", self.at),
            ("object_type", self.object_type),
            ("object_id", object_id),
            ("digest", digest),
            ("detail", MappingProxyType(_checked_detail(detail))),
        ):
            object.__setattr__(entry, name, value)
        return entry

    def to_json(self) -> dict[str, Any]:
        """The entry as plain JSON values, before canonicalisation."""
        return {
            "action": self.action.value,
            "actor_id": self.actor_id,
            "at": self.at.isoformat(timespec="microseconds")[:-6] + "Z",  # UTC: drop "+00:00"
            "detail": dict(self.detail),
            "digest": self.digest,
            "object_id": self.object_id,
            "object_type": self.object_type,
            "org_id": self.org_id,
        }

    def leaf_bytes(self) -> bytes:
        """RFC 8785 canonical JSON: sorted keys, no spaces, one spelling per entry."""
        return orjson.dumps(self.to_json(), option=orjson.OPT_SORT_KEYS)

    def __hash__(self) -> int:
        return hash(self.leaf_bytes())


def _check_id(name: str, value: object) -> None:
    if not isinstance(value, str) or not value or len(value) > _MAX_ID:
        raise ValueError(f"{name} must be a non-empty string of at most {_MAX_ID} characters")
    # every whitespace character but the space is non-printable: one pass in C instead of one per character
    if not value.isprintable() or " " in value:
        raise ValueError(f"{name} must not contain spaces or control characters")


def _checked_detail(detail: object) -> dict[str, str | int]:
    if not isinstance(detail, Mapping):
        raise ValueError("detail must be a mapping of short names to strings or integers")
    if len(detail) > MAX_DETAIL_ITEMS:
        raise ValueError(f"detail holds at most {MAX_DETAIL_ITEMS} items, got {len(detail)}")
    checked: dict[str, str | int] = {}
    for key, value in detail.items():
        if not isinstance(key, str) or not _DETAIL_KEY.match(key):
            raise ValueError(f"detail key {key!r} must be a lower-case snake_case name")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError(f"detail[{key!r}] must be a string or an integer, got {type(value).__name__}")
        if isinstance(value, int) and abs(value) > _MAX_INT:
            raise ValueError(f"detail[{key!r}] is outside the JSON-safe integer range (±2**53 - 1)")
        if isinstance(value, str) and len(value) > MAX_DETAIL_TEXT:
            raise ValueError(f"detail[{key!r}] is longer than {MAX_DETAIL_TEXT} characters")
        if isinstance(value, str) and not _is_utf8(value):
            raise ValueError(f"detail[{key!r}] holds a lone surrogate, which has no UTF-8 (and no JSON) spelling")
        checked[key] = value
    return checked


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("custody leaf has a duplicate key")
    return result


def _no_floats(value: str) -> Any:
    raise ValueError(f"custody leaf holds a non-integer number {value}")


def parse_leaf(data: bytes) -> CustodyEntry:
    """The entry whose ``leaf_bytes()`` are exactly ``data``; anything else is a ``ValueError``."""
    if not isinstance(data, bytes):
        raise ValueError("a custody leaf is bytes")
    try:
        doc = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_float=_no_floats,
            parse_constant=_no_floats,
        )
    except UnicodeDecodeError:
        raise ValueError("custody leaf is not UTF-8") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"custody leaf is not JSON: {e.msg} at byte {e.pos}") from None
    if not isinstance(doc, dict):
        raise ValueError("custody leaf must be a JSON object")
    if sorted(doc) != list(_FIELDS):
        missing = sorted(set(_FIELDS) - set(doc))
        extra = sorted(set(doc) - set(_FIELDS))
        raise ValueError(f"custody leaf fields are wrong (missing: {missing or 'none'}, unknown: {extra or 'none'})")
    at = doc["at"]
    if not isinstance(at, str) or not _AT.match(at):
        raise ValueError(
            f"custody leaf 'at' must be RFC 3339 UTC with microseconds (2026-01-02T03:04:05.000000Z), got {at!r}"
        )
    try:
        when = datetime.fromisoformat(at[:-1]).replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"custody leaf 'at' is not a real time: {at!r}") from None
    entry = CustodyEntry(
        action=doc["action"],
        actor_id=doc["actor_id"],
        org_id=doc["org_id"],
        at=when,
        object_type=doc["object_type"],
        object_id=doc["object_id"],
        digest=doc["digest"],
        detail=doc["detail"],
    )
    if entry.leaf_bytes() != data:
        raise ValueError("custody leaf is not in RFC 8785 canonical form")
    return entry
