from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from accord.errors import Invalid
from accord.graph.money import aggregate, build_ledger, patterns, trace_backward, trace_forward
from accord.graph.rates import Rates, shipped

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
RATES = Rates([(date(2025, 3, 1), "EUR", 1.0), (date(2025, 3, 1), "GBP", 1.2), (date(2025, 3, 1), "BTC", 90000.0)])


def tx(n: int, src: str, dst: str, amount: float, hours: float, currency: str = "EUR") -> dict[str, Any]:
    return {"id": f"t{n}", "at": (T0 + timedelta(hours=hours)).isoformat(), "from": src, "to": dst,
            "amount": amount, "currency": currency}  # fmt: skip


def test_forward_and_backward_respect_time_and_amounts() -> None:
    ledger = build_ledger(
        [
            tx(0, "C", "X", 500, 0),  # leaves C before the money from A arrives: not A's money
            tx(1, "A", "B", 100, 1),
            tx(2, "B", "C", 98, 3),
            tx(3, "C", "D", 1000, 4),
            tx(4, "C", "E", 60, 5, "GBP"),  # 72 EUR
            tx(5, "Z", "C", 500, 6),
        ],
        RATES,
    )
    fwd = trace_forward(ledger, "A")
    assert set(fwd.reached) == {"B", "C", "D"} and "X" not in fwd.reached
    assert fwd.reached["D"] == pytest.approx(98 * 1.02)  # capped by what arrived, within the tolerance
    assert fwd.hops["D"] == 3
    back = trace_backward(ledger, "E")
    assert back.reached == pytest.approx({"C": 72.0, "B": 72 * 1.02, "A": 72 * 1.02**2})
    assert "Z" not in back.reached  # Z paid C after C paid E
    back_d = trace_backward(ledger, "D")
    assert back_d.reached["C"] == 1000 and back_d.reached["B"] == pytest.approx(98) and "A" in back_d.reached


def test_cycle_of_payments_terminates_and_conserves() -> None:
    ledger = build_ledger([tx(i, "ABC"[i % 3], "ABC"[(i + 1) % 3], 100, i) for i in range(30)], RATES)
    fwd = trace_forward(ledger, "A", tolerance=0.0)
    assert set(fwd.reached) == {"B", "C"}  # money returning to A is not traced twice
    assert all(v <= 100 * 10 for v in fwd.reached.values())
    assert sum(fwd.carried.values()) <= 100 * 30


def test_missing_currency_unknown_currency_and_order() -> None:
    with pytest.raises(Invalid, match="transfer t1: has no currency") as err:
        build_ledger([tx(0, "A", "B", 1, 0), {**tx(1, "A", "B", 1, 1), "currency": None}], RATES)
    assert "/transfers/1/currency" in err.value.errors
    with pytest.raises(Invalid, match="no rate for XYZ"):
        build_ledger([tx(0, "A", "B", 1, 0, "XYZ")], RATES)
    skipped = build_ledger([tx(0, "A", "B", 1, 0, "XYZ"), tx(1, "A", "B", 1, 1)], RATES, skip_unpriced=True)
    assert skipped.skipped == 1 and len(skipped.transfers) == 1
    shuffled = build_ledger([tx(0, "A", "B", 1, 5), tx(1, "A", "B", 1, 1), tx(2, "A", "A", 1, 2)], RATES)
    assert [t.id for t in shuffled.transfers] == ["t1", "t0"]
    assert shuffled.reordered == 2 and shuffled.self_transfers == 1  # t1 and t2 come after a later one
    with pytest.raises(Invalid, match="time zone"):
        build_ledger([{**tx(0, "A", "B", 1, 0), "at": "2025-03-03T09:00:00"}], RATES)
    with pytest.raises(Invalid, match="positive"):
        build_ledger([tx(0, "A", "B", -5, 0)], RATES)


def test_patterns_and_aggregates() -> None:
    rows = [tx(i, f"P{i}", "F", 50, i) for i in range(6)]
    rows.append(tx(9, "F", "W", 295, 10))
    rows += [tx(20 + i, "W", f"R{i}", 10, 30 + i) for i in range(5)]
    ledger = build_ledger(rows, RATES)
    found = {(p.kind, p.instrument) for p in patterns(ledger)}
    assert {("fan-in", "F"), ("pass-through", "F"), ("fan-out", "W")} <= found
    assert ("pass-through", "W") not in found  # 10 out of 295 in is not passing it on
    flows = aggregate(ledger, lambda t, src: "payers" if (t.source if src else t.target).startswith("P") else "core")
    assert [(f.source, f.target, f.transfers, f.eur) for f in flows] == [
        ("core", "core", 6, 345.0),
        ("payers", "core", 6, 300.0),
    ]


def test_rates_fall_back_a_week_at_most() -> None:
    assert RATES.eur_per_unit("gbp", date(2025, 3, 8)) == 1.2
    assert RATES.eur_per_unit("GBP", date(2025, 3, 9)) is None
    assert RATES.eur_per_unit("GBP", date(2025, 2, 28)) is None
    table = shipped()
    assert {"EUR", "GBP", "BTC", "ETH"} <= table.currencies and table.eur_per_unit("EUR", date(2025, 6, 1)) == 1.0
