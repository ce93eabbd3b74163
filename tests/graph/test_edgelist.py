from __future__ import annotations

from pathlib import Path

import pytest

from accord.errors import Invalid
from accord.graph.edgelist import EdgeList, parse_edgelist, read_edgelist


def test_tokens_are_numbered_in_order_and_mapped_back() -> None:
    g = parse_edgelist(["# a comment", "alice bob", "bob carol 1.5 1700000000", "", "% konect comment"])
    assert g.ids == ("alice", "bob", "carol")
    assert g.edges.tolist() == [[0, 1], [1, 2]]
    assert (g.n, g.m, g.self_loops, g.duplicates) == (3, 2, 0, 0)


def test_self_loops_and_duplicates_are_dropped_and_counted() -> None:
    g = parse_edgelist(["a a", "a b", "b a", "a b", "b c", "c c"])
    assert g.edges.tolist() == [[0, 1], [1, 2]]
    assert (g.self_loops, g.duplicates) == (2, 2)
    assert g.ids == ("a", "b", "c")  # a node seen only in a self-loop still counts


def test_nodes_header_counts_isolated_nodes() -> None:
    g = parse_edgelist(["# nodes=5 edges=1", "3 1"])
    assert g.n == 5
    assert g.ids == ("0", "1", "2", "3", "4")
    assert g.edges.tolist() == [[1, 3]]
    assert g.degrees.tolist() == [0, 1, 0, 1, 0]


def test_empty_graph() -> None:
    g = parse_edgelist(["# nothing here"])
    assert (g.n, g.m) == (0, 0)
    assert g.adjacency == []


@pytest.mark.parametrize(
    ("lines", "where"),
    [
        (["a b", "lonely"], "edges.txt:2: expected two node ids"),
        (["# nodes=3", "0 1", "1 7"], "edges.txt:3: node id '7' is not an integer in 0..2"),
        (["# nodes=3", "0 x"], "edges.txt:2: node id 'x'"),
        (["# nodes=many"], "edges.txt:1: nodes= must be a non-negative integer"),
        (["a b", "# nodes=3"], "edges.txt:2: the nodes= header must come before the edges"),
    ],
)
def test_bad_lines_name_the_line(lines: list[str], where: str) -> None:
    with pytest.raises(Invalid) as e:
        parse_edgelist(lines, "edges.txt")
    assert where in e.value.detail


def test_read_edgelist_file_errors(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="no such file"):
        read_edgelist(tmp_path / "missing.edges")
    bad = tmp_path / "bad.edges"
    bad.write_bytes(b"a b\n\xff\xfe c\n")
    with pytest.raises(Invalid, match="not UTF-8"):
        read_edgelist(bad)


def test_csr_lists_each_neighbour() -> None:
    g = EdgeList.from_pairs(4, [(0, 1), (0, 2), (2, 3)])
    assert g.adjacency == [[1, 2], [0], [0, 3], [2]]
    with pytest.raises(Invalid):
        EdgeList.from_pairs(2, [(0, 5)])
