"""Greedy reinsertion (Braunstein, Dall'Asta, Semerjian and Zdeborová, PNAS 2016; used by GND and GDM).

A strategy's first nodes break the network; many of them turn out not to be needed. Reinsertion takes the
removal order apart into phases at the points where the LCC first falls to each of ``targets`` (fractions of
N, largest first) and rebuilds the graph backwards from empty: the nodes of the last phase first, then those
of the phase before, and so on. Within a phase it adds back, each time, the node that ends up in the
smallest component (1 + the sizes of the distinct components it touches), ties going to the node the
strategy removed later. Reversed, that sequence is the new removal order: each phase removes the same set of
nodes as before, reordered so that the nodes that glue the biggest pieces together go first.

Costs only grow as components merge, so a lazy heap gives the exact greedy choice. Near a large component
that alone is quadratic: every node next to it costs more each time it grows, and is requeued at every step.
``_Greedy.exact_pass`` therefore designates up to ``SLOTS`` large components and keeps the nodes touching one
in that component's own heap, keyed by what they cost besides it (its growth changes them all alike); a
node's key is renewed only when a component it touches joins a designated one or gains or loses the
designation, and only the heap with the least lower bound is checked each step. On p2p-Gnutella31 (62,586
nodes) the HDA order's exact reinsertion fell from 291 s to 1.2 s (``bench/reinsertion.py``, side by side);
the order is the plain greedy's (tests/graph/test_reinsertion.py).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence

from accord.graph.dismantling import check_order, lcc_curve
from accord.graph.edgelist import EdgeList

__all__ = ["DEFAULT_TARGETS", "reinsert"]

DEFAULT_TARGETS = (0.1,)
SLOTS = 4  # large components designated at once by the exact greedy (``_Greedy.exact_pass``)


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
            forest.exact_pass(phase, SLOTS)
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

    def add(self, v: int) -> None:
        """Put ``v`` back and join it to its neighbours' components (their members lists too)."""
        self.present[v] = True
        self.rebuilt.append(v)
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

    def exact_pass(self, phase: list[int], slots: int) -> None:
        """Put ``phase`` back, each time the node of least (cost, -position): the exact greedy.

        Up to ``slots`` large components are designated. A node touching one or more of them waits in the
        heap of the largest it touched when placed, keyed by its cost without that one (its growth changes
        all of them alike); a node touching none waits in ``far`` keyed by its whole cost. Keys are lower
        bounds, checked when they reach the top (costs only grow), except where a component joins a
        designated one or loses or gains the designation: the nodes touching it then get new entries, and
        their old ones a stale stamp."""
        position, size = self.position, self.size
        waiting = set(phase)
        stamp = dict.fromkeys(phase, 0)
        Entry = tuple[int, int, int, int]  # (key, -position, node, stamp)
        far: list[Entry] = [(self.cost(v), -position[v], v, 0) for v in phase]
        heapq.heapify(far)
        held: dict[int, list[Entry]] = {}  # designated root -> its heap (roots are kept current below)

        def place(v: int) -> None:
            """A new entry for ``v``: in the heap of the largest designated component it touches, if any."""
            stamp[v] += 1
            total, mark = 1, -1
            for r in self.roots(v):
                total += size[r]
                if r in held and (mark < 0 or size[r] > size[mark]):
                    mark = r
            heapq.heappush(
                far if mark < 0 else held[mark], (total - size[mark] if mark >= 0 else total, -position[v], v, stamp[v])
            )

        def renew(nodes: Iterable[int]) -> None:
            seen: set[int] = set()
            for x in nodes:
                for w in self.adjacency[x]:
                    if w in waiting and w not in seen:
                        seen.add(w)
                        place(w)

        while waiting:
            # each heap's least key plus its component's size is a lower bound of its nodes' costs: check the
            # least bound's entry; it is the greedy choice if its cost is that bound, else it is requeued
            while True:
                bound: tuple[int, int] | None = None
                chosen, at = far, -1
                for root, heap in ((-1, far), *held.items()):
                    while heap and stamp.get(heap[0][2]) != heap[0][3]:
                        heapq.heappop(heap)
                    if heap:
                        low = (heap[0][0] + (size[root] if root >= 0 else 0), heap[0][1])
                        if bound is None or low < bound:
                            bound, chosen, at = low, heap, root
                c, p, v, stamped = chosen[0]
                now = 1 + sum(size[r] for r in self.roots(v) if r != at)
                if now == c:
                    heapq.heappop(chosen)
                    break
                heapq.heapreplace(chosen, (now, p, v, stamped))
            waiting.discard(v)
            del stamp[v]
            touched = self.roots(v)
            marked = sorted((r for r in touched if r in held), key=size.__getitem__, reverse=True)
            joining = [v] + [x for r in touched if r != marked[0] for x in self.members[r]] if marked else []
            heaps = [held.pop(r) for r in marked]
            self.add(v)
            mine = self.find(v)
            if marked:  # v and what it touched joined the largest designated component it touched
                held[mine] = heaps[0]
                renew(joining)
            elif len(held) < slots or size[mine] > 2 * min(size[r] for r in held):
                if len(held) >= slots:  # the smallest designated component loses the designation
                    smallest = min(held, key=size.__getitem__)
                    del held[smallest]
                    renew(self.members[smallest])
                held[mine] = []
                renew(self.members[mine])
