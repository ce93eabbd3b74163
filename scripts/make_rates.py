"""Write accord/graph/data/rates-2025.csv: ILLUSTRATIVE daily rates (EUR per unit) for the synthetic world.

They are a seeded random walk around rough early-2025 levels, not market data: the simulator prices its
transfers with them and ``accord.graph.money`` converts with them, so the two agree. A deployment passes its
own table in the same layout (``date,currency,eur``), for example from the ECB's reference rates.

    python scripts/make_rates.py
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from pathlib import Path

LEVELS = {  # EUR per unit, roughly January 2025
    "EUR": 1.0, "GBP": 1.19, "USD": 0.96, "PLN": 0.234, "UAH": 0.023, "RON": 0.201, "SEK": 0.087,
    "RUB": 0.0093, "CAD": 0.67, "BRL": 0.16, "MXN": 0.047, "PHP": 0.0165, "INR": 0.0112, "THB": 0.028,
    "AUD": 0.60, "NGN": 0.00062, "KES": 0.0074, "ZAR": 0.052, "CZK": 0.0398, "BTC": 92000.0, "ETH": 3200.0,
}  # fmt: skip
VOLATILITY = {"EUR": 0.0, "BTC": 0.03, "ETH": 0.04}
START, DAYS = date(2025, 1, 1), 365


def main() -> None:
    rng = random.Random("accord.rates:2025")
    lines = ["date,currency,eur"]
    level = dict(LEVELS)
    for d in range(DAYS):
        day = START + timedelta(days=d)
        for cur in LEVELS:
            if d:
                level[cur] *= math.exp(rng.gauss(0.0, VOLATILITY.get(cur, 0.004)))
            digits = 6 if level[cur] >= 1 else 8
            lines.append(f"{day.isoformat()},{cur},{level[cur]:.{digits}g}")
    out = Path(__file__).resolve().parents[1] / "accord" / "graph" / "data" / "rates-2025.csv"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
