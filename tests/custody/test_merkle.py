"""The RFC 9162 Merkle tree (``accord/custody/merkle.py``): published vectors, then properties.

The vectors are the certificate-transparency test data (transparency-dev/merkle ``testonly/constants.go``
and ``proof/verify_test.go``): eight leaves, the root of every prefix, the hash of every perfect
subtree, and known inclusion and consistency proofs, each also checked against the same corruptions
those tests try.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from accord.custody.merkle import (
    EMPTY_ROOT,
    Frontier,
    PerfectNode,
    SubtreeCache,
    consistency_proof,
    consistency_proof_from,
    consistency_ranges,
    hash_range,
    inclusion_proof,
    inclusion_proof_from,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    range_nodes,
    root_from_hashes,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex

LEAVES = [
    h(x) for x in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
]
ROOTS = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]
NODES = [  # NODES[level][index]
    [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]
# compact.Tree hashes (CompactTrees in the same file): the frontier of every prefix.
FRONTIERS = [
    [],
    [NODES[0][0]],
    [NODES[1][0]],
    [NODES[1][0], NODES[0][2]],
    [NODES[2][0]],
    [NODES[2][0], NODES[0][4]],
    [NODES[2][0], NODES[1][2]],
    [NODES[2][0], NODES[1][2], NODES[0][6]],
    [NODES[3][0]],
]
# (index, size, proof); the Go vectors count leaves from 1, these from 0.
INCLUSION = [
    (0, 1, []),
    (0, 8, [NODES[0][1], NODES[1][1], NODES[2][1]]),
    (5, 8, [NODES[0][4], NODES[1][3], NODES[2][0]]),
    (2, 3, [NODES[1][0]]),
    (1, 5, [NODES[0][0], NODES[1][1], NODES[0][4]]),
]
CONSISTENCY = [
    (1, 1, []),
    (1, 8, [NODES[0][1], NODES[1][1], NODES[2][1]]),
    (6, 8, [NODES[1][2], NODES[1][3], NODES[2][0]]),
    (2, 5, [NODES[1][1], NODES[0][4]]),
    (6, 7, [NODES[1][2], NODES[0][6], NODES[2][0]]),
]
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")
HASHES = [leaf_hash(leaf) for leaf in LEAVES]


# --- published vectors --------------------------------------------------------------------------


def test_empty_root_is_sha256_of_nothing() -> None:
    assert root_hash([]) == root_from_hashes([]) == EMPTY_ROOT == ROOTS[0]
    assert Frontier().root() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(9))
def test_root_of_every_prefix(size: int) -> None:
    assert root_hash(LEAVES[:size]) == ROOTS[size]
    assert root_from_hashes(HASHES[:size]) == ROOTS[size]


def test_leaf_and_node_hashes() -> None:
    assert NODES[0] == HASHES
    assert node_hash(NODES[0][0], NODES[0][1]) == NODES[1][0]


@pytest.mark.parametrize("size", range(9))
def test_frontier_of_every_prefix(size: int) -> None:
    frontier = Frontier()
    frontier.extend(HASHES[:size])
    assert list(frontier.hashes) == FRONTIERS[size]
    assert frontier.root() == ROOTS[size]


def test_subtree_cache_holds_every_published_node() -> None:
    cache = SubtreeCache(HASHES)
    for level, row in enumerate(NODES):
        for index, expected in enumerate(row):
            assert cache.node(level, index) == expected


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_published_inclusion_proofs(index: int, size: int, proof: list[bytes]) -> None:
    assert inclusion_proof(index, HASHES[:size]) == proof
    assert SubtreeCache(HASHES).inclusion_proof(index, size) == proof
    assert verify_inclusion(index, size, HASHES[index], proof, ROOTS[size])
    for probe in corrupt_inclusion(index, size, proof, ROOTS[size], HASHES[index]):
        assert not verify_inclusion(*probe[:5]), probe[5]


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_published_consistency_proofs(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_proof(old, HASHES[:new]) == proof
    assert SubtreeCache(HASHES).consistency_proof(old, new) == proof
    assert verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)
    if proof:
        for probe in corrupt_consistency(old, new, ROOTS[old], ROOTS[new], proof):
            assert not verify_consistency(*probe[:5]), probe[5]


def corrupt_inclusion(index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes) -> list[tuple[Any, ...]]:
    """The corruptions of ``corruptInclusionProof`` in transparency-dev/merkle's verify_test.go."""
    probes: list[tuple[Any, ...]] = [
        (index - 1, size, leaf, proof, root, "index - 1"),
        (index + 1, size, leaf, proof, root, "index + 1"),
        (index ^ 2, size, leaf, proof, root, "index ^ 2"),
        (index, size * 2, leaf, proof, root, "size * 2"),
        (index, size // 2, leaf, proof, root, "size / 2"),
        (index, size, b"WrongLeaf", proof, root, "wrong leaf"),
        (index, size, leaf, proof, EMPTY_ROOT, "empty root"),
        (index, size, leaf, proof, SOME_HASH, "random root"),
        (index, size, leaf, [*proof, b""], root, "trailing garbage"),
        (index, size, leaf, [*proof, root], root, "trailing root"),
        (index, size, leaf, [b"", *proof], root, "preceding garbage"),
        (index, size, leaf, [root, *proof], root, "preceding root"),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 8]) + wrong[i][1:]
        probes.append((index, size, leaf, wrong, root, f"modified proof[{i}]"))
    if proof:
        probes.append((index, size, leaf, proof[:-1], root, "removed component"))
    if len(proof) > 1:
        probes.append((index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], root, "inserted component"))
    return probes


