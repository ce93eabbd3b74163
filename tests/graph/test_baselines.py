from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.graph import baselines
from accord.graph.dismantling import lcc_curve
from accord.graph.edgelist import EdgeList

STRATEGIES = [baselines.hda, baselines.corehd, baselines.ci, baselines.hba]


@st.composite
def graphs(draw: st.DrawFn) -> EdgeList:
    n = draw(st.integers(0, 25))
    if n == 0:
        return EdgeList.from_pairs(0, [])
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))
    return EdgeList.from_pairs(n, pairs)


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: s.__name__)
@settings(max_examples=40, deadline=None)
@given(g=graphs(), seed=st.integers(0, 3))
def test_every_strategy_orders_every_node_once(strategy: object, g: EdgeList, seed: int) -> None:
    order = strategy(g, seed)  # type: ignore[operator]
    assert sorted(order) == list(range(g.n))
    assert order == strategy(g, seed)  # type: ignore[operator]  # deterministic for a seed


def test_hda_takes_the_hub_first_and_recomputes_degrees() -> None:
    # two stars joined by a path: hub 0 (4 leaves), hub 5 (3 leaves), 0-9-5
    g = EdgeList.from_pairs(10, [(0, 1), (0, 2), (0, 3), (0, 4), (5, 6), (5, 7), (5, 8), (0, 9), (9, 5)])
    order = baselines.hda(g)
    assert order[:2] == [0, 5]
    assert lcc_curve(g, order).tolist()[2] == 1


def test_corehd_breaks_the_cycle_before_the_trees() -> None:
    # a triangle 0-1-2 carrying long tails from node 3 (degree 4, outside the 2-core)
    g = EdgeList.from_pairs(9, [(0, 1), (1, 2), (0, 2), (2, 3), (3, 4), (3, 5), (3, 6), (6, 7), (7, 8)])
    order = baselines.corehd(g)
    assert order[0] in {0, 1, 2}
    assert order[1] == 3  # then the forest by degree


def test_ci_and_hba_pick_the_bridge() -> None:
    # two 5-cliques joined through node 10 (a bridge of degree 2)
    pairs = [(i, j) for i in range(5) for j in range(i + 1, 5)]
    pairs += [(i + 5, j + 5) for i in range(5) for j in range(i + 1, 5)]
    pairs += [(0, 10), (10, 5)]
    g = EdgeList.from_pairs(11, pairs)
    assert baselines.hba(g)[0] == 10  # on 25 shortest paths; its neighbours 0 and 5 on 24
    assert baselines.ci(g)[0] == 10  # CI(10) = 1 * (8 * 3) = 24; CI(0) = 4 * (5 - 1) = 16


@pytest.mark.parametrize("seed", range(5))
def test_ci_scores_equal_the_ring_definition(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The block-wise sparse ring sums equal CI's definition computed from igraph's distance-2 rings, also
    when the blocks hold a handful of rows (triangles, parallel edges and isolated nodes included)."""
    import igraph as ig
    import numpy as np

    rng = np.random.default_rng(seed)
    n = 60
    edges = [tuple(int(x) for x in rng.integers(0, n, 2)) for _ in range(150)]
    g = ig.Graph(n=n, edges=[(u, v) for u, v in edges if u != v] + [(1, 2), (1, 2)])
    k = np.array(g.degree(), dtype=float)  # igraph counts parallel edges in the degree; the score does too
    excess = np.maximum(k - 1, 0)
    expected = excess * np.array([excess[ring].sum() for ring in g.neighborhood(order=2, mindist=2)])
    for chunk in (baselines.RING_CHUNK, 7):
        monkeypatch.setattr(baselines, "RING_CHUNK", chunk)
        assert np.allclose(baselines._CollectiveInfluence()(g), expected)
