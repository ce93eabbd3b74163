"""Protocol state held between two messages of one exchange: bounded in number and in time.

Why in memory: a PSI responder's state between its reply and the initiator's finish message is the
doubly blinded tags of the offer and its own items in blinded order. Its secret is already gone, so the
state cannot be rebuilt, and writing it to the database would keep derived copies of the items for a
session that is usually over within a second. The cost: a node restarted between the two messages, or a
finish message that reaches another worker, finds no session and refuses it; the initiator already holds
its own result and the responder's run stays ``running`` until a new run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

__all__ = ["Pending"]


class Pending:
    """Values by key, each forgotten after ``ttl`` or when more than ``bound`` are held (oldest first)."""

    def __init__(self, ttl: timedelta = timedelta(minutes=10), bound: int = 1000) -> None:
        self.ttl, self.bound = ttl, bound
        self._held: OrderedDict[tuple[str, ...], tuple[datetime, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: tuple[str, ...], value: Any, now: datetime) -> None:
        with self._lock:
            self._expire(now)
            self._held[key] = (now + self.ttl, value)
            while len(self._held) > self.bound:
                self._held.popitem(last=False)

    def take(self, key: tuple[str, ...], now: datetime) -> Any | None:
        """The value under ``key``, removed (a session's state is used once), or None."""
        with self._lock:
            self._expire(now)
            held = self._held.pop(key, None)
        return None if held is None else held[1]

    def __len__(self) -> int:
        return len(self._held)

    def _expire(self, now: datetime) -> None:
        while self._held:
            key, (deadline, _) = next(iter(self._held.items()))
            if deadline > now:
                break
            del self._held[key]