def corrupt_consistency(old: int, new: int, root1: bytes, root2: bytes, proof: list[bytes]) -> list[tuple[Any, ...]]:
    """The corruptions of ``corruptConsistencyProof`` in the same file."""
    probes: list[tuple[Any, ...]] = [
        (old - 1, new, root1, root2, proof, "old - 1"),
        (old + 1, new, root1, root2, proof, "old + 1"),
        (old ^ 2, new, root1, root2, proof, "old ^ 2"),
        (old, new * 2, root1, root2, proof, "new * 2"),
        (old, new // 2, root1, root2, proof, "new / 2"),
        (old, new, b"WrongRoot", root2, proof, "wrong root1"),
        (old, new, root1, b"WrongRoot", proof, "wrong root2"),
        (old, new, root2, root1, proof, "swapped roots"),
        (old, new, root1, root2, [], "empty proof"),
        (old, new, root1, root2, [*proof, b""], "trailing garbage"),
        (old, new, root1, root2, [*proof, root1], "trailing root1"),
        (old, new, root1, root2, [*proof, root2], "trailing root2"),
        (old, new, root1, root2, [b"", *proof], "preceding garbage"),
        (old, new, root1, root2, [root1, *proof], "preceding root1"),
        (old, new, root1, root2, [root2, *proof], "preceding root2"),
        (old, new, root1, root2, [proof[0], *proof], "preceding proof[0]"),
        (old, new, root1, root2, proof[:-1], "truncated proof"),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 16]) + wrong[i][1:]
        probes.append((old, new, root1, root2, wrong, f"modified proof[{i}]"))
    return probes


def test_single_leaf_tree() -> None:
    data = leaf_hash(b"data")
    assert verify_inclusion(0, 1, data, [], data)
    assert not verify_inclusion(0, 1, data, [], b"")
    assert not verify_inclusion(0, 1, b"", [], data)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (2, 1)])
def test_inclusion_outside_the_tree_fails(index: int, size: int) -> None:
    assert not verify_inclusion(index, size, SOME_HASH, [], EMPTY_ROOT)
    assert not verify_inclusion(index, size, SOME_HASH, [], SOME_HASH)


def test_consistency_edges() -> None:
    r1, r2 = ROOTS[3], ROOTS[5]
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(0, 5, EMPTY_ROOT, r2, [])
    assert verify_consistency(3, 3, r1, r1, [])
    assert not verify_consistency(0, 5, r1, r2, [])  # an empty tree has one root
    assert not verify_consistency(3, 3, r1, r2, [])
    assert not verify_consistency(1, 0, r1, r2, [])
    assert not verify_consistency(5, 3, r2, r1, [])
    assert not verify_consistency(3, 5, r1, r2, [])  # empty proof
    assert not verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])
    assert not verify_consistency(0, 1, EMPTY_ROOT, ROOTS[1], [EMPTY_ROOT])
    assert not verify_consistency(1, 1, ROOTS[1], ROOTS[1], [EMPTY_ROOT])


