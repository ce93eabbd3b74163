"""Identifiers: prefixed ULIDs typed with ``NewType`` so an organisation id cannot be passed as a report id.

Why ULIDs: they sort by creation time, so ``ORDER BY id`` is ingestion order and a cursor is simply
the last id seen; the prefix tells a human (and a log reader) what kind of object an id names.
"""

from __future__ import annotations

import os
import threading
import time
from typing import NewType, Protocol

__all__ = [
    "ActorId",
    "CaseId",
    "IdFactory",
    "OrgId",
    "ReportId",
    "UlidFactory",
    "new_ulid",
]

OrgId = NewType("OrgId", str)
ActorId = NewType("ActorId", str)
ReportId = NewType("ReportId", str)
CaseId = NewType("CaseId", str)

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32


_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # every 10-bit value as two characters


def _encode(value: int) -> str:
    """128 bits as 26 Crockford characters, ten bits at a time (ids are minted per report, so this runs a
    million times in a bulk load)."""
    return "".join(_PAIRS[value >> s & 1023] for s in range(120, -1, -10))


class _Monotonic:
    """ULIDs strictly increasing within one process, even within one millisecond."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_rand = 0

    def __call__(self, ms: int | None = None) -> str:
        with self._lock:
            now = int(time.time() * 1000) if ms is None else ms
            if now <= self._last_ms:
                now = self._last_ms
                rand = self._last_rand + 1
            else:
                rand = int.from_bytes(os.urandom(10), "big") >> 1  # room to increment
            self._last_ms, self._last_rand = now, rand
            return _encode(now << 80 | rand)


new_ulid = _Monotonic()


class IdFactory(Protocol):
    def __call__(self, prefix: str) -> str: ...


class UlidFactory:
    def __call__(self, prefix: str) -> str:
        return f"{prefix}_{new_ulid()}"
