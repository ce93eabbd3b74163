"""A per-address limit of attempts in fixed windows, in process memory and bounded in size.

Why in memory and not in the database: the limit exists to make a flood cheap to refuse. A refusal that
wrote a row would let the flood cost the node a write each (and on SQLite there is one writer). The node
is one service; with several worker processes each keeps its own counts, so an address gets up to that
many times the limit, which the per-person lockout (stored, shared) does not depend on.

Why bounded: every new address costs an entry. Entries are kept in the order their windows opened, so the
oldest window is always first: expired ones are dropped from the front as new addresses arrive, and when
the table is full of live windows the oldest is dropped. Somebody holding more addresses than the table
can reset the counts of others that way; at that scale a per-address limit protects little anyway, and
the per-person lockout still holds.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["AddressLimiter", "Verdict"]


@dataclass(frozen=True)
class Verdict:
    """``allowed``; if not, ``retry_after`` seconds until the address's window ends, and whether this is the
    address's first refusal in its window (the one worth an audit record)."""

    allowed: bool
    retry_after: int = 0
    first_refusal: bool = False


@dataclass
class _Window:
    start: datetime
    count: int


class AddressLimiter:
    def __init__(self, limit: int, window: timedelta, max_addresses: int = 10_000) -> None:
        if limit < 1 or window <= timedelta(0) or max_addresses < 1:
            raise ValueError("limit, window and max_addresses must be positive")
        self.limit, self.window, self.max_addresses = limit, window, max_addresses
        self._windows: dict[str, _Window] = {}  # insertion order = the order windows opened
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._windows)

    def hit(self, address: str, now: datetime) -> Verdict:
        """Count one attempt from ``address`` at ``now``."""
        with self._lock:
            w = self._windows.get(address)
            if w is None or now >= w.start + self.window:
                self._windows.pop(address, None)
                self._make_room(now)
                w = self._windows[address] = _Window(now, 0)
            w.count += 1
            if w.count <= self.limit:
                return Verdict(True)
            wait = math.ceil((w.start + self.window - now).total_seconds())
            return Verdict(False, max(wait, 1), w.count == self.limit + 1)

    def _make_room(self, now: datetime) -> None:
        while self._windows:
            oldest = next(iter(self._windows))
            w = self._windows[oldest]
            if now < w.start + self.window and len(self._windows) < self.max_addresses:
                return
            del self._windows[oldest]
