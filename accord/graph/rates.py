"""Daily exchange rates, to compare transfers made in different currencies on the day each was made.

A table is ``date,currency,eur`` rows (the value of one unit in euros on that date). ``shipped()`` is the
table that comes with Accord, ``accord/graph/data/rates-2025.csv``: ILLUSTRATIVE rates for the synthetic
world (a seeded random walk around rough early-2025 levels, written by ``scripts/make_rates.py``), not
market data. A deployment passes its own table in the same layout (for example the ECB's reference rates).

Why a rate may come from an earlier day: banks publish no rates on weekends and holidays, so the most
recent rate on or before the transfer date is used, up to ``max_gap_days`` back; beyond that the amount
is unpriced rather than priced at a stale rate.
"""

from __future__ import annotations

import bisect
import csv
from collections.abc import Iterable
from datetime import date
from functools import cache
from pathlib import Path

from accord.errors import Invalid

__all__ = ["SHIPPED_RATES", "Rates", "read_rates", "shipped"]

SHIPPED_RATES = Path(__file__).with_name("data") / "rates-2025.csv"


class Rates:
    """Euros per unit of each currency, by day."""

    def __init__(self, rows: Iterable[tuple[date, str, float]], max_gap_days: int = 7) -> None:
        by: dict[str, list[tuple[date, float]]] = {}
        for day, currency, eur in rows:
            by.setdefault(currency.upper(), []).append((day, eur))
        self._days: dict[str, list[date]] = {}
        self._eur: dict[str, list[float]] = {}
        for currency, points in by.items():
            points.sort()
            self._days[currency] = [d for d, _ in points]
            self._eur[currency] = [v for _, v in points]
        self.max_gap_days = max_gap_days

    @property
    def currencies(self) -> frozenset[str]:
        return frozenset(self._days)

    def eur_per_unit(self, currency: str, on: date) -> float | None:
        """The rate on ``on`` or the latest before it within ``max_gap_days``; None when there is none."""
        days = self._days.get(currency.upper())
        if days is None:
            return None
        i = bisect.bisect_right(days, on) - 1
        if i < 0 or (on - days[i]).days > self.max_gap_days:
            return None
        return self._eur[currency.upper()][i]

    def to_eur(self, amount: float, currency: str, on: date) -> float | None:
        rate = self.eur_per_unit(currency, on)
        return None if rate is None else amount * rate


def read_rates(path: Path, max_gap_days: int = 7) -> Rates:
    """Read a ``date,currency,eur`` CSV (header line first); a bad row raises ``Invalid`` naming its line."""
    rows: list[tuple[date, str, float]] = []
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header != ["date", "currency", "eur"]:
                raise Invalid.at("", f"{path}: the first line must be 'date,currency,eur'")
            for lineno, row in enumerate(reader, 2):
                if not row:
                    continue
                try:
                    day, currency, eur = date.fromisoformat(row[0]), row[1].strip(), float(row[2])
                except (ValueError, IndexError):
                    raise Invalid.at(f"/lines/{lineno}", f"{path}:{lineno}: expected 'YYYY-MM-DD,CUR,rate'") from None
                if not currency or not eur > 0:
                    raise Invalid.at(f"/lines/{lineno}", f"{path}:{lineno}: needs a currency and a positive rate")
                rows.append((day, currency, eur))
    except FileNotFoundError:
        raise Invalid.at("", f"{path}: no such file") from None
    return Rates(rows, max_gap_days)


@cache
def shipped() -> Rates:
    """The illustrative table shipped with Accord (read once)."""
    return read_rates(SHIPPED_RATES)
