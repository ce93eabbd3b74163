"""Scoring a removal order: the largest-component curve, R (FINDER) and AUC10 (GDM, MIND).

Why add nodes back instead of removing them: the largest connected component (LCC) after removing the
first q nodes of an order is the LCC of the graph induced by the rest. Adding the nodes back in reverse
order with a union-find gives every point of the curve in one pass, O((N + M) alpha(N)), where recomputing the
components after each removal would cost O(N (N + M)).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.integrate import simpson

from accord.errors import Invalid
from accord.graph.edgelist import EdgeList

__all__ = ["AUC_STOP", "auc10", "check_order", "lcc_curve", "robustness"]

AUC_STOP = 0.1  # AUC10 integrates until the LCC falls below this fraction of N

IntArray = npt.NDArray[np.int64]


def check_order(graph: EdgeList, order: Sequence[int] | IntArray) -> list[int]:
    """``order`` as a list of ints, after checking that it is a permutation of all the graph's nodes."""
    listed = [int(v) for v in order]
    if len(listed) != graph.n or sorted(listed) != list(range(graph.n)):
        raise Invalid.at("/order", f"a removal order must list each of the {graph.n} nodes exactly once")
    return listed


def lcc_curve(graph: EdgeList, order: Sequence[int] | IntArray) -> IntArray:
    """``curve[q]`` is the LCC size after removing ``order[:q]``, for q = 0..N (``curve[N]`` is 0)."""
    nodes = check_order(graph, order)
    adjacency = graph.adjacency
    parent = list(range(graph.n))
    size = [1] * graph.n
    present = [False] * graph.n
    curve = [0] * (graph.n + 1)
    biggest = 0
    for q in range(graph.n - 1, -1, -1):
        v = nodes[q]
        present[v] = True
        root = v
        for u in adjacency[v]:
            if not present[u]:
                continue
            while parent[u] != u:  # path halving
                parent[u] = parent[parent[u]]
                u = parent[u]
            if u == root:
                continue
            if size[u] > size[root]:
                u, root = root, u
            parent[u] = root
            size[root] += size[u]
        if size[root] > biggest:
            biggest = size[root]
        curve[q] = biggest
    return np.array(curve, dtype=np.int64)


def robustness(curve: IntArray) -> float:
    """R = (1/N) Σ_{q=1..N} LCC(q)/N, the mean LCC fraction over all removals (FINDER); 0 for no nodes."""
    n = len(curve) - 1
    return float(curve[1:].sum()) / (n * n) if n else 0.0


def auc10(curve: IntArray) -> float:
    """Simpson integral (dx = 1) of LCC(q)/N for q = 1, 2, ... up to and including the first removal that
    leaves LCC < 0.1 N (GDM and MIND, on the whole graph: N counts the small components too).

    scipy's ``simpson`` is the integrator those papers call, so its handling of an even number of points
    is theirs too. A graph whose LCC is already below 0.1 N integrates over the first removal only (0).
    """
    n = len(curve) - 1
    if n == 0:
        return 0.0
    below = np.flatnonzero(curve[1:] < AUC_STOP * n)
    stop = int(below[0]) + 1 if below.size else n  # curve[n] == 0 always qualifies
    return float(simpson(curve[1 : stop + 1] / n, dx=1.0))