# --- arguments -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: inclusion_proof(8, HASHES), "outside a tree of size 8"),
        (lambda: inclusion_proof(0, []), "outside a tree of size 0"),
        (lambda: inclusion_proof(-1, HASHES), "must not be negative"),
        (lambda: inclusion_proof(True, HASHES), "must be an integer"),
        (lambda: inclusion_ranges(3, 3), "outside a tree of size 3"),
        (lambda: inclusion_ranges(0, 2**64), "fit in 64 bits"),
        (lambda: consistency_proof(9, HASHES), "larger than the tree"),
        (lambda: consistency_proof(-2, HASHES), "must not be negative"),
        (lambda: consistency_ranges(5, 4), "larger than new size"),
        (lambda: consistency_ranges(1, -4), "must not be negative"),
        (lambda: inclusion_proof_from(4, 4, SubtreeCache(HASHES).subtree), "outside a tree"),
        (lambda: consistency_proof_from(4, 3, SubtreeCache(HASHES).subtree), "larger than new size"),
        (lambda: SubtreeCache(HASHES).inclusion_proof(0, 9), "beyond the log's 8 leaves"),
        (lambda: SubtreeCache(HASHES).node(3, 1), "no complete subtree"),
        (lambda: range_nodes(4, 4), "empty or reversed"),
        (lambda: range_nodes(2, 5), "not a subtree"),
        (lambda: range_nodes(1.5, 3), "must be an integer"),  # type: ignore[arg-type]
        (lambda: Frontier().append(b"short"), "must be 32 bytes"),
        (lambda: Frontier.from_bytes(b"\x00" * 7), "8-byte size"),
        (lambda: Frontier.from_bytes(bytes(7) + b"\x03" + bytes(32)), "holds 2 hashes"),
    ],
)
def test_bad_arguments_raise_value_error(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


BAD_SIZES = [-1, True, 2**64, 1.0, "3", None]


@pytest.mark.parametrize("bad", BAD_SIZES)
def test_verifiers_answer_false_to_malformed_sizes(bad: object) -> None:
    proof = INCLUSION[2][2]
    assert not verify_inclusion(bad, 8, HASHES[5], proof, ROOTS[8])  # type: ignore[arg-type]
    assert not verify_inclusion(5, bad, HASHES[5], proof, ROOTS[8])  # type: ignore[arg-type]
    old, new, cproof = CONSISTENCY[2]
    assert not verify_consistency(bad, new, ROOTS[old], ROOTS[new], cproof)  # type: ignore[arg-type]
    assert not verify_consistency(old, bad, ROOTS[old], ROOTS[new], cproof)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [b"", b"x" * 31, b"x" * 33, "a" * 32, None, bytearray(32)])
def test_verifiers_answer_false_to_malformed_hashes(bad: object) -> None:
    index, size, proof = INCLUSION[2]
    assert not verify_inclusion(index, size, bad, proof, ROOTS[size])  # type: ignore[arg-type]
    assert not verify_inclusion(index, size, HASHES[index], proof, bad)  # type: ignore[arg-type]
    assert not verify_inclusion(index, size, HASHES[index], [proof[0], bad, proof[2]], ROOTS[size])  # type: ignore[list-item]
    old, new, cproof = CONSISTENCY[2]
    assert not verify_consistency(old, new, bad, ROOTS[new], cproof)  # type: ignore[arg-type]
    assert not verify_consistency(old, new, ROOTS[old], bad, cproof)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [b"".join(INCLUSION[2][2]), "proof", None, 3, [SOME_HASH] * 66])
def test_verifiers_answer_false_to_malformed_proofs(bad: object) -> None:
    assert not verify_inclusion(5, 8, HASHES[5], bad, ROOTS[8])  # type: ignore[arg-type]
    assert not verify_consistency(6, 8, ROOTS[6], ROOTS[8], bad)  # type: ignore[arg-type]


def test_frontier_round_trips_through_bytes() -> None:
    for size in range(9):
        frontier = Frontier()
        frontier.extend(HASHES[:size])
        stored = frontier.to_bytes()
        assert len(stored) == 8 + 32 * size.bit_count()
        again = Frontier.from_bytes(stored)
        assert again == frontier and again.size == size and again.root() == ROOTS[size]
        assert again.to_bytes() == stored
    assert Frontier() != "Frontier"
    assert "size=0" in repr(Frontier())


def test_frontier_reports_every_subtree_it_completes() -> None:
    frontier = Frontier()
    completed = [frontier.append(x) for x in HASHES]
    assert completed[0] == [PerfectNode(0, 0, NODES[0][0])]
    assert completed[3] == [
        PerfectNode(0, 3, NODES[0][3]),
        PerfectNode(1, 1, NODES[1][1]),
        PerfectNode(2, 0, NODES[2][0]),
    ]
    assert completed[7][-1] == PerfectNode(3, 0, NODES[3][0])
    assert sum(len(c) for c in completed) == 15  # 8 leaves, 4 + 2 + 1 parents


def test_frontier_copy_is_independent() -> None:
    frontier = Frontier()
    frontier.extend(HASHES[:3])
    copy = frontier.copy()
    copy.append(HASHES[3])
    assert frontier.size == 3 and copy.size == 4
    assert copy.root() == ROOTS[4] and frontier.root() == ROOTS[3]


