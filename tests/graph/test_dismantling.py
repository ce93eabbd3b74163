from __future__ import annotations

import igraph as ig
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import simpson

from accord.errors import Invalid
from accord.graph.dismantling import auc10, lcc_curve, robustness
from accord.graph.edgelist import EdgeList


def test_path() -> None:
    g = EdgeList.from_pairs(3, [(0, 1), (1, 2)])
    curve = lcc_curve(g, [1, 0, 2])
    assert curve.tolist() == [3, 1, 1, 0]
    assert robustness(curve) == pytest.approx(2 / 9)
    # LCC/N = 1/3, 1/3, 0 (stops at the first value below 0.1): Simpson (1/3)(1/3 + 4/3 + 0)
    assert auc10(curve) == pytest.approx(5 / 9)


def test_star() -> None:
    g = EdgeList.from_pairs(5, [(0, 1), (0, 2), (0, 3), (0, 4)])
    curve = lcc_curve(g, [0, 1, 2, 3, 4])
    assert curve.tolist() == [5, 1, 1, 1, 1, 0]
    assert robustness(curve) == pytest.approx(4 / 25)
    assert auc10(curve) == pytest.approx((0.2 + 4 * 0.2 + 2 * 0.2 + 4 * 0.2 + 0) / 3)
    # removing a leaf first keeps the hub's component: 4 of 5 nodes
    assert lcc_curve(g, [1, 0, 2, 3, 4]).tolist() == [5, 4, 1, 1, 1, 0]


def test_two_triangles() -> None:
    g = EdgeList.from_pairs(6, [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)])
    curve = lcc_curve(g, [0, 3, 1, 2, 4, 5])
    assert curve.tolist() == [3, 3, 2, 2, 2, 1, 0]
    assert robustness(curve) == pytest.approx(10 / 36)
    # LCC < 0.6 only once nothing is left: all six points, an even count, integrated as scipy does
    assert auc10(curve) == pytest.approx(simpson(np.array([3, 2, 2, 2, 1, 0]) / 6, dx=1.0))
    # with 14 isolated nodes more (N = 20) it stops at q = 5, the first LCC (1) below 2: five points
    padded = EdgeList.from_pairs(20, [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)])
    curve = lcc_curve(padded, [0, 3, 1, 2, 4, *range(5, 20)])
    assert curve.tolist()[:6] == [3, 3, 2, 2, 2, 1]
    assert auc10(curve) == pytest.approx((3 + 4 * 2 + 2 * 2 + 4 * 2 + 1) / 20 / 3)


def test_empty_graph_scores_zero() -> None:
    g = EdgeList.from_pairs(0, [])
    curve = lcc_curve(g, [])
    assert curve.tolist() == [0]
    assert robustness(curve) == 0.0
    assert auc10(curve) == 0.0


@pytest.mark.parametrize("order", [[0, 1], [0, 0, 1], [0, 1, 5]])
def test_order_must_be_a_permutation(order: list[int]) -> None:
    g = EdgeList.from_pairs(3, [(0, 1)])
    with pytest.raises(Invalid, match="exactly once"):
        lcc_curve(g, order)


@st.composite
def graphs_and_orders(draw: st.DrawFn) -> tuple[EdgeList, list[int]]:
    n = draw(st.integers(1, 14))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=30))
    order = draw(st.permutations(list(range(n))))
    return EdgeList.from_pairs(n, pairs), list(order)


@settings(max_examples=150, deadline=None)
@given(graphs_and_orders())
def test_union_find_curve_equals_recomputing_components(case: tuple[EdgeList, list[int]]) -> None:
    g, order = case
    full = ig.Graph(n=g.n, edges=g.edges.tolist())
    expected = []
    for q in range(g.n + 1):
        rest = full.induced_subgraph(sorted(set(range(g.n)) - set(order[:q])))
        expected.append(max(rest.connected_components().sizes(), default=0))
    assert lcc_curve(g, order).tolist() == expected
