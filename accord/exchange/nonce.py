"""Replay protection: a nonce seen once within the freshness window is refused the second time.

Why memory stays bounded: an envelope older than the clock-skew window is refused as stale before its
nonce is looked at, so a nonce only needs remembering until its envelope's created time leaves the
window. The store forgets entries older than ``horizon`` (which must be at least the skew).
"""

from __future__ import annotations

import heapq
import threading
from datetime import datetime, timedelta
from typing import Protocol

__all__ = ["InMemoryNonceStore", "NonceStore"]


class NonceStore(Protocol):
    horizon: timedelta

    def add(self, sender: str, nonce: str, created: datetime, now: datetime) -> bool:
        """Record ``nonce`` from ``sender``; False if it was already recorded (a replay)."""
        ...


class InMemoryNonceStore:
    """One process's memory of recent nonces (a database-backed store comes with the peer registry)."""

    def __init__(self, horizon: timedelta = timedelta(seconds=600)) -> None:
        self.horizon = horizon
        self._seen: set[tuple[str, str]] = set()
        self._by_time: list[tuple[datetime, str, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, sender: str, nonce: str, created: datetime, now: datetime) -> bool:
        with self._lock:
            cutoff = now - self.horizon
            while self._by_time and self._by_time[0][0] < cutoff:
                _, s, n = heapq.heappop(self._by_time)
                self._seen.discard((s, n))
            if (sender, nonce) in self._seen:
                return False
            self._seen.add((sender, nonce))
            heapq.heappush(self._by_time, (created, sender, nonce))
            return True
