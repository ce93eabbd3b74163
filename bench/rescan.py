"""Re-scan search: stored PDQ hashes searched against a bank's new entries, as ``accord bank rescan`` does.

    python bench/rescan.py                                # 1M stored hashes, 1,000 and 10,000 new entries
    python bench/rescan.py --history 200000 --entries 1000
    python bench/rescan.py --gpu                          # faiss GPU as well (on a machine with one)

Stored hashes: half random, half near-duplicates (0-24 bits) of the new entries, so every page has matches.
Reported per engine: index build seconds, stored hashes searched per second (pages of 5,000, one thread),
and the pairs found, checked equal across engines (the CPU index is exact; the GPU path answers the
queries whose k-th neighbour is within the threshold again on the CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from accord.signals.rescan_search import RescanSearch, gpu_available

PAGE = 5000


def data(history: int, entries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    new = rng.integers(0, 256, (entries, 32), dtype=np.uint8)
    stored = rng.integers(0, 256, (history, 32), dtype=np.uint8)
    near = history // 2
    pick = rng.integers(0, entries, near)
    stored[:near] = new[pick]
    bits = np.unpackbits(stored[:near], axis=1)
    for row in range(near):
        flips = rng.choice(256, rng.integers(0, 25), replace=False)
        bits[row, flips] ^= 1
    stored[:near] = np.packbits(bits, axis=1)
    return new, stored


def run(new: np.ndarray, stored: np.ndarray, gpu: bool) -> dict[str, object]:
    t0 = time.perf_counter()
    searcher = RescanSearch(np.arange(len(new), dtype=np.int64), new, 31, gpu=gpu)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    pairs = 0
    for start in range(0, len(stored), PAGE):
        pairs += len(searcher.search(stored[start : start + PAGE]))
    took = time.perf_counter() - t0
    return {
        "engine": "faiss-gpu" if searcher.on_gpu else "accord-cpu",
        "build_s": round(built, 3),
        "search_s": round(took, 2),
        "stored_per_s": round(len(stored) / took),
        "pairs": pairs,
        "gpu_fallbacks": searcher.fallbacks,
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--history", type=int, default=1_000_000)
    p.add_argument("--entries", type=int, nargs="+", default=[1000, 10_000])
    p.add_argument("--gpu", action="store_true")
    args = p.parse_args()
    for entries in args.entries:
        new, stored = data(args.history, entries, 0)
        rows = [run(new, stored, False)]
        if args.gpu and gpu_available():
            rows.append(run(new, stored, True))
            assert rows[0]["pairs"] == rows[1]["pairs"], rows
        for r in rows:
            print(json.dumps({"history": args.history, "entries": entries, **r}))


if __name__ == "__main__":
    main()
