"""The re-scan search (``accord/signals/rescan_search.py``): the CPU index and the GPU path's logic (top-k,
then an exact answer for queries whose k-th neighbour is within the threshold) equal a brute-force scan."""

from __future__ import annotations

import random

import faiss
import numpy as np

from accord.signals.pdq_index import from_hex
from accord.signals.rescan_search import RescanSearch


def test_rescan_search_equals_brute_force() -> None:
    rng = random.Random(3)
    base = [rng.getrandbits(256) for _ in range(300)]
    hexes = [f"{v:064x}" for v in base]
    queries = [f"{v ^ sum(1 << b for b in rng.sample(range(256), rng.randrange(0, 45))):064x}" for v in base[:200]]
    queries += [f"{rng.getrandbits(256):064x}" for _ in range(50)]
    ids = np.arange(1000, 1300, dtype=np.int64)
    searcher = RescanSearch(ids, from_hex(hexes), 31, gpu=True)  # no GPU here: the CPU index answers
    got = {(h.query, h.id, h.distance) for h in searcher.search(from_hex(queries))}
    expected = {
        (qi, int(ids[ei]), d)
        for qi, q in enumerate(queries)
        for ei, e in enumerate(hexes)
        if (d := (int(q, 16) ^ int(e, 16)).bit_count()) <= 31
    }
    assert got == expected and len(expected) > 100
    assert searcher.on_gpu is False

    # the GPU path's logic, run on faiss's CPU flat index (same calls): top-k, and the queries whose k-th
    # neighbour is within the threshold answered again exactly; with k = 1 every near query falls back
    for k in (1, 2, 300):
        flat = faiss.IndexBinaryFlat(256)
        flat.add(from_hex(hexes))
        knn = RescanSearch(ids, from_hex(hexes), 31, k=k, faiss_index=flat)
        assert {(h.query, h.id, h.distance) for h in knn.search(from_hex(queries))} == expected
        assert (knn.fallbacks > 0) == (k == 1)  # a second neighbour within 31 is rare among random hashes
