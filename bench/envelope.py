"""Envelope throughput: seal (sign) and open (verify, freshness, replay, agreement checks), in envelopes/s,
median of several runs, and the size on the wire; plus receipts.

    python bench/envelope.py                  # 5,000 envelopes per run, 5 runs
    python bench/envelope.py --envelopes 1000 --runs 3

The object is a typical hash-bank entry (a SHA-256, a PDQ hash, a category); nodes, agreement and nonce
store are in memory, so this prices the pure core that every federated message passes through.
Results go to bench/out/envelope.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accord.exchange.envelope import open_envelope, seal  # noqa: E402
from accord.exchange.identity import NodeIdentity  # noqa: E402
from accord.exchange.nonce import InMemoryNonceStore  # noqa: E402
from accord.exchange.receipt import receipt, verify_receipt  # noqa: E402
from accord.model.agreement import Agreement  # noqa: E402

OUT = ROOT / "bench" / "out"
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--envelopes", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sender = NodeIdentity.generate(T0 - timedelta(days=1), "node_platform")
    receiver = NodeIdentity.generate(T0 - timedelta(days=1), "node_hotline")
    peers = {sender.node_id: sender.document, receiver.node_id: receiver.document}
    agreement = Agreement.model_validate(
        {
            "id": "agr_bench",
            "parties": ["org_platform", "org_hotline"],
            "nodes": {"org_platform": ["node_platform"], "org_hotline": ["node_hotline"]},
            "purposes": ["takedown"],
            "legal_bases": ["mou"],
            "categories": ["csam"],
            "max_marking": "AMBER",
            "retention_days": 365,
            "onward_sharing": False,
            "valid_from": T0 - timedelta(days=1),
            "valid_until": None,
            "created_at": T0 - timedelta(days=1),
        }
    )
    entry = {"type": "bank-entry", "sha256": "ab" * 32, "pdq": "f" * 64, "category": "csam", "bank": "bank_1"}
    rates: dict[str, list[float]] = {"seal": [], "open": [], "receipt": [], "verify_receipt": []}
    size = 0
    for _ in range(args.runs):
        nonces = InMemoryNonceStore()
        start = time.perf_counter()
        raws = [
            seal(
                sender,
                recipient="node_hotline",
                agreement_id="agr_bench",
                purpose="takedown",
                marking="GREEN",
                category="csam",
                obj={**entry, "n": i},
                now=T0,
            )
            for i in range(args.envelopes)
        ]
        rates["seal"].append(args.envelopes / (time.perf_counter() - start))
        start = time.perf_counter()
        opened = [
            open_envelope(
                raw, me="node_hotline", peers=peers, agreements={"agr_bench": agreement}, nonces=nonces, now=T0
            )
            for raw in raws
        ]
        rates["open"].append(args.envelopes / (time.perf_counter() - start))
        start = time.perf_counter()
        receipts = [receipt(receiver, o, raw=o.raw, now=T0) for o in opened]
        rates["receipt"].append(args.envelopes / (time.perf_counter() - start))
        start = time.perf_counter()
        for raw, answer in zip(raws, receipts, strict=True):
            verify_receipt(answer, sent=raw, receiver=receiver.document)
        rates["verify_receipt"].append(args.envelopes / (time.perf_counter() - start))
        size = len(raws[0])
    result = {
        "envelopes": args.envelopes,
        "runs": args.runs,
        "per_second_median": {k: round(statistics.median(v)) for k, v in rates.items()},
        "per_second_all": {k: [round(x) for x in v] for k, v in rates.items()},
        "envelope_bytes": size,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "envelope.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
