"""Private set intersection: time, CPU time and bytes on the wire, Accord's X25519 PSI next to
openmined-psi on the same sets.

    python bench/psi.py                          # 10k x 10k and 100k x 100k, 3 runs each
    python bench/psi.py --sizes 1000000 --runs 1 # 1M x 1M
    python bench/psi.py --sizes 10000 --no-openmined

Each set holds ``n`` synthetic identifier keys (``email:u<i>@example.invalid``); the two sets overlap by
10 %. Both parties run in this one process, so the wall time is both sides' work on this machine's cores
(the transport is left out: the bytes are the canonical JSON the messages would travel as). "cpu" is the
process's CPU time over all threads: on a shared, loaded machine it is the steadier figure, and wall time
on an idle machine with ``c`` cores is about cpu / c. openmined-psi (OpenSSL P-256, one-sided: only its
client learns) runs with ``reveal_intersection`` and the RAW data structure (exact, no false positives);
its bytes are the serialised setup, request and response. Results go to bench/out/psi.json.

    python bench/psi.py --pdq --sizes 1000 --threshold 31   # near-duplicate PDQ (psi_pdq), five messages

``--pdq`` runs ``PdqInitiator``/``PdqResponder`` instead, on ``n`` random 256-bit values a side, 1 % of the
responder's being copies of the initiator's with 1 to ``threshold`` bits flipped; it reports round 1
(offer and reply) and round 2 (candidates, distances, finishes) apart, the candidate slots, and whether
each side found exactly the brute-force answer. A run whose candidates exceed ``psi_pdq.MAX_SLOTS`` is
refused there (as a node refuses it): round 1's figures and the candidate count are still reported.
Results go to bench/out/psi_pdq.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accord.errors import PayloadTooLarge  # noqa: E402
from accord.exchange.psi import Finish, Initiator, Offer, Reply, Responder  # noqa: E402
from accord.exchange.psi_pdq import (  # noqa: E402
    Candidates,
    Distances,
    Finishes,
    PdqInitiator,
    PdqResponder,
)

OUT = ROOT / "bench" / "out"


def sets(n: int) -> tuple[list[str], list[str]]:
    overlap = n // 10
    a = [f"email:u{i}@example.invalid" for i in range(n)]
    b = [f"email:u{i}@example.invalid" for i in range(n - overlap, 2 * n - overlap)]
    return a, b


def accord_run(a: list[str], b: list[str]) -> dict[str, Any]:
    wire = 0

    def send(doc: dict[str, Any]) -> dict[str, Any]:
        nonlocal wire
        raw = orjson.dumps(doc)
        wire += len(raw)
        return orjson.loads(raw)  # type: ignore[no-any-return]

    initiator, responder = Initiator(a, kind="identifiers"), Responder(b, kind="identifiers")
    offer = Offer.from_json(send(initiator.offer().to_json()))
    reply = Reply.from_json(send(responder.reply(offer).to_json()))
    mine = initiator.receive(reply)
    theirs = responder.receive(Finish.from_json(send(initiator.finish().to_json())))
    assert mine.members == theirs.members == set(a) & set(b)
    return {"bytes": wire, "found": mine.count}


def openmined_run(a: list[str], b: list[str]) -> dict[str, Any]:
    import private_set_intersection.python as psi

    client = psi.client.CreateWithNewKey(True)
    server = psi.server.CreateWithNewKey(True)
    setup = server.CreateSetupMessage(1e-9, len(a), b, psi.DataStructure.RAW)
    request = client.CreateRequest(a)
    response = server.ProcessRequest(request)
    found = client.GetIntersection(setup, response)
    assert len(found) == len(set(a) & set(b))
    size = len(setup.SerializeToString()) + len(request.SerializeToString()) + len(response.SerializeToString())
    return {"bytes": size, "found": len(found)}


def timed(fn: Callable[[list[str], list[str]], dict[str, Any]], a: list[str], b: list[str]) -> dict[str, Any]:
    t, c = time.perf_counter(), time.process_time()
    out = fn(a, b)
    out.update(wall_s=time.perf_counter() - t, cpu_s=time.process_time() - c)
    return out


def pdq_sets(n: int, threshold: int, seed: int = 7) -> tuple[list[str], list[str]]:
    import random

    rng = random.Random(seed)
    a = [f"{rng.getrandbits(256):064x}" for _ in range(n)]
    b = [f"{rng.getrandbits(256):064x}" for _ in range(n)]
    for i in range(max(1, n // 100)):
        v = int(a[i], 16)
        for bit in rng.sample(range(256), rng.randint(1, max(1, threshold))):
            v ^= 1 << bit
        b[i] = f"{v:064x}"
    return a, b


def pdq_run(n: int, threshold: int) -> dict[str, Any]:
    a, b = pdq_sets(n, threshold)
    wire = {"round1": 0, "round2": 0}

    def send(doc: dict[str, Any], stage: str) -> Any:
        raw = orjson.dumps(doc)
        wire[stage] += len(raw)
        return orjson.loads(raw)

    out: dict[str, Any] = {"n": n, "threshold": threshold}
    t, c = time.perf_counter(), time.process_time()
    ini, res = PdqInitiator(a, threshold=threshold), PdqResponder(b, threshold=threshold)
    offer = Offer.from_json(send(ini.offer().to_json(), "round1"), limit=1 << 22)
    reply = Reply.from_json(send(res.reply(offer).to_json(), "round1"), limit=1 << 22)
    out.update(round1_wall_s=time.perf_counter() - t, round1_cpu_s=time.process_time() - c)
    out.update(offer_points=len(offer.points) // 32, reply_points=len(reply.points) // 32)
    t, c = time.perf_counter(), time.process_time()
    try:
        candidates = Candidates.from_json(send(ini.candidates(reply).to_json(), "round2"))
    except PayloadTooLarge as e:
        out.update(refused=e.detail)
        out.update(mb_round1=wire["round1"] / 1e6)
        return out
    distances = Distances.from_json(send(res.distances(candidates).to_json(), "round2"))
    mine = ini.distances(distances)
    theirs = res.receive(Finishes.from_json(send(ini.finishes().to_json(), "round2")))
    out.update(round2_wall_s=time.perf_counter() - t, round2_cpu_s=time.process_time() - c)

    def near(xs: list[str], ys: list[str]) -> set[str]:
        return {x for x in xs if any(bin(int(x, 16) ^ int(y, 16)).count("1") <= threshold for y in ys)}

    out.update(
        slots=mine.slots,
        found=mine.count,
        exact=mine.members == near(a, b[: max(1, n // 100)]) and theirs.members == near(b[: max(1, n // 100)], a),
        mb_round1=wire["round1"] / 1e6,
        mb_round2=wire["round2"] / 1e6,
    )
    return out


def pdq_main(sizes: list[int], threshold: int) -> None:
    results = []
    for n in sizes:
        row = pdq_run(n, threshold)
        results.append(row)
        print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "load": os.getloadavg()}
    (OUT / "psi_pdq.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-openmined", action="store_true")
    parser.add_argument("--pdq", action="store_true", help="near-duplicate PDQ deconfliction instead")
    parser.add_argument("--threshold", type=int, default=31)
    args = parser.parse_args()
    if args.pdq:
        pdq_main(args.sizes, args.threshold)
        return
    impls: dict[str, Callable[[list[str], list[str]], dict[str, Any]]] = {"accord": accord_run}
    if not args.no_openmined:
        impls["openmined-psi"] = openmined_run
    results: list[dict[str, Any]] = []
    for n in args.sizes:
        a, b = sets(n)
        for name, fn in impls.items():
            runs = [timed(fn, a, b) for _ in range(args.runs)]
            row = {
                "impl": name,
                "n": n,
                "runs": len(runs),
                "wall_s_median": statistics.median(r["wall_s"] for r in runs),
                "cpu_s_median": statistics.median(r["cpu_s"] for r in runs),
                "wall_s": [round(r["wall_s"], 2) for r in runs],
                "mb_on_wire": runs[0]["bytes"] / 1e6,
                "found": runs[0]["found"],
            }
            results.append(row)
            print(
                f"{name:14} {n:>9,} x {n:<9,} wall {row['wall_s_median']:8.2f} s  cpu {row['cpu_s_median']:8.2f} s"
                f"  {row['mb_on_wire']:8.2f} MB  runs {row['wall_s']}",
                flush=True,
            )
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "load": os.getloadavg()}
    (OUT / "psi.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))


if __name__ == "__main__":
    main()
