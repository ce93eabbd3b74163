"""Limits of attempts in fixed windows: ``AddressLimiter`` counts in process memory, bounded in size (the
sign-in limit per address); ``SharedLimiter`` counts through a counter it is handed (the federation inbox's,
in the database, so that every worker process spends one budget).

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["AddressLimiter", "SharedLimiter", "Verdict"]


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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SharedLimiter:
    """A limit per sender in fixed windows aligned to the epoch, counted by ``count(sender, window_start)``,
    which adds one to the shared count and returns it (atomically: two workers never see the same number).

    Why aligned windows: every worker must agree where a window starts without asking the others, so the
    start is a function of the time alone. Why a memory of refusals on top: once a sender is over its limit
    in a window, this process refuses it until the window ends without counting again, so a flood costs one
    write per worker and window, not one per request. The count that first passes the limit is seen by
    exactly one worker: that refusal is ``first_refusal`` (the one audited). The memory is bounded as the
    ``AddressLimiter``'s table is, expired entries dropped first; a sender dropped from it while still
    over its limit is only counted again (and refused by the shared count)."""

    def __init__(self, limit: int, window: timedelta, max_senders: int = 10_000) -> None:
        if limit < 1 or window < timedelta(seconds=1) or max_senders < 1:
            raise ValueError("limit, window (at least 1 s) and max_senders must be positive")
        self.limit, self.window, self.max_senders = limit, window, max_senders
        self._refused: dict[str, datetime] = {}  # sender -> the end of the window it is refused in
        self._lock = threading.Lock()

    def window_of(self, now: datetime) -> datetime:
        """The start of the window ``now`` falls in."""
        step = int(self.window.total_seconds())
        return _EPOCH + timedelta(seconds=int((now - _EPOCH).total_seconds()) // step * step)

    def hit(self, sender: str, now: datetime, count: Callable[[str, datetime], int]) -> Verdict:
        """Count one request from ``sender`` at ``now`` (module and class docstrings)."""
        start = self.window_of(now)
        end = start + self.window
        wait = max(math.ceil((end - now).total_seconds()), 1)
        with self._lock:
            until = self._refused.get(sender)
            if until is not None and now < until:
                return Verdict(False, wait, False)
        n = count(sender, start)
        if n <= self.limit:
            return Verdict(True)
        with self._lock:  # entries are in the order their windows end (a sender is moved to the back)
            self._refused.pop(sender, None)
            while self._refused:
                oldest = next(iter(self._refused))
                if now < self._refused[oldest] and len(self._refused) < self.max_senders:
                    break
                del self._refused[oldest]
            self._refused[sender] = end
        return Verdict(False, wait, n == self.limit + 1)
