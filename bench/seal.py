"""Seal and unseal throughput at the Sealer level (AES-256-GCM, a fresh data key per record, wrapped by
the node key), in records/s, median of several runs; plus the signature checks an opening adds.

    python bench/seal.py                   # 20,000 records per run, 7 runs, three payload sizes
    python bench/seal.py --records 5000 --runs 3

Payloads are what intake seals: the JSON of a narrative and victims' subjects. "small" is a one-line
narrative and one victim identifier (153 bytes), "typical" a paragraph and two victims (1.1 KB),
"large" a long free-text narrative (16 KB). Records are sealed under distinct record ids (the id is
the associated data), then each blob is opened again and compared. Results go to bench/out/seal.json.

This measures the cryptography, not an HTTP opening: an opening over the API also verifies k Ed25519
signatures and runs one database transaction, which the "approval check" line prices separately.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accord.safeguards import approvals  # noqa: E402
from accord.safeguards.seal import Sealer  # noqa: E402

OUT = ROOT / "bench" / "out"


def payload(kind: str) -> bytes:
    victim = {"role": "victim", "identifiers": [{"kind": "email", "value": "victim-000@example.org"}]}
    if kind == "small":
        doc = {"subjects": {"1": victim}, "narrative": "Synthetic narrative, one line of it."}
    elif kind == "typical":
        phone = {"kind": "phone", "value": "+49 30 901820", "normalised": "+4930901820"}
        second = {"role": "victim", "identifiers": [phone]}
        doc = {"subjects": {"1": victim, "2": second}, "narrative": "Synthetic narrative sentence. " * 30}
    else:
        doc = {"subjects": {"1": victim}, "narrative": "Synthetic free text, long form. " * 500}
    return orjson.dumps(doc)


def run_once(sealer: Sealer, plain: bytes, ids: list[str]) -> tuple[float, float]:
    t0 = time.perf_counter()
    blobs = [sealer.seal(plain, rid) for rid in ids]
    t1 = time.perf_counter()
    opened = [sealer.open(b, rid) for b, rid in zip(blobs, ids, strict=True)]
    t2 = time.perf_counter()
    assert all(o == plain for o in opened)
    return len(ids) / (t1 - t0), len(ids) / (t2 - t1)


def approval_checks(n: int) -> float:
    """Ed25519 verifications of approval messages per second (an opening verifies k of them)."""
    pem, public = approvals.new_signing_key()
    key, raw = approvals.load_signing_key(pem), approvals.parse_public_key(public)
    msgs = [
        approvals.approval_message(
            request_id=f"unr_{i}",
            nonce="00" * 16,
            warrant_id="wrt_1",
            report_id="rpt_1",
            fields=["/narrative"],
            custodian_id="cus_1",
            approver_id="act_1",
        )
        for i in range(n)
    ]
    sigs = [approvals.sign(key, m) for m in msgs]
    t0 = time.perf_counter()
    assert all(approvals.verify(raw, m, s) for m, s in zip(msgs, sigs, strict=True))
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    sealer = Sealer(os.urandom(32))
    ids = [f"rpt_{i:026d}" for i in range(args.records)]
    results: dict[str, object] = {
        "records_per_run": args.records,
        "runs": args.runs,
        "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}",
        "payloads": {},
    }
    print(f"{'payload':<10}{'bytes':>8}{'seal/s':>12}{'open/s':>12}   (median of {args.runs} runs)")
    for kind in ("small", "typical", "large"):
        plain = payload(kind)
        run_once(sealer, plain, ids[:1000])  # warm up
        runs = [run_once(sealer, plain, ids) for _ in range(args.runs)]
        seal_rate = statistics.median(r[0] for r in runs)
        open_rate = statistics.median(r[1] for r in runs)
        results["payloads"][kind] = {  # type: ignore[index]
            "bytes": len(plain),
            "seal_per_s": round(seal_rate),
            "open_per_s": round(open_rate),
            "seal_runs": [round(r[0]) for r in runs],
            "open_runs": [round(r[1]) for r in runs],
        }
        print(f"{kind:<10}{len(plain):>8}{seal_rate:>12,.0f}{open_rate:>12,.0f}")
    checks = statistics.median(approval_checks(2000) for _ in range(args.runs))
    results["approval_checks_per_s"] = round(checks)
    print(f"approval signature checks: {checks:,.0f}/s")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "seal.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