def test_range_nodes_decompose_by_set_bits() -> None:
    assert range_nodes(0, 8) == [(3, 0)]
    assert range_nodes(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert range_nodes(8, 13) == [(2, 2), (0, 12)]
    cache = SubtreeCache(HASHES)
    assert hash_range(4, 7, cache.node) == root_from_hashes(HASHES[4:7])


# --- properties ----------------------------------------------------------------------------------


def hashes_of(n: int, salt: bytes = b"") -> list[bytes]:
    return [leaf_hash(salt + i.to_bytes(4, "big")) for i in range(n)]


BIG = hashes_of(300)
BIG_CACHE = SubtreeCache(BIG)


def test_every_proof_up_to_128_leaves_verifies_and_matches_the_reference() -> None:
    """Exhaustive for small trees: every index and every old size, both builders, both verifiers."""
    cache = SubtreeCache()
    for n in range(1, 129):
        cache.append(BIG[n - 1])
        root = cache.root()
        assert root == root_from_hashes(BIG[:n])
        for i in range(n):
            proof = cache.inclusion_proof(i)
            if n <= 40:
                assert proof == inclusion_proof(i, BIG[:n])
            assert verify_inclusion(i, n, BIG[i], proof, root)
        for m in range(n + 1):
            proof = cache.consistency_proof(m)
            if n <= 40:
                assert proof == consistency_proof(m, BIG[:n])
            assert verify_consistency(m, n, root_from_hashes(BIG[:m]), root, proof)


sizes = st.integers(min_value=1, max_value=300)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(sizes)
    return n, draw(st.integers(min_value=0, max_value=n - 1))


@st.composite
def tree_and_old(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(sizes)
    return n, draw(st.integers(min_value=0, max_value=n))


@settings(max_examples=150, deadline=None)
@given(tree_and_index())
def test_inclusion_proofs_verify_and_match_the_reference(case: tuple[int, int]) -> None:
    n, i = case
    proof = inclusion_proof(i, BIG[:n])
    assert proof == BIG_CACHE.inclusion_proof(i, n)
    assert proof == inclusion_proof_from(i, n, lambda s, e: root_from_hashes(BIG[s:e]))
    assert verify_inclusion(i, n, BIG[i], proof, root_from_hashes(BIG[:n]))


@settings(max_examples=150, deadline=None)
@given(tree_and_old())
def test_consistency_proofs_verify_and_match_the_reference(case: tuple[int, int]) -> None:
    n, m = case
    proof = consistency_proof(m, BIG[:n])
    assert proof == BIG_CACHE.consistency_proof(m, n)
    assert proof == consistency_proof_from(m, n, lambda s, e: root_from_hashes(BIG[s:e]))
    assert verify_consistency(m, n, root_from_hashes(BIG[:m]), root_from_hashes(BIG[:n]), proof)


@settings(max_examples=100, deadline=None)
@given(tree_and_index(), st.data())
def test_a_changed_leaf_is_rejected(case: tuple[int, int], data: st.DataObject) -> None:
    n, i = case
    root = root_from_hashes(BIG[:n])
    proof = BIG_CACHE.inclusion_proof(i, n)
    other = leaf_hash(b"changed" + os.urandom(4))
    assert not verify_inclusion(i, n, other, proof, root)
    # the log's own proof for a tampered leaf does not verify against the published root either
    tampered = [*BIG[:n]]
    j = data.draw(st.integers(min_value=0, max_value=n - 1))
    tampered[j] = other
    assert not verify_inclusion(j, n, other, inclusion_proof(j, tampered), root)
    for m in range(j + 1, n + 1, max(1, n // 8)):
        old_root = root_from_hashes(BIG[:m])
        assert not verify_consistency(m, n, old_root, root_from_hashes(tampered), consistency_proof(m, tampered))


@settings(max_examples=100, deadline=None)
@given(sizes.filter(lambda n: n >= 2), st.data())
def test_two_swapped_leaves_are_rejected(n: int, data: st.DataObject) -> None:
    i = data.draw(st.integers(min_value=0, max_value=n - 2))
    j = data.draw(st.integers(min_value=i + 1, max_value=n - 1))
    swapped = [*BIG[:n]]
    swapped[i], swapped[j] = swapped[j], swapped[i]
    root = root_from_hashes(BIG[:n])
    assert root_from_hashes(swapped) != root
    assert not verify_inclusion(i, n, BIG[i], inclusion_proof(i, swapped), root)
    assert not verify_inclusion(i, n, swapped[i], inclusion_proof(i, swapped), root)
    m = data.draw(st.integers(min_value=j + 1, max_value=n))
    assert not verify_consistency(
        m, n, root_from_hashes(BIG[:m]), root_from_hashes(swapped), consistency_proof(m, swapped)
    )


@settings(max_examples=100, deadline=None)
@given(tree_and_old())
def test_a_truncated_log_is_rejected(case: tuple[int, int]) -> None:
    n, t = case
    assume(t < n)
    big_root = root_from_hashes(BIG[:n])
    short_root = root_from_hashes(BIG[:t])
    # a log that rolled back from n to t cannot prove it extends the checkpoint at n
    for proof in ([], consistency_proof(t, BIG[:n])):
        assert not verify_consistency(n, t, big_root, short_root, proof)
    # and an entry past the truncation point cannot be proven against the short tree
    if t:
        assert not verify_inclusion(n - 1, t, BIG[n - 1], BIG_CACHE.inclusion_proof(n - 1, n), short_root)


def other_than(value: int, low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=low, max_value=high).filter(lambda x: x != value)


@settings(max_examples=150, deadline=None)
@given(tree_and_index(), st.data())
def test_an_inclusion_proof_for_another_size_is_rejected(case: tuple[int, int], data: st.DataObject) -> None:
    n, i = case
    other = data.draw(other_than(n, i + 1, 300))
    proof = BIG_CACHE.inclusion_proof(i, n)
    assert not verify_inclusion(i, other, BIG[i], proof, root_from_hashes(BIG[:other]))


@settings(max_examples=150, deadline=None)
@given(sizes.filter(lambda n: n >= 2), st.data())
def test_a_consistency_proof_for_another_size_is_rejected(n: int, data: st.DataObject) -> None:
    m = data.draw(st.integers(min_value=1, max_value=n - 1))
    proof = BIG_CACHE.consistency_proof(m, n)
    new = data.draw(other_than(n, m + 1, 300))
    assert not verify_consistency(m, new, root_from_hashes(BIG[:m]), root_from_hashes(BIG[:new]), proof)
    old = data.draw(other_than(m, 1, n - 1)) if n > 2 else 1
    if old != m:
        assert not verify_consistency(old, n, root_from_hashes(BIG[:old]), root_from_hashes(BIG[:n]), proof)


def mutations(proof: list[bytes], data: st.DataObject) -> list[tuple[str, list[bytes]]]:
    out: list[tuple[str, list[bytes]]] = []
    if proof:
        k = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="dropped")
        out.append(("dropped", proof[:k] + proof[k + 1 :]))
        bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
        flipped = bytearray(proof[k])
        flipped[bit // 8] ^= 1 << (bit % 8)
        out.append(("flipped", [*proof[:k], bytes(flipped), *proof[k + 1 :]]))
    at = data.draw(st.integers(min_value=0, max_value=len(proof)), label="added at")
    extra = data.draw(st.sampled_from([SOME_HASH, EMPTY_ROOT, *proof]), label="added")
    out.append(("added", [*proof[:at], extra, *proof[at:]]))
    return out


@settings(max_examples=200, deadline=None)
@given(tree_and_index(), st.data())
def test_a_mutated_inclusion_proof_is_rejected(case: tuple[int, int], data: st.DataObject) -> None:
    n, i = case
    proof = BIG_CACHE.inclusion_proof(i, n)
    root = root_from_hashes(BIG[:n])
    for what, wrong in mutations(proof, data):
        assert not verify_inclusion(i, n, BIG[i], wrong, root), what


@settings(max_examples=200, deadline=None)
@given(tree_and_old(), st.data())
def test_a_mutated_consistency_proof_is_rejected(case: tuple[int, int], data: st.DataObject) -> None:
    n, m = case
    proof = BIG_CACHE.consistency_proof(m, n)
    old_root, new_root = root_from_hashes(BIG[:m]), root_from_hashes(BIG[:n])
    for what, wrong in mutations(proof, data):
        assert not verify_consistency(m, n, old_root, new_root, wrong), what


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=300))
def test_frontier_root_equals_root_hash_for_every_prefix(leaves: list[bytes]) -> None:
    frontier = Frontier()
    hashes = [leaf_hash(leaf) for leaf in leaves]
    for n, x in enumerate(hashes, 1):
        frontier.append(x)
        assert frontier.size == n
        assert frontier.root() == root_from_hashes(hashes[:n])
    assert frontier.root() == root_hash(leaves)
    assert Frontier.from_bytes(frontier.to_bytes()) == frontier


@settings(max_examples=100, deadline=None)
@given(sizes, st.data())
def test_subtree_cache_answers_every_proof_range(n: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    old = data.draw(st.integers(min_value=0, max_value=n))
    for start, end in [*inclusion_ranges(index, n), *consistency_ranges(old, n)]:
        assert BIG_CACHE.subtree(start, end) == root_from_hashes(BIG[start:end])


def test_a_full_tree_takes_no_more_leaves() -> None:
    full = Frontier.from_bytes(b"\xff" * 8 + SOME_HASH * 64)
    assert full.size == 2**64 - 1
    with pytest.raises(ValueError, match="the tree is full"):
        full.append(SOME_HASH)


def test_subtree_cache_hands_out_a_copy_of_its_frontier() -> None:
    cache = SubtreeCache(HASHES[:5])
    frontier = cache.frontier
    frontier.append(HASHES[5])
    assert cache.size == 5 and cache.root() == ROOTS[5]
    assert frontier.root() == ROOTS[6]


# --- T2 (reliability plan): the fast code against the RFC's recursive definitions, up to 2,000 leaves ---
#
# The reference below is written from RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1 and shares nothing with
# merkle.py but the two hash functions: MTH, PATH and PROOF, recursively over index ranges. Then sampled
# proofs are mutated the ways the plan names (bit flip, index +-1, size x2 or /2, truncated, an extra
# hash) and every mutant must be refused. A mutant that happens to be a true statement (the empty tree
# is consistent with every tree, say) is not a forgery: it is counted as such and not offered. The long
# form runs with ``-m slow``; figures in docs/reliability.md.


def run_long(request: pytest.FixtureRequest) -> None:
    """Long variants run only when selected with ``-m slow``; the default run has the short form."""
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("long form: run with -m slow")


def rfc_split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def rfc_mth(d: list[bytes], lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) of RFC 9162 2.1.1 over leaf hashes."""
    n = hi - lo
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return d[lo]
    k = rfc_split(n)
    return node_hash(rfc_mth(d, lo, lo + k), rfc_mth(d, lo + k, hi))


def rfc_path(m: int, d: list[bytes], lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]) of RFC 9162 2.1.3.1 (``m`` counted from ``lo``)."""
    n = hi - lo
    if n == 1:
        return []
    k = rfc_split(n)
    if m < k:
        return [*rfc_path(m, d, lo, lo + k), rfc_mth(d, lo + k, hi)]
    return [*rfc_path(m - k, d, lo + k, hi), rfc_mth(d, lo, lo + k)]


def rfc_subproof(m: int, d: list[bytes], lo: int, hi: int, b: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b) of RFC 9162 2.1.4.1."""
    n = hi - lo
    if m == n:
        return [] if b else [rfc_mth(d, lo, hi)]
    k = rfc_split(n)
    if m <= k:
        return [*rfc_subproof(m, d, lo, lo + k, b), rfc_mth(d, lo + k, hi)]
    return [*rfc_subproof(m - k, d, lo + k, hi, False), rfc_mth(d, lo, lo + k)]


def rfc_proof(m: int, n: int, d: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]); empty for m = 0 or m = n (nothing to prove, as merkle.py has it)."""
    return [] if m in (0, n) else rfc_subproof(m, d, 0, n, True)


T2_MAX = 2000
T2_POOL = hashes_of(2 * T2_MAX, b"t2")  # distinct leaves: sizes x2 still have real trees to compare with
T2_CACHE = SubtreeCache(T2_POOL)
EDGES = sorted({x for k in range(12) for x in (2**k - 1, 2**k, 2**k + 1) if 1 <= x <= T2_MAX} | {T2_MAX})


def test_t2_fast_roots_equal_the_recursive_root_at_every_size_to_2000() -> None:
    """Every size 1..2,000: the Frontier, the subtree cache and the pairing root against MTH (memoised:
    the recursion is the RFC's, the cache only spares recomputing shared subtrees)."""
    memo: dict[tuple[int, int], bytes] = {}

    def mth(lo: int, hi: int) -> bytes:
        if (lo, hi) not in memo:
            n = hi - lo
            k = rfc_split(n)
            memo[lo, hi] = T2_POOL[lo] if n == 1 else node_hash(mth(lo, lo + k), mth(lo + k, hi))
        return memo[lo, hi]

    frontier = Frontier()
    for n in range(1, T2_MAX + 1):
        frontier.append(T2_POOL[n - 1])
        assert frontier.root() == mth(0, n) == T2_CACHE.subtree(0, n), n
    for n in EDGES:
        assert root_from_hashes(T2_POOL[:n]) == mth(0, n) == rfc_mth(T2_POOL, 0, n)


def t2_roots(examples: int) -> int:
    count = 0

    @settings(max_examples=examples, deadline=None)
    @given(st.one_of(st.integers(1, T2_MAX), st.sampled_from(EDGES)), st.randoms(use_true_random=False))
    def check(n: int, rng: Any) -> None:
        nonlocal count
        leaves = [rng.randbytes(rng.randrange(0, 64)) for _ in range(n)]  # any bytes, repeats allowed
        d = [leaf_hash(x) for x in leaves]
        frontier = Frontier()
        frontier.extend(d)
        expected = rfc_mth(d, 0, n)
        assert frontier.root() == SubtreeCache(d).root() == root_from_hashes(d) == root_hash(leaves) == expected
        count += 1

    check()
    return count


def test_t2_fast_root_equals_the_recursive_root_for_random_leaves() -> None:
    assert t2_roots(60) >= 60


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_t2_fast_root_equals_the_recursive_root_for_random_leaves_long(request: pytest.FixtureRequest) -> None:
    run_long(request)
    examples = t2_roots(1000)
    print(f"\nT2 roots: {examples} examples of up to {T2_MAX} random leaves, mismatches 0")


def flip(x: bytes, bit: int) -> bytes:
    out = bytearray(x)
    out[bit // 8 % len(x)] ^= 1 << (bit % 8)
    return bytes(out)


def t2_root(size: int) -> bytes:
    return T2_CACHE.subtree(0, size) if 0 < size <= len(T2_POOL) else EMPTY_ROOT


def extras(proof: list[bytes], root: bytes, leaf: bytes, rng: Any) -> list[tuple[str, list[bytes]]]:
    """An extra hash appended, prepended and inserted, drawn from hashes a forger would try."""
    pick = rng.choice([SOME_HASH, EMPTY_ROOT, root, leaf, rng.randbytes(32), *proof])
    at = rng.randrange(0, len(proof) + 1)
    return [
        ("extra hash appended", [*proof, pick]),
        ("extra hash prepended", [pick, *proof]),
        ("extra hash inserted", [*proof[:at], pick, *proof[at:]]),
    ]


def truncations(proof: list[bytes], rng: Any) -> list[tuple[str, list[bytes]]]:
    out = []
    if proof:
        out += [("truncated: last dropped", proof[:-1]), ("truncated: first dropped", proof[1:])]
    if len(proof) > 2:
        out.append(("truncated: cut short", proof[: rng.randrange(1, len(proof) - 1)]))
    return out


def inclusion_mutants(i: int, n: int, rng: Any) -> tuple[list[bytes], list[tuple[str, tuple[Any, ...]]]]:
    """The honest proof of leaf ``i`` in the tree of ``n`` and its mutants ``(what, verify_inclusion args)``."""
    leaf, root = T2_POOL[i], t2_root(n)
    proof = T2_CACHE.inclusion_proof(i, n)
    bit = rng.randrange(256)
    out: list[tuple[str, tuple[Any, ...]]] = []
    for k in range(len(proof)):
        out.append(("bit flip in the proof", (i, n, leaf, [*proof[:k], flip(proof[k], bit), *proof[k + 1 :]], root)))
    out += [
        ("bit flip in the leaf hash", (i, n, flip(leaf, bit), proof, root)),
        ("bit flip in the root", (i, n, leaf, proof, flip(root, bit))),
    ]
    for j in (i - 1, i + 1):
        out.append((f"index {j - i:+d}", (j, n, leaf, proof, root)))
        if 0 <= j < len(T2_POOL):
            out.append((f"index {j - i:+d} with that leaf", (j, n, T2_POOL[j], proof, root)))
    for what, size in (("size x2", 2 * n), ("size /2", n // 2)):
        out.append((what, (i, size, leaf, proof, root)))
        out.append((f"{what} with that tree's root", (i, size, leaf, proof, t2_root(size))))
    out += [(what, (i, n, leaf, wrong, root)) for what, wrong in truncations(proof, rng)]
    out += [(what, (i, n, leaf, wrong, root)) for what, wrong in extras(proof, root, leaf, rng)]
    return proof, out


def true_inclusion(i: int, n: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """Whether the statement is simply true (then it is no forgery)."""
    if not (0 <= i < n <= len(T2_POOL)) or leaf != T2_POOL[i] or root != t2_root(n):
        return False
    return proof == rfc_path(i, T2_POOL, 0, n)


def consistency_mutants(m: int, n: int, rng: Any) -> tuple[list[bytes], list[tuple[str, tuple[Any, ...]]]]:
    """The honest proof from ``m`` to ``n`` and its mutants ``(what, verify_consistency args)``."""
    r1, r2 = t2_root(m), t2_root(n)
    proof = T2_CACHE.consistency_proof(m, n)
    bit = rng.randrange(256)
    out: list[tuple[str, tuple[Any, ...]]] = []
    for k in range(len(proof)):
        out.append(("bit flip in the proof", (m, n, r1, r2, [*proof[:k], flip(proof[k], bit), *proof[k + 1 :]])))
    out += [
        ("bit flip in the old root", (m, n, flip(r1, bit), r2, proof)),
        ("bit flip in the new root", (m, n, r1, flip(r2, bit), proof)),
    ]
    for j in (m - 1, m + 1):
        out.append((f"old size {j - m:+d}", (j, n, r1, r2, proof)))
        out.append((f"old size {j - m:+d} with that tree's root", (j, n, t2_root(j), r2, proof)))
    for what, old, new in (
        ("new size x2", m, 2 * n),
        ("new size /2", m, n // 2),
        ("old size x2", 2 * m, n),
        ("old size /2", m // 2, n),
    ):
        out.append((what, (old, new, r1, r2, proof)))
        out.append((f"{what} with those trees' roots", (old, new, t2_root(old), t2_root(new), proof)))
    out += [(what, (m, n, r1, r2, wrong)) for what, wrong in truncations(proof, rng)]
    out += [(what, (m, n, r1, r2, wrong)) for what, wrong in extras(proof, r2, r1, rng)]
    return proof, out


def true_consistency(m: int, n: int, r1: bytes, r2: bytes, proof: list[bytes]) -> bool:
    if not proof and 0 <= m <= n and ((m == 0 and r1 == EMPTY_ROOT) or (m == n and r1 == r2)):
        return True  # vacuous: every tree extends the empty tree, and a tree extends itself
    if not (0 <= m <= n <= len(T2_POOL)) or r1 != t2_root(m) or r2 != t2_root(n):
        return False
    return proof == rfc_proof(m, n, T2_POOL)


def t2_mutants(examples: int) -> dict[str, Any]:
    """Sampled inclusion and consistency proofs, each checked against the reference and then mutated."""
    counts: Counter[str] = Counter()
    true: Counter[str] = Counter()
    accepted: list[str] = []

    @settings(max_examples=examples, deadline=None)
    @given(
        st.one_of(st.integers(1, T2_MAX), st.sampled_from(EDGES)),
        st.randoms(use_true_random=False),
    )
    def check(n: int, rng: Any) -> None:
        here: Counter[str] = Counter()  # added to the totals once the example is complete
        root = t2_root(n)
        for i in [rng.randrange(n), rng.randrange(n), n - 1]:  # two drawn, and the right edge
            proof, mutants = inclusion_mutants(i, n, rng)
            assert proof == inclusion_proof(i, T2_POOL[:n]) == rfc_path(i, T2_POOL, 0, n)
            assert verify_inclusion(i, n, T2_POOL[i], proof, root)
            here["inclusion proofs"] += 1
            for what, args in mutants:
                if true_inclusion(*args):
                    true[what] += 1
                    continue
                here["inclusion mutants"] += 1
                if verify_inclusion(*args):
                    accepted.append(f"inclusion {i}/{n}: {what}")
        for m in [rng.randint(1, max(1, n - 1)), rng.randint(0, n), n - 1]:  # inside, anywhere, the edge
            proof, mutants = consistency_mutants(m, n, rng)
            assert proof == consistency_proof(m, T2_POOL[:n]) == rfc_proof(m, n, T2_POOL)
            assert verify_consistency(m, n, t2_root(m), root, proof)
            here["consistency proofs"] += 1
            for what, args in mutants:
                if true_consistency(*args):
                    true[what] += 1
                    continue
                here["consistency mutants"] += 1
                if verify_consistency(*args):
                    accepted.append(f"consistency {m}->{n}: {what}")
        assert not accepted, accepted
        here["examples"] += 1
        counts.update(here)

    check()
    return {**counts, "accepted mutants": len(accepted), "true statements (not offered)": dict(true)}


def test_t2_mutated_proofs_are_rejected() -> None:
    counts = t2_mutants(40)
    assert counts["examples"] >= 35 and counts["inclusion mutants"] > 35 * 3 * 15 and counts["accepted mutants"] == 0
    print(f"\nT2 proofs: {counts}")


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_t2_mutated_proofs_are_rejected_long(request: pytest.FixtureRequest) -> None:
    run_long(request)
    counts = t2_mutants(2000)
    assert counts["accepted mutants"] == 0
    print(f"\nT2 proofs: {counts}")
