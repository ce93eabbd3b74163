"""The RFC 9162 (section 2) Merkle tree over SHA-256: roots, inclusion and consistency proofs.

Two ways to build proofs, on purpose:

* the list functions (``root_hash``, ``inclusion_proof``, ``consistency_proof``) follow the RFC's recursive
  definitions over a whole list of leaf hashes. They are O(n) per proof and serve as the reference.
* the ``*_from`` functions ask a ``subtree(start, end)`` callback for the few hashes a proof needs (one per
  level). A log keeps the hash of every perfect subtree ``(level, index)`` as it completes (``Frontier.append``
  returns them), so a proof at any size costs about 2·log2(n) lookups and no pass over the leaves.
  ``inclusion_ranges``/``consistency_ranges`` and ``range_nodes`` name every hash in advance, so a
  database can fetch them in one query.

Why both: the tests check one against the other for every index and size they try, and a verifier
outside Accord only needs ``verify_inclusion``/``verify_consistency``, written step for step from
RFC 9162 2.1.3.2 and 2.1.4.2 so they can be read side by side with it.

Bad arguments to the builders raise ``ValueError``; the verifiers never raise and answer ``False`` to
anything malformed (wrong sizes, wrong hash lengths, proofs too short or too long).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Frontier",
    "PerfectNode",
    "SubtreeCache",
    "SubtreeHash",
    "consistency_proof",
    "consistency_proof_from",
    "consistency_ranges",
    "hash_range",
    "inclusion_proof",
    "inclusion_proof_from",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "range_nodes",
    "root_from_hashes",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty list: SHA-256 of the empty string (RFC 9162 2.1.1)."""

_MAX_SIZE = 2**64 - 1  # checkpoints carry sizes as uint64; larger trees cannot be named
_MAX_PROOF = 65  # a proof has one element per level (64 at most) plus, for consistency, one more

SubtreeHash = Callable[[int, int], bytes]
"""``subtree(start, end)``: MTH of the leaves ``[start, end)``, a perfect or a partial (right edge) subtree."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    if value > _MAX_SIZE:
        raise ValueError(f"{name} must fit in 64 bits, got {value}")


def _check_hash(name: str, value: bytes) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ValueError(f"{name} must be {HASH_SIZE} bytes")


def root_from_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes. Pairs neighbours level by level and carries an odd last node up unchanged,
    which builds exactly the tree of RFC 9162's split at the largest power of two."""
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """MTH of the leaves themselves (each is hashed with the 0x00 prefix first)."""
    return root_from_hashes([leaf_hash(leaf) for leaf in leaves])


def inclusion_proof(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 2.1.3.1 over leaf hashes, as the RFC defines it (the reference)."""
    _check_size("index", index)
    if index >= len(hashes):
        raise ValueError(f"index {index} is outside a tree of size {len(hashes)}")
    return _path(index, list(hashes))


def _path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, d[:k]), root_from_hashes(d[k:])]
    return [*_path(m - k, d[k:]), root_from_hashes(d[:k])]


def consistency_proof(old_size: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 2.1.4.1 over leaf hashes (the reference). Empty when ``old_size`` is 0 or
    the whole tree: nothing needs proving."""
    _check_size("old_size", old_size)
    if old_size > len(hashes):
        raise ValueError(f"old size {old_size} is larger than the tree ({len(hashes)})")
    if old_size in (0, len(hashes)):
        return []
    return _subproof(old_size, list(hashes), True)


def _subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [root_from_hashes(d)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, d[:k], b), root_from_hashes(d[k:])]
    return [*_subproof(m - k, d[k:], False), root_from_hashes(d[:k])]


