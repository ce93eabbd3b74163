"""Key players against the planted truth, and analytics on a node end to end with the time of each stage.

    nice -n 10 python bench/analytics.py                     # 20,000 reports, seed 1
    nice -n 10 python bench/analytics.py --reports 100000
    nice -n 10 python bench/analytics.py --reports 1000000 --skip-quality --resolve   # the 1M world end to end

1. Planted key players (truth.json: each network's ``key_players``, its organiser and facilitators) found in
   the top k of a ranking, k = the number planted: per network (the network's members ranked among
   themselves, by their first place in the ranking) and overall (the whole ranking's top k, k = all planted).
   Rankings: Accord's key-player order (``keyplayers.dismantle``, method accord, AUC10), and degree in
   the entity network. Twice: without entity resolution (an entity is one identifier, its person the
   identifier's holder in truth.json) and with perfect resolution (truth.json's holders as the mapping).
2. End to end on a node (SQLite): ``accord ingest`` of the world into one organisation, then of its
   transfers as a financial-intelligence partner's reports (as ``accord demo`` holds them), then the
   resolve (``--resolve``), network, communities, key-players, money and timeline runs of
   ``accord.services.analytics`` (what the API's runner and ``accord analyze --org`` do), each timed.
   Results go to docs/bench-analytics[-N].json. ``--stages`` picks stages; ``--reuse`` runs them on the
   node an earlier run left (results to docs/bench-analytics-N-again.json), e.g. the transfers and the
   money run after a run that had none:

    python bench/analytics.py --reports 1000000 --skip-quality --reuse --stages transfers,money,timeline
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from intake import fresh_node, world  # noqa: E402

from accord.graph.analysis import entity_graph  # noqa: E402
from accord.graph.keyplayers import dismantle  # noqa: E402
from accord.graph.network import Network  # noqa: E402
from accord.graph.sightings import read_ndjson  # noqa: E402


def persons_in_order(ranked: Sequence[str], person_of: dict[str, str]) -> list[str]:
    seen: dict[str, None] = {}
    for name in ranked:
        p = person_of.get(name)
        if p is not None and p not in seen:
            seen[p] = None
    return list(seen)


def hits(order: list[str], truth: dict) -> dict[str, object]:
    """Planted key players in the top k, per network and overall."""
    people = truth["people"]
    per_net: list[dict[str, object]] = []
    total_planted = total_hit = 0
    for net_id, net in sorted(truth["networks"].items()):
        planted = set(net["key_players"])
        ranked = [p for p in order if people.get(p, {}).get("network") == net_id]
        found = len(planted & set(ranked[: len(planted)]))
        per_net.append({"network": net_id, "planted": len(planted), "found": found})
        total_planted += len(planted)
        total_hit += found
    everyone = {p for n in truth["networks"].values() for p in n["key_players"]}
    overall = len(everyone & set(order[: len(everyone)]))
    return {
        "per_network_found": total_hit,
        "per_network_planted": total_planted,
        "networks_all_found": sum(1 for r in per_net if r["found"] == r["planted"]),
        "networks": len(per_net),
        "overall_top_k_found": overall,
    }


def _transfers(world_dir: Path) -> list:
    from accord.graph.money import build_ledger
    from accord.graph.ndjson import objects
    from accord.graph.rates import shipped

    rows = [row for _, row in objects(world_dir / "transfers.ndjson")]
    return build_ledger(rows, shipped(), skip_unpriced=True).transfers


def quality(reports: Path, truth: dict) -> dict[str, object]:
    holder = {k: v[0] for k, v in truth["identifiers"].items()}
    out: dict[str, object] = {}
    transfers = _transfers(reports.parent)
    for label, mapping, payments in (
        ("no resolution", None, False),
        ("perfect resolution", holder, False),
        ("no resolution, payment edges", None, True),
        ("perfect resolution, payment edges", holder, True),
    ):
        net = Network(mapping)
        net.add(read_ndjson(reports, truth["submitted_by"]))
        if payments:
            net.add_transfers(transfers)
        graph = entity_graph(net)
        person_of = holder if mapping is None else {p: p for p in truth["people"]}
        t = time.perf_counter()
        order = dismantle(graph, "accord", seed=1).order
        seconds = time.perf_counter() - t
        by_degree = sorted(range(graph.n), key=lambda v: (-int(graph.degrees[v]), graph.ids[v]))
        out[label] = {
            "entities": graph.n,
            "edges": graph.m,
            "accord_seconds": round(seconds, 1),
            "accord": hits(persons_in_order([graph.ids[v] for v in order], person_of), truth),
            "degree": hits(persons_in_order([graph.ids[v] for v in by_degree], person_of), truth),
        }
        print(label, json.dumps(out[label]), flush=True)
    return out


STAGES = ("ingest", "transfers", "resolve", "network", "communities", "keyplayers", "money", "timeline")


def _transfer_reports(world_dir: Path) -> Path:
    """The world's transfers as a financial-intelligence partner's reports (as ``accord demo`` holds them),
    written once next to the world."""
    from accord.simulate.transfer_reports import transfer_reports

    out = world_dir / "transfer-reports.ndjson"
    if not out.exists():
        with (world_dir / "transfers.ndjson").open("rb") as src, out.open("wb") as dst:
            for doc in transfer_reports(orjson.loads(line) for line in src if line.strip()):
                dst.write(orjson.dumps(doc) + b"\n")
    return out


def end_to_end(reports: Path, n: int, resolve: bool, stages: list[str], reuse: bool) -> dict[str, dict[str, float]]:
    """Each stage's wall seconds, CPU seconds (this process, all threads; the ingest's child process for
    the two ingests) and the load average when it ended: on a shared machine the wall time alone cannot
    be read. ``reuse``: the node of an earlier run (bench/out/analytics-N), for stages it has not run."""
    import os
    import resource

    import sqlalchemy as sa

    from accord.model.analytics import RunIn
    from accord.services import analytics
    from accord.services.node import open_node
    from accord.settings import Settings
    from accord.store.schema import organisations

    times: dict[str, dict[str, float]] = {}

    def record(kind: str, wall: float, cpu: float) -> None:
        times[kind] = {"wall": round(wall, 1), "cpu": round(cpu, 1), "load": round(os.getloadavg()[0], 1)}
        print(f"{kind}: {times[kind]}", flush=True)

    def ingest(kind: str, path: Path) -> None:
        t = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        args = [sys.executable, "-m", "accord.cli", "ingest", str(path), "--key", key]
        subprocess.run(args, env=env, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        record(kind, time.perf_counter() - t, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)

    if reuse:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
        env["ACCORD_DATA_DIR"] = str(ROOT / "bench" / "out" / f"analytics-{n}")
    else:
        env, key = fresh_node(f"analytics-{n}", None)
    node = open_node(Settings(data_dir=Path(env["ACCORD_DATA_DIR"])))
    try:
        with node.db.read() as conn:
            org = conn.execute(sa.select(organisations.c.id).where(organisations.c.name == "Bench")).scalar_one()
        if reuse:
            made = subprocess.run(
                [sys.executable, "-m", "accord.cli", "key", "create", "--org", org, "--name", "again", "--role",
                 "analyst"], env=env, check=True, capture_output=True, text=True,
            )  # fmt: skip
            key = next(w for w in made.stdout.split() if w.startswith("accord_key_"))
        if "ingest" in stages:
            ingest("ingest", reports)
        if "transfers" in stages:
            ingest("transfers", _transfer_reports(reports.parent))
        # With --resolve the graph runs take the resolve run's entities as their nodes (resolve_run latest).
        on = {"resolve_run": "latest"} if resolve else {}
        runs: list[tuple[str, dict[str, object]]] = [("resolve", {})] if resolve else []
        runs += [
            ("network", {**on}),
            ("communities", {"method": "cpm", "resolution": 0.05, **on}),
            ("keyplayers", {"k": 5, **on}),
            ("money", {}),
            ("timeline", {}),
        ]
        for kind, params in runs:
            if kind not in stages:
                continue
            t, c = time.perf_counter(), time.process_time()
            outcome = analytics.run_local(node, org, RunIn(kind=kind, parameters=params))
            assert outcome.doc is not None, outcome.run.error
            record(kind, time.perf_counter() - t, time.process_time() - c)
    finally:
        node.close()
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-node", action="store_true", help="only the key-player quality")
    ap.add_argument("--skip-quality", action="store_true", help="only the node's stages")
    ap.add_argument("--resolve", action="store_true", help="a resolve run first; graph runs use its entities")
    ap.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated, of {','.join(STAGES)}")
    ap.add_argument("--reuse", action="store_true", help="the node an earlier run left (skip ingest yourself)")
    args = ap.parse_args()
    reports = world(args.reports, args.seed)
    truth = orjson.loads((reports.parent / "truth.json").read_bytes())
    doc: dict[str, object] = {"reports": args.reports, "seed": args.seed, "python": platform.python_version()}
    if not args.skip_quality:
        doc["key_players"] = quality(reports, truth)
    if not args.skip_node:
        stages = [x for x in args.stages.split(",") if x]
        if unknown := set(stages) - set(STAGES):
            raise SystemExit(f"unknown stages: {', '.join(sorted(unknown))}")
        doc["end_to_end_seconds"] = end_to_end(reports, args.reports, args.resolve, stages, args.reuse)
    name = "bench-analytics.json" if args.reports == 20_000 else f"bench-analytics-{args.reports}.json"
    if args.reuse:
        name = name.replace(".json", "-again.json")
    out = ROOT / "docs" / name
    out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
