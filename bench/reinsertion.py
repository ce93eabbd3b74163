"""Greedy reinsertion's cost and quality on one network: the exact greedy and Braunstein's capped form.

    python bench/reinsertion.py --network p2p-Gnutella31 --methods hda ci
    python bench/reinsertion.py --generated 100000 --methods ci --no-exact    # the capped form only

To time another tree's ``accord.graph.reinsertion`` beside this one (the exact greedy before 60ad89d, say),
export that tree and put it first on the path; the script imports whatever ``accord`` it finds:

    git archive 481bb88 accord | tar -x -C /tmp/reins_old
    PYTHONPATH=/tmp/reins_old python bench/reinsertion.py --network p2p-Gnutella31 --methods hda

Each line: strategy, form, AUC10 of the reinserted order (target 0.1 N, the last phase left as it is, as
Accord's AUC10 runs do) and the seconds the reinsertion took (the strategy's own time is not counted).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import accord
from accord.graph import baselines
from accord.graph.dismantling import auc10, lcc_curve
from accord.graph.edgelist import read_edgelist
from accord.graph.reinsertion import reinsert

sys.path.insert(0, str(Path(__file__).parent))
from dismantling import DATA, generated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", help="a file stem of shared/data/dismantling")
    parser.add_argument("--generated", type=int, help="a generated BA-like graph of this many nodes instead")
    parser.add_argument("--methods", nargs="+", default=["hda"], choices=["hda", "hba", "corehd", "ci"])
    parser.add_argument("--no-exact", action="store_true", help="only the capped form")
    args = parser.parse_args()
    graph = generated(args.generated) if args.generated else read_edgelist(DATA / f"{args.network}.edges")
    print(f"accord from {Path(accord.__file__).parent}; {graph.n:,} nodes, {graph.m:,} edges", flush=True)
    for method in args.methods:
        order = getattr(baselines, method)(graph, 0)
        for capped in (True,) if args.no_exact else (True, False):
            started = time.perf_counter()
            again = reinsert(graph, order, (0.1,), tail=False, capped=capped)
            seconds = time.perf_counter() - started
            form = "capped" if capped else "exact"
            print(f"{method:8} {form:7} AUC10 {auc10(lcc_curve(graph, again)):10.2f}  {seconds:7.1f} s", flush=True)


if __name__ == "__main__":
    main()
