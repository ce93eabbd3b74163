"""Network, communities, money flows and timeline on a simulated world: quality against the planted truth
and the time of each stage.

    nice -n 10 python bench/network.py                  # 100,000 reports, seed 1
    nice -n 10 python bench/network.py --reports 20000

Communities are scored (adjusted Rand index, NMI) on the entities whose true person belongs to a planted
network, the label being the network; twice: without entity resolution (each identifier its own entity, so
an entity's person is the identifier's holder in truth.json) and with perfect resolution (truth.json's
holders as the mapping, the ceiling a resolver can reach). Money: a planted chain is recovered end to end
when the forward trace from every payer instrument that paid reaches the organiser's wallet and the backward
trace from that wallet reaches every one of them. Results go to docs/bench-network.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from intake import world  # noqa: E402

from accord.graph.communities import compare, detect  # noqa: E402
from accord.graph.money import build_ledger, patterns, trace_backward, trace_forward  # noqa: E402
from accord.graph.network import Network  # noqa: E402
from accord.graph.rates import shipped  # noqa: E402
from accord.graph.sightings import read_ndjson  # noqa: E402
from accord.graph.timeline import build_timeline, from_sightings, from_transfers  # noqa: E402


def score(part_names: tuple[str, ...], membership: tuple[int, ...], person_of: dict[str, str], truth: dict) -> dict:
    people = truth["people"]
    found, planted = [], []
    for name, c in zip(part_names, membership, strict=True):
        person = person_of.get(name)
        net = people.get(person, {}).get("network") if person else None
        if net:
            found.append(c)
            planted.append(net)
    labels = {x: i for i, x in enumerate(sorted(set(planted)))}
    return {"scored": len(found), **compare(found, [labels[x] for x in planted])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    times: dict[str, float] = {}

    def stage(name: str, t0: float) -> float:
        times[name] = round(time.perf_counter() - t0, 2)
        print(f"{name}: {times[name]} s", flush=True)
        return time.perf_counter()

    t = time.perf_counter()
    data = world(args.reports, args.seed).parent
    t = stage("simulate (or reuse)", t)
    truth = orjson.loads((data / "truth.json").read_bytes())
    sightings = list(read_ndjson(data / "reports.ndjson", truth["submitted_by"]))
    t = stage("read reports", t)
    rows = [orjson.loads(line) for line in (data / "transfers.ndjson").read_bytes().splitlines()]
    ledger = build_ledger(rows, shipped())
    t = stage("read and price transfers", t)
    holder = {k: v[0] for k, v in truth["identifiers"].items()}
    results: dict[str, object] = {}
    for label, mapping in (("no resolution", None), ("perfect resolution", holder)):
        net = Network(mapping)
        net.add(sightings)
        net.add_transfers(ledger.transfers)
        t = stage(f"network ({label})", t)
        g = net.graph(simple=True)
        t = stage(f"graph export ({label})", t)
        person_of = holder if mapping is None else {p: p for p in truth["people"]}
        rows_ = []
        for method, res in (("modularity", 1.0), ("cpm", 0.05), ("cpm", 0.5)):
            part = detect(g, method, resolution=res, seed=1)
            t = stage(f"leiden {method} {res} ({label})", t)
            rows_.append({"method": method, "resolution": res, "communities": part.count,
                          **score(part.names, part.membership, person_of, truth)})  # fmt: skip
        results[label] = {"entities": g.vcount(), "edges": g.ecount(), "communities": rows_}
    held: dict[str, list[str]] = {}
    for k, v in truth["identifiers"].items():
        if k.startswith("payment:"):
            for p in v:
                held.setdefault(p, []).append(k)
    sent = {x.source for x in ledger.transfers}
    chains = recovered = 0
    precision = []
    for net_ in truth["networks"].values():
        for c in net_["money_chains"]:
            chains += 1
            target = c["instruments"][2]
            payers = [k for p in c["payers"] for k in held.get(p, []) if k in sent]
            back = trace_backward(ledger, target)
            ok = bool(payers) and all(target in trace_forward(ledger, p).reached for p in payers)
            recovered += ok and all(p in back.reached for p in payers)
            inside = {*payers, *c["instruments"]}
            total = sum(back.reached.values())
            precision.append(sum(v for k, v in back.reached.items() if k in inside) / total if total else 0.0)
    t = stage("money traces", t)
    found = patterns(ledger)
    t = stage("money patterns", t)
    facilitators = {k for n in truth["networks"].values() for c in n["money_chains"] for k in c["instruments"][:2]}
    passing = {p.instrument for p in found if p.kind == "pass-through"}
    timeline = build_timeline(from_sightings(sightings) + from_transfers(ledger.transfers))
    t = stage("timeline (all events)", t)
    results["money"] = {
        "transfers": len(ledger.transfers),
        "chains": chains,
        "recovered_end_to_end": recovered,
        "backward_trace_euro_share_in_chain": round(sum(precision) / len(precision), 3) if precision else None,
        "pass_through_flagged": len(passing),
        "facilitator_instruments": len(facilitators),
        "facilitator_instruments_flagged": len(passing & facilitators),
    }
    results["timeline_events"] = len(timeline.events)
    doc = {"reports": args.reports, "seed": args.seed, "python": platform.python_version(), "seconds": times,
           "results": results}  # fmt: skip
    out = ROOT / "docs" / "bench-network.json"
    out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
