"""The brute-force PDQ scan in NumPy: the reference that the match index's tests compare with.

Why keep it: exact recall is the index's contract, and the simplest way to state "every hash within t" is
to compute every distance. A 256-entry popcount table over the XOR of the bytes is all it takes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["distances", "within"]

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint16)


def distances(query: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """Hamming distance (int32) from one (32,) uint8 query to each row of an (n, 32) uint8 array."""
    result: np.ndarray = _POPCOUNT[np.bitwise_xor(hashes, query)].sum(axis=1, dtype=np.int32)
    return result


def within(
    queries: np.ndarray, ids: np.ndarray, hashes: np.ndarray, threshold: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per query, (ids int64, distances int32) of the hashes within ``threshold``, ordered by (distance, id)."""
    out = []
    for query in queries:
        d = distances(query, hashes)
        hit = np.flatnonzero(d <= threshold)
        order = np.lexsort((ids[hit], d[hit]))
        out.append((ids[hit][order].astype(np.int64), d[hit][order]))
    return out
