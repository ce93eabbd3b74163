"""A re-scan's search: which stored PDQ hashes lie within a threshold of a bank's new entries, on the CPU
(Accord's PDQ index) or on a GPU (faiss), with the same answer.

Why the new entries are indexed and the history queried, and not the reverse: a bank gains hundreds or
thousands of entries between re-scans, the stored media run to millions. The small side fits in any
memory (a GPU's included), and the history streams past it in pages.

faiss's GPU binary index answers k nearest neighbours, not "everything within t". The GPU search asks for
k of them and keeps those within t; a query whose k-th neighbour is still within t may have more, and is
answered again exactly by the CPU index. So the GPU path is exact too, whatever k.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from accord.signals.pdq_index import PdqIndex

__all__ = ["GPU_K", "Hit", "RescanSearch", "gpu_available"]

GPU_K = 256
"""Neighbours asked of the GPU per query (faiss's GPU k-selection allows up to 2,048)."""


@dataclass(frozen=True)
class Hit:
    query: int  # position in the queries given
    id: int  # the entry's id
    distance: int


def _faiss() -> Any | None:
    try:
        import faiss
    except ImportError:  # pragma: no cover - faiss-cpu is a runtime dependency; a GPU build may replace it
        return None
    return faiss


def gpu_available() -> bool:
    """Whether faiss was built with GPU support and sees at least one GPU."""
    faiss = _faiss()
    get = getattr(faiss, "get_num_gpus", None) if faiss is not None else None
    try:
        return bool(get is not None and get() > 0 and hasattr(faiss, "GpuIndexBinaryFlat"))
    except Exception:  # a CUDA runtime that fails to initialise is no GPU
        return False


@dataclass
class RescanSearch:
    """The new entries of a bank, ready to be searched with pages of stored hashes.

    ``gpu=True`` uses faiss's ``GpuIndexBinaryFlat`` when :func:`gpu_available`, else the CPU index
    (``on_gpu`` says which ran). Ids are the entries' ids; hashes ``(n, 32)`` uint8 arrays.
    """

    ids: npt.NDArray[np.int64]
    hashes: npt.NDArray[np.uint8]
    threshold: int
    gpu: bool = False
    k: int = GPU_K
    faiss_index: Any = None
    """A faiss binary index already holding ``hashes`` in order, searched as the GPU one is (for the tests:
    faiss's CPU ``IndexBinaryFlat`` answers the same calls as ``GpuIndexBinaryFlat``)."""
    on_gpu: bool = field(init=False, default=False)
    fallbacks: int = field(init=False, default=0)  # GPU queries answered again on the CPU (k too small)

    def __post_init__(self) -> None:
        self._cpu = PdqIndex()
        if len(self.ids):
            self._cpu.add(self.ids, self.hashes)
        self._gpu: Any = self.faiss_index
        if self._gpu is None and self.gpu and len(self.ids) and gpu_available():
            faiss = _faiss()
            assert faiss is not None
            self._resources = faiss.StandardGpuResources()
            self._gpu = faiss.GpuIndexBinaryFlat(self._resources, 256)
            self._gpu.add(np.ascontiguousarray(self.hashes))
            self.on_gpu = True

    def search(self, queries: npt.NDArray[np.uint8]) -> list[Hit]:
        """Every (query, entry) pair within the threshold, in query order then (distance, id)."""
        if not len(self.ids) or not len(queries):
            return []
        if self._gpu is None:
            return self._from_cpu(queries, range(len(queries)))
        k = min(self.k, len(self.ids))
        distances, rows = self._gpu.search(np.ascontiguousarray(queries), k)
        out: list[Hit] = []
        again: list[int] = []
        for q in range(len(queries)):
            if k < len(self.ids) and distances[q, k - 1] <= self.threshold:
                again.append(q)  # maybe more than k within the threshold: the CPU index answers exactly
                continue
            found = [
                (int(d), int(self.ids[r]))
                for d, r in zip(distances[q], rows[q], strict=True)
                if r >= 0 and d <= self.threshold
            ]
            out.extend(Hit(q, i, d) for d, i in sorted(found))
        self.fallbacks += len(again)
        out.extend(self._from_cpu(queries, again))
        out.sort(key=lambda h: (h.query, h.distance, h.id))
        return out

    def _from_cpu(self, queries: npt.NDArray[np.uint8], which: Sequence[int] | range) -> list[Hit]:
        picked = list(which)
        if not picked:
            return []
        results = self._cpu.search(queries[picked], self.threshold)
        return [
            Hit(q, int(i), int(d))
            for q, (ids, dists) in zip(picked, results, strict=True)
            for i, d in zip(ids, dists, strict=True)
        ]
