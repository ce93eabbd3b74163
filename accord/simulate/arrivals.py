"""When reports arrive: a fixed number spread over the hours of a window with a daily rhythm, a weekly
one, slow growth, day-to-day jitter and the odd burst day (a platform's batch upload, a viral share).

Why counts per hour rather than a random process: the caller asks for an exact number of reports, and
hour buckets let the stream emit them in time order without holding them all.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

__all__ = ["hour_prefixes", "hourly_counts"]

# Relative volume per UTC hour: quiet small hours, a working-day plateau, an evening peak.
_DAILY = (
    0.55, 0.45, 0.38, 0.33, 0.32, 0.36, 0.48, 0.66, 0.85, 0.98, 1.05, 1.08,
    1.10, 1.10, 1.08, 1.10, 1.15, 1.22, 1.30, 1.38, 1.40, 1.30, 1.05, 0.78,
)  # fmt: skip
_WEEKLY = (1.08, 1.05, 1.03, 1.02, 0.98, 0.90, 0.94)  # Monday first


def hourly_counts(rng: random.Random, total: int, days: int, start: datetime) -> list[int]:
    """``total`` split over ``days * 24`` hours; the result sums to ``total`` exactly."""
    weights: list[float] = []
    for day in range(days):
        weekday = (start + timedelta(days=day)).weekday()
        trend = 1.0 + 0.3 * day / max(1, days - 1)
        jitter = math.exp(rng.gauss(0.0, 0.18))
        burst = 2.5 if rng.random() < 0.02 else 1.0
        level = _WEEKLY[weekday] * trend * jitter * burst
        weights.extend(level * _DAILY[(start.hour + h) % 24] for h in range(24))
    scale = total / sum(weights)
    counts: list[int] = []
    acc = 0.0
    placed = 0
    for w in weights:
        acc += w * scale
        upto = min(total, int(acc + 0.5))
        counts.append(upto - placed)
        placed = upto
    counts[-1] += total - placed
    return counts


def hour_prefixes(start: datetime, hours: int) -> list[str]:
    """``YYYY-MM-DDTHH:`` for each hour, so a timestamp is this prefix plus minutes and seconds."""
    return [(start + timedelta(hours=h)).strftime("%Y-%m-%dT%H:") for h in range(hours)]
