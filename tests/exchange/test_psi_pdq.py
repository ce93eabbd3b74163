"""Near-duplicate PDQ deconfliction: round 1 (chunk keys) and round 2 (bit keys) find exactly the pairs
within the threshold that a plain comparison finds."""

from __future__ import annotations

import random

import pytest

from accord.errors import Invalid
from accord.exchange.psi import Initiator, Responder
from accord.exchange.psi_pdq import bit_keys, chunk_keys, distance, slots


def flip(value: str, bits: list[int]) -> str:
    v = int(value, 16)
    for b in bits:
        v ^= 1 << b
    return f"{v:064x}"


def near_pairs(a: list[str], b: list[str], threshold: int, radius: int) -> set[tuple[int, int, int]]:
    """Both sides in one process; returns what the initiator learns: (its hash, the peer's slot, distance)."""
    keys_a, keys_b = chunk_keys(a, radius), chunk_keys(b, 0)
    i, r = Initiator(keys_a, kind="pdq-chunks"), Responder(keys_b, kind="pdq-chunks")
    shared_a = i.receive(r.reply(i.offer())).members
    shared_b = r.receive(i.finish()).members
    assert shared_a is not None and shared_a == shared_b
    work = slots(shared_a, {k: len(keys_a[k]) for k in shared_a}, {k: len(keys_b[k]) for k in shared_b})
    found = set()
    for key, pa, pb in work:
        mine, theirs = keys_a[key][pa], keys_b[key][pb]
        i2 = Initiator(bit_keys(a[mine]), kind="pdq-bits", mode="count")
        r2 = Responder(bit_keys(b[theirs]), kind="pdq-bits", mode="count")
        got = i2.receive(r2.reply(i2.offer()))
        assert r2.receive(i2.finish()).count == got.count
        if distance(got.count) <= threshold:
            found.add((mine, theirs, distance(got.count)))  # `theirs` checks the answer; A only sees (key, pb)
    return found


def spread(per_chunk: list[int]) -> list[int]:
    """Bit positions to flip: ``per_chunk[c]`` bits inside chunk ``c`` (chunk 0 holds the top 16 bits)."""
    return [255 - 16 * c - k for c, n in enumerate(per_chunk) for k in range(n)]


@pytest.mark.parametrize(("threshold", "radius"), [(15, 0), (31, 1)])
def test_near_duplicates_are_found_exactly(threshold: int, radius: int) -> None:
    """Each near copy is as hard as it gets: its differences spread so that exactly one chunk still meets
    (pigeonhole's worst case), one copy at the threshold and one just beyond it."""
    rng = random.Random(8)
    a = [f"{rng.getrandbits(256):064x}" for _ in range(5)]
    step = radius + 1  # bits changed per chunk where a chunk must not meet
    at = spread([step] * 15 + [radius])  # threshold's worth of bits: 15 * step + radius == threshold
    beyond = spread([step] * 16)
    assert len(at) == threshold and len(beyond) == threshold + 1
    b = [flip(a[0], at), flip(a[1], beyond), *(f"{rng.getrandbits(256):064x}" for _ in range(3))]
    plain = {
        (x, y, bin(int(a[x], 16) ^ int(b[y], 16)).count("1"))
        for x in range(len(a))
        for y in range(len(b))
        if bin(int(a[x], 16) ^ int(b[y], 16)).count("1") <= threshold
    }
    assert plain == {(0, 0, threshold)}
    assert near_pairs(a, b, threshold, radius) == plain


def test_bit_keys_count_gives_the_hamming_distance() -> None:
    a = f"{random.Random(1).getrandbits(256):064x}"
    b = flip(a, [0, 100, 255])
    assert 256 - len(set(bit_keys(a)) & set(bit_keys(b))) == 3 == distance(253)


def test_chunk_keys() -> None:
    h = "ffff" + "0" * 60
    keys = chunk_keys([h, h])
    assert len(keys) == 16 and keys["c0:ffff"] == [0, 1] and keys["c15:0000"] == [0, 1]
    assert len(chunk_keys([h], radius=1)) == 16 * 17
    for bad in ("xyz", "g" * 64, "f" * 63):
        with pytest.raises(Invalid, match="64 hex digits"):
            chunk_keys([h, bad])
    with pytest.raises(Invalid, match="radius"):
        chunk_keys([h], radius=2)
    with pytest.raises(Invalid):
        distance(257)
