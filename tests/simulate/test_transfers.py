from __future__ import annotations

from pathlib import Path

import orjson

from accord.graph.money import build_ledger, trace_backward, trace_forward
from accord.graph.rates import shipped
from accord.simulate import TRANSFERS_FILE, generate


def test_transfers_are_deterministic_and_follow_the_chains(tmp_path: Path) -> None:
    one = generate(3, 1200, tmp_path / "a")
    two = generate(3, 1200, tmp_path / "b")
    assert one.transfers_path and two.transfers_path
    data = one.transfers_path.read_bytes()
    assert data == two.transfers_path.read_bytes() and one.transfers == len(data.splitlines()) > 0
    assert one.transfers_path.name == TRANSFERS_FILE
    rows = [orjson.loads(line) for line in data.splitlines()]
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    ledger = build_ledger(rows, shipped())
    truth = orjson.loads(one.truth_path.read_bytes())
    chains = [c for n in truth["networks"].values() for c in n["money_chains"]]
    assert chains
    for chain in chains:
        facilitator, own_wallet, target = chain["instruments"]
        assert (
            target in trace_forward(ledger, facilitator).reached or target in trace_forward(ledger, own_wallet).reached
        )
        assert set(chain["instruments"][:2]) & set(trace_backward(ledger, target).reached)
