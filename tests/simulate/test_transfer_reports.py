"""A world's transfers as partner reports: every transfer carried once, in order, valid native reports."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.simulate import generate
from accord.simulate.transfer_reports import identifier_of, transfer_reports


def test_every_transfer_is_carried_once_with_the_same_instrument_keys(tmp_path: Path) -> None:
    generate(3, 300, tmp_path)
    rows = [orjson.loads(line) for line in (tmp_path / "transfers.ndjson").read_bytes().splitlines()]
    docs = list(transfer_reports(rows, per_report=10))
    assert len(docs) == -(-len(rows) // 10) and len({d["external_id"] for d in docs}) == len(docs)
    carried = [t for d in docs for t in parse_obj(ReportIn, d).transfers]
    assert [t.reference for t in carried] == [r["id"] for r in rows]
    assert [(t.from_.key, t.to.key) for t in carried] == [(r["from"], r["to"]) for r in rows]


def test_a_key_that_is_not_a_payment_is_refused() -> None:
    assert identifier_of("payment:wallet/bitcoin/bc1qxyz") == {
        "kind": "payment", "instrument": "wallet", "chain": "bitcoin", "value": "bc1qxyz",
    }  # fmt: skip
    for bad in ("email:a@b.example", "payment:iban"):
        with pytest.raises(ValueError, match="not a payment identifier key"):
            identifier_of(bad)
