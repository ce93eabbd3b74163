"""PDQ match index: Accord's PdqIndex beside HMA's (threatexchange) PDQIndex and faiss IndexBinaryFlat.

    python bench/pdq_index.py                          # 100k, 1M and 10M hashes, random and clustered
    python bench/pdq_index.py --sizes 100000 1000000   # skip 10M
    python bench/pdq_index.py --quick                  # 20k hashes, 200 queries: a smoke run

Same data for all three (one .npy per set under bench/out/pdq/): random hashes, and clustered ones (families
of about 20 near-duplicates of a seed, 0-24 bits flipped). Queries: half are indexed hashes with 1-16 bits
flipped, half random; threshold 31. Each engine is built in one fresh subprocess (build and save time, file
size) and loaded in another (load time, RSS growth while loading = memory loaded, single-hash queries/s,
one-call batch queries/s, all on one thread (OMP_NUM_THREADS=1), and the matches, which the parent compares
with faiss's exhaustive range search for recall). HMA's index is saved with pickle, as HMA does: its pickled
size is its file size.
Results: docs/bench-pdq-index.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "pdq"
ENGINES = ["accord", "hma", "faiss"]
THRESHOLD = 31


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def flip(rng: np.random.Generator, rows: np.ndarray, most: int, least: int = 0) -> np.ndarray:
    """Each row with between least and most random bits flipped (a bit may be drawn twice: then it stays)."""
    out = rows.copy()
    k = rng.integers(least, most + 1, len(rows))
    pos = rng.integers(0, 256, (len(rows), most))
    for j in range(most):
        sel = np.flatnonzero(k > j)
        np.bitwise_xor.at(out, (sel, pos[sel, j] // 8), (1 << (pos[sel, j] % 8)).astype(np.uint8))
    return out


def make_set(kind: str, n: int, queries: int, seed: int = 1) -> tuple[Path, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    data, qpath = OUT / f"{kind}-{n}.npy", OUT / f"{kind}-{n}-q{queries}.npy"
    if data.exists() and qpath.exists():
        return data, qpath
    rng = np.random.default_rng(seed)
    if kind == "random":
        hashes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    else:
        roots = rng.integers(0, 256, (max(1, n // 20), 32), dtype=np.uint8)
        hashes = np.empty((n, 32), dtype=np.uint8)
        for a in range(0, n, 1_000_000):
            b = min(n, a + 1_000_000)
            hashes[a:b] = flip(rng, roots[rng.integers(0, len(roots), b - a)], 24)
    near = flip(rng, hashes[rng.integers(0, n, queries // 2)], 16, 1)
    q = np.concatenate([near, rng.integers(0, 256, (queries - len(near), 32), dtype=np.uint8)])
    np.save(data, hashes)
    np.save(qpath, q)
    return data, qpath


# ---- workers: each runs in its own process ----


def build(engine: str, hashes: np.ndarray, path: Path) -> dict[str, float]:
    t = time.perf_counter()
    if engine == "accord":
        from accord.signals.pdq_index import PdqIndex

        index: Any = PdqIndex()
        index.add(np.arange(len(hashes), dtype=np.int64), hashes)
        built = time.perf_counter() - t
        t = time.perf_counter()
        index.save(path)
    elif engine == "hma":
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex

        hexes = [row.tobytes().hex() for row in hashes]
        index = PDQIndex(zip(hexes, range(len(hexes)), strict=True))
        built = time.perf_counter() - t
        t = time.perf_counter()
        path.write_bytes(pickle.dumps(index))  # HMA's own serialize() is this pickle
    else:
        import faiss

        index = faiss.IndexBinaryFlat(256)
        index.add(hashes)
        built = time.perf_counter() - t
        t = time.perf_counter()
        faiss.write_index_binary(index, str(path))
    return {"build_s": built, "save_s": time.perf_counter() - t, "file_mb": path.stat().st_size / 2**20}


def serve(engine: str, queries: np.ndarray, path: Path, single: int, out: Path) -> dict[str, float]:
    import faiss  # every engine's modules first: memory loaded counts the index, not the imports
    from threatexchange.signal_type.pdq.pdq_index import PDQIndex  # noqa: F401 (unpickling needs it)

    from accord.signals.pdq_index import PdqIndex

    base = rss_mb()
    t = time.perf_counter()
    if engine == "accord":
        index: Any = PdqIndex.load(path)

        def one(i: int) -> list[int]:
            return index.search(queries[i : i + 1], THRESHOLD)[0][0].tolist()

        def batch() -> list[list[int]]:
            return [ids.tolist() for ids, _ in index.search(queries, THRESHOLD)]

    elif engine == "hma":
        index = pickle.loads(path.read_bytes())
        hexes = [row.tobytes().hex() for row in queries]

        def one(i: int) -> list[int]:
            return [m.metadata for m in index.query(hexes[i])]

        def batch() -> list[list[int]]:
            found = index.index.search_with_distance_in_result(hexes, THRESHOLD)
            return [[index.local_id_to_entry[j][1] for j, _, _ in found[h]] for h in hexes]

    else:
        index = faiss.read_index_binary(str(path))

        def one(i: int) -> list[int]:
            _, _, ids = index.range_search(queries[i : i + 1], THRESHOLD + 1)  # faiss: distance < radius
            return ids.tolist()

        def batch() -> list[list[int]]:
            lims, _, ids = index.range_search(queries, THRESHOLD + 1)
            return [ids[lims[i] : lims[i + 1]].tolist() for i in range(len(queries))]

    loaded = time.perf_counter() - t
    memory = rss_mb() - base
    for i in range(min(50, single)):  # warm caches, as a serving process would be
        one(i)
    t = time.perf_counter()
    singles = [one(i) for i in range(single)]
    single_s = time.perf_counter() - t
    t = time.perf_counter()
    batched = batch()
    batch_s = time.perf_counter() - t
    out.write_text(json.dumps({"single": singles, "batch": batched}))
    return {
        "load_s": loaded,
        "memory_mb": memory,
        "single_qps": single / single_s,
        "batch_qps": len(queries) / batch_s,
    }


def worker(args: argparse.Namespace) -> None:
    path = Path(args.index)
    if args.worker == "build":
        result = build(args.engine, np.load(args.data), path)
    else:
        result = serve(args.engine, np.load(args.qfile), path, args.single, Path(args.matches))
    print(json.dumps(result))


def run_worker(*argv: str, timeout: float) -> dict[str, float] | None:
    # One thread each: the HMA figure is "on one core", and faiss would otherwise use OpenMP threads
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    try:
        res = subprocess.run(
            [sys.executable, __file__, *argv], env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        print(f"  {' '.join(argv[:4])}: over {timeout:.0f} s, skipped", file=sys.stderr)
        return None
    if res.returncode:
        print(f"  {' '.join(argv[:4])} failed: {res.stderr[-1500:]}", file=sys.stderr)
        return None
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def recall(found: list[list[int]], reference: list[list[int]]) -> float:
    want = sum(len(r) for r in reference)
    hit = sum(len(set(f) & set(r)) for f, r in zip(found, reference, strict=True))
    return hit / want if want else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--kinds", nargs="+", default=["random", "clustered"])
    parser.add_argument("--engines", nargs="+", default=ENGINES)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="20,000 hashes, 200 queries")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per worker before it is skipped")
    parser.add_argument("--out", default=str(ROOT / "docs" / "bench-pdq-index.json"))
    parser.add_argument("--worker", choices=["build", "serve"], help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--qfile", help=argparse.SUPPRESS)
    parser.add_argument("--index", help=argparse.SUPPRESS)
    parser.add_argument("--matches", help=argparse.SUPPRESS)
    parser.add_argument("--single", type=int, default=1000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if args.quick:
        args.sizes, args.queries = [20_000], 200
    rows = []
    for n in args.sizes:
        for kind in args.kinds:
            data, qpath = make_set(kind, n, args.queries)
            results: dict[str, dict[str, Any]] = {}
            matches: dict[str, dict[str, list[list[int]]]] = {}
            for engine in args.engines:
                index = OUT / f"{engine}-{kind}-{n}.idx"
                built = run_worker("--worker", "build", "--engine", engine, "--data", str(data), "--index", str(index),
                                   timeout=args.timeout)  # fmt: skip
                if built is None:
                    continue
                # faiss scans everything per query: fewer single queries at 10M keep the run in hours, not days
                single = args.queries if engine != "faiss" or n < 5_000_000 else args.queries // 10
                mpath = OUT / f"{engine}-{kind}-{n}.matches.json"
                served = run_worker("--worker", "serve", "--engine", engine, "--qfile", str(qpath),
                                    "--index", str(index), "--matches", str(mpath), "--single", str(single),
                                    timeout=args.timeout)  # fmt: skip
                index.unlink(missing_ok=True)
                if served is None:
                    continue
                results[engine] = {**built, **served}
                matches[engine] = json.loads(mpath.read_text())
            reference = matches.get("faiss", {}).get("batch")
            for engine, r in results.items():
                if reference is not None:
                    m = matches[engine]
                    r["recall_batch"] = recall(m["batch"], reference)
                    r["recall_single"] = recall(m["single"], reference[: len(m["single"])])
                    r["matches"] = sum(len(x) for x in reference)
                rows.append({"size": n, "kind": kind, "engine": engine, **r})
                print(json.dumps(rows[-1]), flush=True)
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "threshold": THRESHOLD,
        "queries": args.queries,
        "command": "python " + " ".join(["bench/pdq_index.py", *sys.argv[1:]]),
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print("\n| size | set | engine | single q/s | batch q/s | recall | memory MB | build s | load s | file MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['size']:,} | {r['kind']} | {r['engine']} | {r['single_qps']:,.0f} | {r['batch_qps']:,.0f} "
            f"| {r.get('recall_batch', float('nan')):.3f} | {r['memory_mb']:,.0f} | {r['build_s']:.1f} "
            f"| {r['load_s']:.2f} | {r['file_mb']:,.0f} |"
        )


if __name__ == "__main__":
    main()
