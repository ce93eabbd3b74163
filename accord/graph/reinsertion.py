"""Greedy reinsertion (Braunstein, Dall'Asta, Semerjian and Zdeborová, PNAS 2016; used by GND and GDM).

A strategy's first nodes break the network; many of them turn out not to be needed. Reinsertion takes the
removal order apart into phases at the points where the LCC first falls to each of ``targets`` (fractions of
N, largest first) and rebuilds the graph backwards from empty: the nodes of the last phase first, then those
of the phase before, and so on. Within a phase it adds back, each time, the node that ends up in the
smallest component (1 + the sizes of the distinct components it touches), ties going to the node the
strategy removed later. Reversed, that sequence is the new removal order: each phase removes the same set of
nodes as before, reordered so that the nodes that glue the biggest pieces together go first.

Costs only grow as components merge, so a lazy heap gives the exact greedy choice in O(M log N).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

from accord.graph.dismantling import check_order, lcc_curve
from accord.graph.edgelist import EdgeList

__all__ = ["DEFAULT_TARGETS", "reinsert"]

DEFAULT_TARGETS = (0.1,)


def _phases(graph: EdgeList, order: list[int], targets: Sequence[float]) -> list[tuple[list[int], float]]:
    """The order cut where the LCC first falls to each target, with the component size each piece's greedy
    pass may build under ``capped`` (its target's; no limit for the last piece)."""
    curve = lcc_curve(graph, order).tolist()
    cuts: list[tuple[int, float]] = []
    for t in sorted(set(targets), reverse=True):
        q = next((i for i, size in enumerate(curve) if size <= t * graph.n), graph.n)
        if (not cuts or q > cuts[-1][0]) and q < graph.n:
            cuts.append((q, max(1.0, t * graph.n)))
    bounds = [0, *(q for q, _ in cuts), graph.n]
    caps = [*(c for _, c in cuts), math.inf]
    return [(order[a:b], cap) for a, b, cap in zip(bounds, bounds[1:], caps, strict=False) if b > a]


def reinsert(
    graph: EdgeList,
    order: Sequence[int],
    targets: Sequence[float] = DEFAULT_TARGETS,
    *,
    tail: bool = True,
    capped: bool = False,
) -> list[int]:
    """The removal ``order`` reordered by greedy reinsertion within each phase (see the module docstring).

    ``tail=False`` keeps the last phase (what is removed after the LCC is down to the smallest target) in
    its original order: AUC10 never looks at it, and it holds most of the nodes, so this is much faster.

    ``capped`` is Braunstein et al.'s form: within a phase, a node that would join a component larger than
    the phase's target is not put back greedily; those nodes are put back last, in the reverse of the
    original order (so they are removed first, in the strategy's order). Without the cap, nodes next to
    the growing giant component are requeued at every step (quadratic in the phase's size); with it the
    pass is O(M log N), which is what makes reinsertion affordable on graphs of tens of thousands of nodes."""
    nodes = check_order(graph, order)
    if graph.n == 0:
        return []
    adjacency = graph.adjacency
    position = [0] * graph.n
    for i, v in enumerate(nodes):
        position[v] = i
    parent = list(range(graph.n))
    size = [1] * graph.n
    present = [False] * graph.n

    def find(u: int) -> int:
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    def cost(v: int, limit: float = math.inf) -> int:
        # stops summing once past ``limit``: the partial sum is then a lower bound, enough to requeue v
        total = 1
        roots: set[int] = set()
        for u in adjacency[v]:
            if present[u]:
                while parent[u] != u:
                    parent[u] = parent[parent[u]]
                    u = parent[u]
                if u not in roots:
                    roots.add(u)
                    total += size[u]
                    if total > limit:
                        break
        return total

    rebuilt: list[int] = []
    phases = _phases(graph, nodes, targets)
    for index, (phase, limit_of_phase) in enumerate(reversed(phases)):
        cap = limit_of_phase if capped else math.inf
        aside: list[int] = []
        if index == 0 and not tail and len(phases) > 1:
            heap = [(0, -position[v], v) for v in phase]  # in the original order, each popped once
            heap.sort()
        else:
            heap = [(cost(v), -position[v], v) for v in phase]
        heapq.heapify(heap)
        while heap:
            c, p, v = heapq.heappop(heap)
            if c:
                limit = heap[0][0] if heap else math.inf
                now = cost(v, min(limit, cap))
                if now > cap:
                    aside.append(v)
                    continue
                if now > c and now >= limit:  # no longer (or not alone) the cheapest: requeue
                    heapq.heappush(heap, (now, p, v))
                    continue
            present[v] = True
            rebuilt.append(v)
            for u in adjacency[v]:
                if present[u]:
                    a, b = find(u), find(v)
                    if a != b:
                        if size[a] > size[b]:
                            a, b = b, a
                        parent[a] = b
                        size[b] += size[a]
        for v in sorted(aside, key=position.__getitem__, reverse=True):
            present[v] = True
            rebuilt.append(v)
            for u in adjacency[v]:
                if present[u]:
                    a, b = find(u), find(v)
                    if a != b:
                        if size[a] > size[b]:
                            a, b = b, a
                        parent[a] = b
                        size[b] += size[a]
    rebuilt.reverse()
    return rebuilt
