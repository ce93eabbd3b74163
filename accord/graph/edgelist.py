"""Plain edge lists (``u v`` a line) read into an undirected simple graph with a map back to the original ids.

Why a simple graph: dismantling measures connectivity only, so a self-loop never connects anything and a
repeated edge connects nothing new. Both are dropped and counted (``self_loops``, ``duplicates``) so a caller
can say what was ignored. Extra columns after the two ids (KONECT and SNAP files carry weights and times)
are ignored for the same reason.

Node ids are arbitrary tokens, numbered in order of first appearance. A ``# nodes=N`` header (as in
``shared/data/dismantling``) says the ids are the integers ``0..N-1``: then node ``i`` is index ``i`` and the
nodes that appear on no line are isolated nodes that still count in N.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt

from accord.errors import Invalid

__all__ = ["EdgeList", "parse_edgelist", "read_edgelist"]

IntArray = npt.NDArray[np.int64]

_NODES = re.compile(r"\bnodes\s*=\s*(\S+)")


@dataclass(frozen=True, eq=False)
class EdgeList:
    """An undirected simple graph on nodes ``0..n-1``; ``ids[i]`` is node ``i``'s id in the file."""

    ids: tuple[str, ...]
    edges: IntArray  # shape (m, 2), u < v, each edge once, sorted
    self_loops: int = 0
    duplicates: int = 0

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def m(self) -> int:
        return int(self.edges.shape[0])

    @cached_property
    def csr(self) -> tuple[IntArray, IntArray]:
        """``(indptr, indices)``: node ``v``'s neighbours are ``indices[indptr[v]:indptr[v + 1]]``."""
        both = np.concatenate([self.edges, self.edges[:, ::-1]]) if self.m else np.zeros((0, 2), np.int64)
        both = both[np.lexsort((both[:, 1], both[:, 0]))]
        indptr = np.zeros(self.n + 1, np.int64)
        np.cumsum(np.bincount(both[:, 0], minlength=self.n), out=indptr[1:])
        return indptr, np.ascontiguousarray(both[:, 1])

    @cached_property
    def adjacency(self) -> list[list[int]]:
        """Neighbour lists as Python ints: the greedy loops index them millions of times."""
        indptr, indices = self.csr
        flat = indices.tolist()
        bounds = indptr.tolist()
        return [flat[bounds[v] : bounds[v + 1]] for v in range(self.n)]

    @cached_property
    def degrees(self) -> IntArray:
        return np.diff(self.csr[0])

    @classmethod
    def from_pairs(cls, n: int, pairs: Iterable[tuple[int, int]], ids: Iterable[str] | None = None) -> EdgeList:
        """A graph from index pairs (tests, generators); self-loops and repeats are dropped and counted."""
        arr = np.array(list(pairs), dtype=np.int64).reshape(-1, 2)
        if arr.size and (arr.min() < 0 or arr.max() >= n):
            raise Invalid.at("", f"edge endpoints must lie in 0..{n - 1}")
        names = tuple(ids) if ids is not None else tuple(str(i) for i in range(n))
        if len(names) != n:
            raise Invalid.at("", f"{len(names)} ids for {n} nodes")
        return _simple(names, arr)


def _simple(ids: tuple[str, ...], raw: IntArray) -> EdgeList:
    loops = raw[:, 0] == raw[:, 1]
    kept = np.sort(raw[~loops], axis=1)
    unique = np.unique(kept, axis=0) if kept.size else kept.reshape(0, 2)
    return EdgeList(ids, unique, int(loops.sum()), int(kept.shape[0] - unique.shape[0]))


def parse_edgelist(lines: Iterable[str], name: str = "edge list") -> EdgeList:
    """Read ``u v`` lines; a line with fewer than two ids raises ``Invalid`` naming ``name`` and the line."""
    declared: int | None = None
    index: dict[str, int] = {}
    us: list[int] = []
    vs: list[int] = []
    for lineno, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        if text.startswith(("#", "%")):  # KONECT files use % for comments
            found = _NODES.search(text)
            if found and declared is None:
                if index:
                    raise Invalid.at("/nodes", f"{name}:{lineno}: the nodes= header must come before the edges")
                declared = _count(found.group(1), name, lineno)
                index = {str(i): i for i in range(declared)}
            continue
        parts = text.split()
        if len(parts) < 2:
            raise Invalid.at(f"/lines/{lineno}", f"{name}:{lineno}: expected two node ids 'u v', got {text[:60]!r}")
        for token, into in ((parts[0], us), (parts[1], vs)):
            i = index.get(token)
            if i is None:
                if declared is not None:
                    raise Invalid.at(
                        f"/lines/{lineno}",
                        f"{name}:{lineno}: node id {token[:40]!r} is not an integer in 0..{declared - 1} "
                        f"(the header says nodes={declared})",
                    )
                i = index[token] = len(index)
            into.append(i)
    raw = np.column_stack([np.array(us, np.int64), np.array(vs, np.int64)]) if us else np.zeros((0, 2), np.int64)
    return _simple(tuple(index), raw)


def _count(token: str, name: str, lineno: int) -> int:
    if not token.isdigit():
        raise Invalid.at("/nodes", f"{name}:{lineno}: nodes= must be a non-negative integer, got {token[:40]!r}")
    return int(token)


def read_edgelist(path: Path) -> EdgeList:
    """Read an edge-list file (UTF-8); a missing file or a bad line raises ``Invalid`` naming the file."""
    try:
        with path.open(encoding="utf-8") as fh:
            return parse_edgelist(fh, str(path))
    except FileNotFoundError:
        raise Invalid.at("", f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise Invalid.at("", f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
