from __future__ import annotations

import itertools

import igraph as ig
import numpy as np
import pytest

from accord.errors import Invalid
from accord.graph.edgelist import EdgeList
from accord.graph.keyplayers import BASELINES, choose, component_sizes, dismantle


def _random(n: int, p: float, seed: int) -> EdgeList:
    rng = np.random.default_rng(seed)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    return EdgeList.from_pairs(n, pairs)


def _brute_lcc(g: EdgeList, k: int, pool: list[int]) -> int:
    """The optimum by igraph, independently of ``choose``: every k-subset of ``pool``."""
    full = ig.Graph(n=g.n, edges=g.edges.tolist())
    best = g.n
    for subset in itertools.combinations(pool, k):
        rest = full.induced_subgraph(sorted(set(range(g.n)) - set(subset)))
        best = min(best, max(rest.connected_components().sizes(), default=0))
    return best


@pytest.mark.parametrize("objective", ["auc10", "r"])
@pytest.mark.parametrize("seed", range(4))
def test_accord_is_at_least_as_good_as_every_baseline(objective: str, seed: int) -> None:
    g = _random(60, 0.07, seed)
    ours = dismantle(g, "accord", seed=seed, objective=objective)  # type: ignore[arg-type]
    assert sorted(ours.order) == list(range(g.n))
    for method in BASELINES:
        for reinsertion in (False, True):
            theirs = dismantle(g, method, reinsertion=reinsertion, seed=seed, objective=objective)  # type: ignore[arg-type]
            key = "auc10" if objective == "auc10" else "r"
            assert getattr(ours, key) <= getattr(theirs, key) + 1e-12, (method, reinsertion)


def test_accord_is_deterministic_for_a_seed() -> None:
    g = _random(50, 0.08, 9)
    assert dismantle(g, "accord", seed=3).order == dismantle(g, "accord", seed=3).order


@pytest.mark.parametrize("method", ["accord", *BASELINES])
def test_empty_and_edgeless_graphs(method: str) -> None:
    assert dismantle(EdgeList.from_pairs(0, []), method).order == []
    lonely = dismantle(EdgeList.from_pairs(3, []), method)
    assert sorted(lonely.order) == [0, 1, 2]
    assert lonely.r == pytest.approx(2 / 9)  # LCC 1, 1, 0 of 3


def test_disconnected_components_are_all_ordered() -> None:
    g = EdgeList.from_pairs(9, [(0, 1), (1, 2), (2, 0), (3, 4), (5, 6), (6, 7)])  # and node 8 alone
    d = dismantle(g, "accord")
    assert sorted(d.order) == list(range(9))
    assert d.order[0] in {0, 1, 2, 6}  # the triangle or the middle of the path


def test_unknown_method_or_objective() -> None:
    g = EdgeList.from_pairs(2, [(0, 1)])
    with pytest.raises(Invalid, match="unknown method"):
        dismantle(g, "pagerank")
    with pytest.raises(Invalid, match="unknown objective"):
        dismantle(g, "hda", objective="lcc")  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(6))
def test_choose_equals_brute_force(seed: int) -> None:
    g = _random(16, 0.2, seed)
    rng = np.random.default_rng(seed)
    pool = sorted(rng.choice(g.n, size=9, replace=False).tolist())
    for k in (1, 2, 3):
        picked = choose(g, k, pool)
        assert picked.exact
        assert set(picked.nodes) <= set(pool) and len(picked.nodes) == k
        assert picked.lcc == _brute_lcc(g, k, pool) == component_sizes(g, picked.nodes)[0]


@pytest.mark.parametrize("seed", range(6))
def test_choose_heuristic_reaches_the_optimum_on_small_graphs(seed: int) -> None:
    g = _random(18, 0.18, 100 + seed)
    pool = list(range(0, 18, 2))  # half the nodes are actionable (one jurisdiction)
    best = _brute_lcc(g, 3, pool)
    # with the high-degree start alone, and with a ranking the caller already has (the AUC10 one)
    for order in (None, dismantle(g, "accord", seed=1).order):
        picked = choose(g, 3, pool, exact_up_to=0, order=order)
        assert not picked.exact
        assert set(picked.nodes) <= set(pool)
        assert picked.lcc == best


def test_choose_respects_what_is_actionable() -> None:
    # a star whose hub 0 cannot be acted on: the best single actionable node is a leaf, LCC 4 of 5
    g = EdgeList.from_pairs(5, [(0, 1), (0, 2), (0, 3), (0, 4)])
    assert choose(g, 1, [1, 2, 3, 4]).lcc == 4
    assert choose(g, 1, [0, 1]).nodes == [0]
    assert choose(g, 5, [2]).nodes == [2]  # k beyond the actionable nodes: all of them
    with pytest.raises(Invalid, match="actionable"):
        choose(g, 1, [7])
    with pytest.raises(Invalid, match="k must"):
        choose(g, -1, [1])
