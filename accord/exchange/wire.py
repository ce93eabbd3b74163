"""How exchange documents are written on the wire: canonical JSON, times and base64, each in one spelling.

Why one spelling: the raw bytes of an envelope are what both custody logs store and what a receipt's
digest names, so a message must have exactly one byte form; a reader rejects any other (re-ordered keys,
extra spaces, duplicate keys, non-canonical base64, times with another offset or precision).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Any

import rfc8785

__all__ = ["b64decode", "b64encode", "canonical", "format_time", "load_canonical", "parse_time"]

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with microseconds and ``Z``: ``2026-11-26T12:00:00.000000Z``."""
    if value.tzinfo is None:
        raise ValueError("a time on the wire needs a time zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: object) -> datetime:
    if not isinstance(value, str) or not _TIME.match(value):
        raise ValueError(f"time {value!r} is not of the form 2026-11-26T12:00:00.000000Z")
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON."""
    return rfc8785.dumps(value)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key in a JSON object")
    return result


def load_canonical(raw: bytes, what: str) -> Any:
    """Parse JSON that must already be in its RFC 8785 form, else ``ValueError`` naming ``what``."""
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
        again = canonical(value)
    except (UnicodeDecodeError, ValueError, rfc8785.CanonicalizationError) as e:
        raise ValueError(f"{what} is not valid JSON: {e}") from None
    if again != raw:
        raise ValueError(f"{what} is not in canonical form (RFC 8785)")
    return value


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(value: object, what: str) -> bytes:
    """Standard padded base64 in its canonical spelling only (DSSE lets verifiers accept URL-safe too;
    Accord writes and reads only this one, so every envelope has one byte form)."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a base64 string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not valid base64") from None
    if b64encode(data) != value:
        raise ValueError(f"{what} is not canonical base64")
    return data
