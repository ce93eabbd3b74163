"""Greedy reinsertion (Braunstein, Dall'Asta, Semerjian and Zdeborová, PNAS 2016; used by GND and GDM).

A strategy's first nodes break the network; many of them turn out not to be needed. Reinsertion takes the
removal order apart into phases at the points where the LCC first falls to each of ``targets`` (fractions of
N, largest first) and rebuilds the graph backwards from empty: the nodes of the last phase first, then those
of the phase before, and so on. Within a phase it adds back, each time, the node that ends up in the
smallest component (1 + the sizes of the distinct components it touches), ties going to the node the
strategy removed later. Reversed, that sequence is the new removal order: each phase removes the same set of
nodes as before, reordered so that the nodes that glue the biggest pieces together go first.

Costs only grow as components merge, so a lazy heap gives the exact greedy choice. Near the giant component
that alone is quadratic: every node next to it costs more each time it grows, and is requeued at every step.
``_Greedy`` therefore keeps the nodes touching a designated large component apart, keyed by what they cost
*besides* it (the same for all of them when it grows), and updates a node's key only when a component it
touches joins that one; each node joins it once per designation, and a component is designated anew only
when another grows to twice its size, so the exact greedy costs about O(M log N) (p2p-Gnutella31, 62,586
nodes: 328 s before, docs/benchmarks.md, "Network dismantling").
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence

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
    original order (so they are removed first, in the strategy's order). It is cheaper still, and worse:
    the exact greedy reorders the part of the order that AUC10 sees, the capped form mostly keeps it."""
    nodes = check_order(graph, order)
    if graph.n == 0:
        return []
    forest = _Greedy(graph, nodes)
    phases = _phases(graph, nodes, targets)
    for index, (phase, limit_of_phase) in enumerate(reversed(phases)):
        if index == 0 and not tail and len(phases) > 1:
            for v in sorted(phase, key=forest.position.__getitem__, reverse=True):  # as it was, reversed
                forest.add(v)
        elif capped:
            forest.capped_pass(phase, limit_of_phase)
        else:
            forest.exact_pass(phase)
    forest.rebuilt.reverse()
    return forest.rebuilt


