from __future__ import annotations

from unittest.mock import patch

import numpy as np
import pytest

from accord.graph import baselines, reinsertion
from accord.graph.dismantling import auc10, lcc_curve, robustness
from accord.graph.edgelist import EdgeList
from accord.graph.keyplayers import dismantle
from accord.graph.reinsertion import reinsert


def _random(n: int, p: float, seed: int) -> EdgeList:
    rng = np.random.default_rng(seed)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    return EdgeList.from_pairs(n, pairs)


def test_reinsertion_puts_back_a_node_that_was_not_needed() -> None:
    # a star whose leaf 1 has its own leaf 5: removing 1 first is wasted, reinsertion moves the hub first
    g = EdgeList.from_pairs(6, [(0, 1), (0, 2), (0, 3), (0, 4), (1, 5)])
    order = [1, 0, 2, 3, 4, 5]
    better = reinsert(g, order, (0.1,))
    assert sorted(better) == list(range(6))
    assert better[0] == 0
    assert robustness(lcc_curve(g, better)) < robustness(lcc_curve(g, order))


@pytest.mark.parametrize("seed", range(12))
def test_reinsertion_never_makes_r_worse(seed: int) -> None:
    g = _random(40, 0.08, seed)
    for method in ("hda", "corehd", "ci", "hba"):
        plain = dismantle(g, method, reinsertion=False, seed=seed, objective="r")
        again = dismantle(g, method, reinsertion=True, seed=seed, objective="r")
        assert again.r <= plain.r
        assert sorted(again.order) == list(range(g.n))


def test_reinsertion_improves_hda_on_random_graphs_on_average() -> None:
    gains = []
    for seed in range(8):
        g = _random(60, 0.06, seed)
        order = baselines.hda(g, seed)
        gains.append(auc10(lcc_curve(g, order)) - auc10(lcc_curve(g, reinsert(g, order))))
    assert sum(gains) > 0


def test_capped_and_tail_modes_keep_a_permutation() -> None:
    g = _random(50, 0.1, 3)
    order = baselines.ci(g)
    for kwargs in ({"capped": True}, {"tail": False}):
        assert sorted(reinsert(g, order, (0.2, 0.05), **kwargs)) == list(range(g.n))


def _reference(g: EdgeList, order: list[int], targets: tuple[float, ...]) -> list[int]:
    """The exact greedy written plainly: per phase (as ``reinsert`` cuts them), put back the waiting node of
    least (1 + sizes of the distinct components it touches, -its position), costs recomputed every step."""
    from accord.graph.reinsertion import _phases

    position = {v: i for i, v in enumerate(order)}
    present: set[int] = set()
    adjacency = g.adjacency

    def component(v: int) -> frozenset[int]:
        seen, stack = {v}, [v]
        while stack:
            for u in adjacency[stack.pop()]:
                if u in present and u not in seen:
                    seen.add(u)
                    stack.append(u)
        return frozenset(seen)

    rebuilt: list[int] = []
    for phase, _ in reversed(_phases(g, order, targets)):
        waiting = set(phase)
        while waiting:

            def cost(v: int) -> int:
                parts = {component(u) for u in adjacency[v] if u in present}
                return 1 + sum(len(c) for c in parts)

            v = min(waiting, key=lambda v: (cost(v), -position[v]))
            waiting.discard(v)
            present.add(v)
            rebuilt.append(v)
    return rebuilt[::-1]


@pytest.mark.parametrize("seed", range(30))
def test_the_exact_greedy_is_the_plain_greedy(seed: int) -> None:
    # sparse and denser random graphs, so a giant forms, splits designations and re-designations happen
    g = _random(60, (0.03, 0.06, 0.12)[seed % 3], seed)
    for method in ("hda", "ci"):
        order = getattr(baselines, method)(g, seed)
        for targets in ((0.1,), (0.5, 0.1), (0.0,)):
            want = _reference(g, order, targets)
            assert reinsert(g, order, targets) == want, (method, targets)
            for slots in (1, 2):  # few designated components: more designations change hands
                with patch.object(reinsertion, "SLOTS", slots):
                    assert reinsert(g, order, targets) == want, (method, targets, slots)
