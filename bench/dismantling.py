"""Network dismantling on every network of ``shared/data/dismantling``: R and AUC10 of HDA, HBA, CoreHD and CI,
each as is and with reinsertion, and of Accord's method, with run times; against MIND's published AUC10.

    nice -n 10 python bench/dismantling.py                       # all fifteen networks
    python bench/dismantling.py --only caviar,corruption         # a few
    python bench/dismantling.py --generated 100000               # also a generated 100k-node graph

Scores use the whole file (N counts isolated nodes and small components), as MIND reports them. Baselines
with reinsertion keep the reinserted order where its AUC10 is no worse (``dismantle(objective="auc10")``).
Accord runs twice: minimising AUC10 and minimising R. Results go to docs/bench-dismantling.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accord.graph.edgelist import EdgeList, read_edgelist  # noqa: E402
from accord.graph.keyplayers import BASELINES, dismantle  # noqa: E402

DATA = Path(os.environ.get("ACCORD_DISMANTLING_DATA", ROOT.parent / "shared" / "data" / "dismantling"))
MIND = {  # README of shared/data/dismantling: HaozheTian/MIND-ND results/real_data_20251108_145516.csv
    "petster-hamster": 239.42,
    "opsahl-ucsocial": 254.19,
    "munmun_digg_reply_LCC": 2475.38,
    "internet-topology": 429.20,
    "p2p-Gnutella31": 6413.64,
}


def generated(n: int, seed: int = 1) -> EdgeList:
    """A Barabasi-Albert-like graph (m = 2) on ``n`` nodes, from numpy only: each new node links to two
    endpoints of earlier edges (preferential attachment by degree)."""
    rng = np.random.default_rng(seed)
    ends = [0, 1]
    pairs = [(0, 1)]
    for v in range(2, n):
        for _ in range(2):
            u = ends[int(rng.integers(len(ends)))]
            pairs.append((u, v))
            ends += [u, v]
    return EdgeList.from_pairs(n, pairs)


def run(name: str, graph: EdgeList) -> dict[str, object]:
    rows: list[dict[str, object]] = []
    for method in BASELINES:
        for reinsertion in (False, True):
            d = dismantle(graph, method, reinsertion=reinsertion)
            rows.append({"method": method + ("+R" if reinsertion else ""), "r": d.r, "auc10": d.auc10, "s": d.seconds})
            print(
                f"{name:24s} {rows[-1]['method']:10s} R={d.r:.4f} AUC10={d.auc10:10.2f} {d.seconds:7.1f}s", flush=True
            )
    for objective in ("auc10", "r"):
        d = dismantle(graph, "accord", objective=objective)  # type: ignore[arg-type]
        rows.append({"method": f"accord[{objective}]", "r": d.r, "auc10": d.auc10, "s": d.seconds})
        print(f"{name:24s} {rows[-1]['method']:10s} R={d.r:.4f} AUC10={d.auc10:10.2f} {d.seconds:7.1f}s", flush=True)
    base = [r for r in rows if not str(r["method"]).startswith("accord")]
    return {
        "network": name,
        "n": graph.n,
        "m": graph.m,
        "rows": rows,
        "best_baseline_auc10": min(float(r["auc10"]) for r in base),  # type: ignore[arg-type]
        "best_baseline_r": min(float(r["r"]) for r in base),  # type: ignore[arg-type]
        "mind_auc10": MIND.get(name),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated network names (file stems)")
    parser.add_argument("--generated", type=int, default=0, help="also dismantle a generated graph of this size")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench-dismantling.json")
    args = parser.parse_args()
    files = sorted(DATA.glob("*.edges"), key=lambda p: p.stat().st_size)
    if args.only:
        wanted = set(args.only.split(","))
        files = [f for f in files if f.stem in wanted]
    results = [run(f.stem, read_edgelist(f)) for f in files]
    if args.generated:
        results.append(run(f"generated-ba-{args.generated}", generated(args.generated)))
    doc = {
        "when": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "results": results,
    }
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