class _Greedy:
    """The graph rebuilt node by node: a union-find forest over the nodes put back, with member lists (for
    the designated component's neighbours), and the greedy passes that choose the order."""

    def __init__(self, graph: EdgeList, nodes: list[int]) -> None:
        self.adjacency = graph.adjacency
        self.position = [0] * graph.n
        for i, v in enumerate(nodes):
            self.position[v] = i
        self.parent = list(range(graph.n))
        self.size = [1] * graph.n
        self.members: list[list[int]] = [[v] for v in range(graph.n)]
        self.present = [False] * graph.n
        self.rebuilt: list[int] = []

    def find(self, u: int) -> int:
        parent = self.parent
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    def roots(self, v: int) -> set[int]:
        """The components ``v`` touches."""
        return {self.find(u) for u in self.adjacency[v] if self.present[u]}

    def cost(self, v: int, limit: float = math.inf) -> int:
        """1 + the sizes of the components ``v`` touches; stops summing once past ``limit`` (the partial sum is
        then a lower bound, enough to requeue ``v``)."""
        total = 1
        roots: set[int] = set()
        for u in self.adjacency[v]:
            if self.present[u]:
                r = self.find(u)
                if r not in roots:
                    roots.add(r)
                    total += self.size[r]
                    if total > limit:
                        break
        return total

    def add(self, v: int) -> list[int]:
        """Put ``v`` back and join it to its neighbours' components; returns the roots merged away (their
        members now belong to ``v``'s component)."""
        self.present[v] = True
        self.rebuilt.append(v)
        merged: list[int] = []
        size, members, parent = self.size, self.members, self.parent
        for u in self.adjacency[v]:
            if self.present[u]:
                a, b = self.find(u), self.find(v)
                if a != b:
                    if size[a] > size[b]:
                        a, b = b, a
                    parent[a] = b
                    size[b] += size[a]
                    members[b].extend(members[a])
                    members[a] = []
                    merged.append(a)
        return merged

    def capped_pass(self, phase: list[int], cap: float) -> None:
        """Braunstein's capped greedy over ``phase`` (see ``reinsert``)."""
        position = self.position
        heap = [(self.cost(v), -position[v], v) for v in phase]
        heapq.heapify(heap)
        aside: list[int] = []
        while heap:
            c, p, v = heapq.heappop(heap)
            limit = heap[0][0] if heap else math.inf
            now = self.cost(v, min(limit, cap))
            if now > cap:
                aside.append(v)
                continue
            if now > c and now >= limit:  # no longer (or not alone) the cheapest: requeue
                heapq.heappush(heap, (now, p, v))
                continue
            self.add(v)
        for v in sorted(aside, key=position.__getitem__, reverse=True):
            self.add(v)

    def exact_pass(self, phase: list[int]) -> None:
        """Put ``phase`` back, each time the node of least (cost, -position): the exact greedy.

        Nodes touching the designated component ``g`` wait in ``near`` keyed by their cost without ``g``
        (``g``'s growth changes all of them alike); the others in ``far`` keyed by their cost. Keys are lower
        bounds, checked when they reach the top (costs only grow), except where a component joins ``g``: a
        node touching it then costs less without ``g``, or moves from ``far`` to ``near``, so it gets a new
        entry and its old one a stale stamp."""
        position, size = self.position, self.size
        waiting = set(phase)
        stamp = dict.fromkeys(phase, 0)
        far: list[tuple[int, int, int, int]] = [(self.cost(v), -position[v], v, 0) for v in phase]
        near: list[tuple[int, int, int, int]] = []
        heapq.heapify(far)
        g = -1  # a node of the designated component (its root moves as components merge), -1 for none

        def key(v: int, root: int) -> tuple[bool, int]:
            """(touches the designated component, cost without it)."""
            total, touches = 1, False
            for r in self.roots(v):
                if r == root:
                    touches = True
                else:
                    total += size[r]
            return touches, total

        def renew(nodes: Iterable[int], root: int) -> None:
            """New entries for the waiting neighbours of ``nodes`` (they touch a changed designated part)."""
            seen: set[int] = set()
            for x in nodes:
                for w in self.adjacency[x]:
                    if w in waiting and w not in seen:
                        seen.add(w)
                        stamp[w] += 1
                        touches, without = key(w, root)
                        entry = (without, -position[w], w, stamp[w])
                        heapq.heappush(near if touches else far, entry)

        def top(heap: list[tuple[int, int, int, int]], root: int) -> tuple[int, int, int, int] | None:
            """The heap's least entry once its key is checked (stale entries dropped, grown keys requeued)."""
            while heap:
                c, p, v, s = heap[0]
                if stamp.get(v) != s:
                    heapq.heappop(heap)
                    continue
                touches, without = key(v, root)
                now = without if heap is near else without + (size[root] if touches else 0)
                if now == c:
                    return heap[0]
                heapq.heapreplace(heap, (now, p, v, s))
            return None

        while waiting:
            root = self.find(g) if g >= 0 else -1
            a, b = top(far, root), top(near, root)
            if b is not None and (a is None or (b[0] + size[root], b[1]) < (a[0], a[1])):
                heapq.heappop(near)
                v = b[2]
            else:
                assert a is not None
                heapq.heappop(far)
                v = a[2]
            waiting.discard(v)
            del stamp[v]
            touched = self.roots(v)
            joining = [v] + [x for r in touched if r != root for x in self.members[r]] if root in touched else []
            self.add(v)
            mine = self.find(v)
            if joining:  # v and the components it touched are new to the designated component
                g = mine
                renew(joining, mine)
            elif root < 0 or size[mine] > 2 * size[root]:  # a new designation: both lose or gain it
                formerly = self.members[root] if root >= 0 else []
                g = mine
                renew([*formerly, *self.members[mine]], mine)