def verify_inclusion(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2, step for step. ``leaf_hash`` is the hashed leaf (``leaf_hash(leaf)``)."""
    if not (_is_size(index) and _is_size(size) and _is_hash(leaf_hash) and _is_hash(root)):
        return False
    if not _is_proof(proof):
        return False
    # 1. leaf_index >= tree_size fails.
    if index >= size:
        return False
    # 2. fn = leaf_index, sn = tree_size - 1;  3. r = hash.
    fn, sn = index, size - 1
    r = leaf_hash
    # 4. for each p in inclusion_path
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # 5. sn must be 0 and r the root.
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2, step for step, for ``0 < old_size < new_size``.

    The RFC leaves the edges to the caller; here: equal sizes need an empty proof and equal roots, and
    the empty tree (root ``EMPTY_ROOT``) is consistent with every tree, again with an empty proof.
    """
    if not (_is_size(old_size) and _is_size(new_size) and _is_hash(old_root) and _is_hash(new_root)):
        return False
    if not _is_proof(proof) or old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    # 1. An empty path fails.
    if not proof:
        return False
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = old_size - 1, new_size - 1
    # 4. While LSB(fn) is set, right-shift fn and sn.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = first value of the path.
    fr = sr = path[0]
    # 6. For each subsequent value c.
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7. fr and sr must be the two roots, and sn 0.
    return fr == old_root and sr == new_root and sn == 0


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_SIZE


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_proof(proof: object) -> bool:
    if isinstance(proof, bytes | str) or not isinstance(proof, Sequence) or len(proof) > _MAX_PROOF:
        return False
    return all(_is_hash(p) for p in proof)


# --- proofs from stored subtree hashes ------------------------------------------------------------


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges ``[start, end)`` whose MTHs make up the inclusion proof of ``index`` in ``size``,
    in proof order (RFC 9162 2.1.3.1, unrolled)."""
    _check_size("index", index)
    _check_size("size", size)
    if index >= size:
        raise ValueError(f"index {index} is outside a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        mid = start + _split(end - start)
        if index < mid:
            ranges.append((mid, end))
            end = mid
        else:
            ranges.append((start, mid))
            start = mid
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs make up the consistency proof from ``old_size`` to ``new_size``, in proof
    order (RFC 9162 2.1.4.1, unrolled). Empty when ``old_size`` is 0 or equals ``new_size``."""
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    if old_size > new_size:
        raise ValueError(f"old size {old_size} is larger than new size {new_size}")
    if old_size in (0, new_size):
        return []
    ranges: list[tuple[int, int]] = []
    start, end, m, whole = 0, new_size, old_size, True
    while True:
        if m == end - start:
            if not whole:
                ranges.append((start, end))
            break
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            whole = False
    ranges.reverse()
    return ranges


def inclusion_proof_from(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """The inclusion proof of ``index`` in a tree of ``size``, asking ``subtree`` for each element."""
    return [subtree(start, end) for start, end in inclusion_ranges(index, size)]


def consistency_proof_from(old_size: int, new_size: int, subtree: SubtreeHash) -> list[bytes]:
    """The consistency proof from ``old_size`` to ``new_size``, asking ``subtree`` for each element."""
    return [subtree(start, end) for start, end in consistency_ranges(old_size, new_size)]


@dataclass(frozen=True, slots=True)
class PerfectNode:
    """The hash of a perfect subtree: leaves ``[index << level, (index + 1) << level)``; level 0 is a leaf."""

    level: int
    index: int
    hash: bytes


def range_nodes(start: int, end: int) -> list[tuple[int, int]]:
    """The perfect subtrees ``(level, index)`` whose hashes, folded from the right with ``node_hash``, give
    MTH of the leaves ``[start, end)``: one per set bit of the range's size, largest first.

    Only ranges that are subtrees of some RFC 9162 tree have such a decomposition: ``start`` must be a
    multiple of the smallest power of two at least ``end - start``. Every range in a proof is one.
    """
    _check_size("start", start)
    _check_size("end", end)
    n = end - start
    if n <= 0:
        raise ValueError(f"empty or reversed range [{start}, {end})")
    width = 1 << (n - 1).bit_length()
    if start % width:
        raise ValueError(f"range [{start}, {end}) is not a subtree: {start} is not a multiple of {width}")
    nodes: list[tuple[int, int]] = []
    at = start
    for level in range(n.bit_length() - 1, -1, -1):
        if n >> level & 1:
            nodes.append((level, at >> level))
            at += 1 << level
    return nodes


def hash_range(start: int, end: int, node: Callable[[int, int], bytes]) -> bytes:
    """MTH of the leaves ``[start, end)`` from the stored perfect-subtree hashes ``node(level, index)``."""
    nodes = range_nodes(start, end)
    result = node(*nodes[-1])
    for level, index in reversed(nodes[:-1]):
        result = node_hash(node(level, index), result)
    return result


class Frontier:
    """The right edge of an append-only tree: one perfect-subtree hash per set bit of the size, largest
    (leftmost) first. O(log n) memory, enough to append and to compute the root.

    Why it returns what it completes: ``append`` gives back every perfect subtree the new leaf closes
    (the leaf itself at level 0, then each parent), so a store can save them beside the leaf in the same
    transaction and later answer any ``subtree(start, end)`` with ``hash_range``.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(self, leaf_hash: bytes) -> list[PerfectNode]:
        _check_hash("leaf hash", leaf_hash)
        if self._size >= _MAX_SIZE:
            raise ValueError("the tree is full (2**64 - 1 leaves)")
        n = self._size
        h = leaf_hash
        completed = [PerfectNode(0, n, h)]
        level = 0
        while n & 1:
            h = node_hash(self._hashes.pop(), h)
            n >>= 1
            level += 1
            completed.append(PerfectNode(level, n, h))
        self._hashes.append(h)
        self._size += 1
        return completed

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[PerfectNode]:
        completed: list[PerfectNode] = []
        for h in leaf_hashes:
            completed.extend(self.append(h))
        return completed

    def root(self) -> bytes:
        if not self._hashes:
            return EMPTY_ROOT
        result = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            result = node_hash(h, result)
        return result

    def copy(self) -> Frontier:
        other = Frontier()
        other._size = self._size
        other._hashes = list(self._hashes)
        return other

    def to_bytes(self) -> bytes:
        """The size as 8 bytes big-endian, then the hashes in order (32 bytes each, one per set bit)."""
        return self._size.to_bytes(8, "big") + b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> Frontier:
        if not isinstance(data, bytes) or len(data) < 8:
            raise ValueError("a stored frontier starts with an 8-byte size")
        size = int.from_bytes(data[:8], "big")
        count = size.bit_count()
        if len(data) != 8 + HASH_SIZE * count:
            raise ValueError(
                f"a frontier of size {size} holds {count} hashes ({8 + HASH_SIZE * count} bytes), got {len(data)} bytes"
            )
        frontier = cls()
        frontier._size = size
        frontier._hashes = [data[i : i + HASH_SIZE] for i in range(8, len(data), HASH_SIZE)]
        return frontier

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Frontier) and self._size == other._size and self._hashes == other._hashes

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Frontier(size={self._size}, root={self.root().hex()})"


class SubtreeCache:
    """Every perfect-subtree hash of a log, in memory: what a database-backed log stores as rows
    ``(level, index, hash)``. Tests use it to check the callback proofs against the list ones; it is also
    the model for the store's ``subtree`` callback."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._frontier = Frontier()
        self._nodes: dict[tuple[int, int], bytes] = {}
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        return self._frontier.size

    @property
    def frontier(self) -> Frontier:
        return self._frontier.copy()

    def append(self, leaf_hash: bytes) -> None:
        for node in self._frontier.append(leaf_hash):
            self._nodes[node.level, node.index] = node.hash

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for h in leaf_hashes:
            self.append(h)

    def root(self) -> bytes:
        return self._frontier.root()

    def node(self, level: int, index: int) -> bytes:
        try:
            return self._nodes[level, index]
        except KeyError:
            raise ValueError(f"no complete subtree at level {level}, index {index}") from None

    def subtree(self, start: int, end: int) -> bytes:
        if end > self.size:
            raise ValueError(f"range [{start}, {end}) is beyond the log's {self.size} leaves")
        return hash_range(start, end, self.node)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof_from(index, self.size if size is None else size, self.subtree)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        return consistency_proof_from(old_size, self.size if new_size is None else new_size, self.subtree)
