"""Entity-resolution benchmark: Accord's resolver against Splink's out-of-the-box configuration and the
exact-identifier baseline, on simulated worlds at three noise levels, scored against their ground truth.

    python bench/resolve.py                         # 20,000 reports a world, noise 0.5, 1.0 and 2.0
    python bench/resolve.py --reports 4000 --noise 2.0
    python bench/resolve.py --scale 1000000         # time a resolution of 1,000,000 records

"Splink default" is what a user gets from Splink's comparison library with no tuning, on the same columns
(the handle as reported, the e-mail, phone, IP, device and payment key): JaroWinklerAtThresholds on the
handle, EmailComparison on the e-mail, ExactMatch on the rest; one blocking rule per column; trained the
same way (prior from exact rules, u by random sampling, EM blocked on handle then e-mail); Splink's
connected components at match probability 0.95. Results go to bench/out/resolve.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from accord.graph.records import IdentityRecord, read_world  # noqa: E402
from accord.graph.resolve import ResolveConfig, record_frame, resolve  # noqa: E402
from accord.graph.resolve_eval import Scores, exact_components, score  # noqa: E402


def world(reports: int, seed: int, noise: float) -> Path:
    out = OUT / f"world-{seed}-{reports}-noise{noise:g}"
    if not (out / "truth.json").exists():
        subprocess.run(
            [sys.executable, "-m", "accord.cli", "simulate", "--seed", str(seed), "--reports", str(reports),
             "--noise", str(noise), "--out", str(out)],
            check=True, capture_output=True,
        )  # fmt: skip
    return out


def splink_default(records: list[IdentityRecord]) -> dict[str, str]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("handle"),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("ip"),
            cl.ExactMatch("device"),
            cl.ExactMatch("payment"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on(c) for c in ("handle", "email", "phone", "device", "payment", "ip")
        ],
    )
    db = DuckDBAPI()
    linker = Linker(db.register(record_frame(records)), settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("service", "handle"), block_on("email"), block_on("payment")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=0)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("handle"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("email"))
    scored = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(scored, 0.95)
    rows = clusters.as_duckdbpyrelation().project("unique_id, cluster_id").fetchall()
    return {records[int(u)].record_id: str(c) for u, c in rows}


def row(name: str, noise: float, s: Scores, seconds: float) -> dict[str, Any]:
    return {"method": name, "noise": noise, "seconds": round(seconds, 1), **asdict(s)}


def evaluate(reports: int, seed: int, levels: list[float], threshold: float) -> list[dict[str, Any]]:
    rows = []
    for noise in levels:
        rs = read_world(world(reports, seed, noise))
        t = time.perf_counter()
        ours = resolve(rs.records, config=ResolveConfig(threshold=threshold))
        rows.append(row("accord", noise, score(ours.labels, rs.truth), time.perf_counter() - t))
        t = time.perf_counter()
        default = splink_default(rs.records)
        rows.append(row("splink-default", noise, score(default, rs.truth), time.perf_counter() - t))
        t = time.perf_counter()
        exact = exact_components(rs.records)
        rows.append(row("exact-identifiers", noise, score(exact, rs.truth), time.perf_counter() - t))
        for r in rows[-3:]:
            print(
                f"noise {noise:<4g} {r['method']:<18} records {r['records']:>7}  P {r['precision']:.4f}  "
                f"R {r['recall']:.4f}  F1 {r['f1']:.4f}  B3-F1 {r['bcubed_f1']:.4f}  ARI {r['ari']:.4f}  "
                f"{r['seconds']:.1f} s",
                flush=True,
            )
    return rows


def scale(records: int, seed: int) -> dict[str, Any]:
    reports = int(records / 1.18) + 1000  # a large default world has about 1.18 suspect subjects a report
    t = time.perf_counter()
    directory = world(reports, seed, 1.0)
    generated = time.perf_counter() - t
    t = time.perf_counter()
    rs = read_world(directory, limit=records)
    read = time.perf_counter() - t
    t = time.perf_counter()
    result = resolve(
        rs.records, progress=lambda stage: print(f"  {time.perf_counter() - t:7.1f} s  {stage}", flush=True)
    )
    total = time.perf_counter() - t
    s = score(result.labels, rs.truth)
    out = {
        "records": len(rs.records), "generate_s": round(generated, 1), "read_s": round(read, 1),
        "resolve_s": round(total, 1), "stages_s": {k: round(v, 1) for k, v in result.seconds.items()},
        "pairs_scored": result.pairs_scored, "entities": len(result.entities), "f1": s.f1,
    }  # fmt: skip
    print(json.dumps(out))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=31)
    ap.add_argument("--noise", type=float, action="append", help="noise level(s); default 0.5, 1.0, 2.0")
    ap.add_argument("--threshold", type=float, default=ResolveConfig().threshold)
    ap.add_argument("--scale", type=int, help="instead: time resolving this many records of a default world")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.scale:
        result: Any = scale(args.scale, args.seed)
        name = "resolve-scale.json"
    else:
        result = evaluate(args.reports, args.seed, args.noise or [0.5, 1.0, 2.0], args.threshold)
        name = "resolve.json"
    (OUT / name).write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
