"""Near-duplicate PDQ deconfliction: round 1 (chunk keys) and round 2 (bit keys) find exactly the pairs
within the threshold that a plain comparison finds."""

from __future__ import annotations

import random

import orjson
import pytest

from accord.errors import Conflict, Invalid
from accord.exchange.psi import Initiator, Offer, Reply, Responder
from accord.exchange.psi_pdq import (
    Candidates,
    Distances,
    Finishes,
    PdqInitiator,
    PdqResponder,
    bit_keys,
    chunk_keys,
    distance,
    slots,
)


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


def _json(doc: object) -> object:
    return orjson.loads(orjson.dumps(doc))


@pytest.mark.parametrize("threshold", [31, 15])
def test_the_five_message_protocol_finds_what_brute_force_finds_with_the_responder_resumed(threshold: int) -> None:
    """PdqInitiator and PdqResponder, each message through JSON and the responder rebuilt from its stored
    state between messages (as a node keeps it in its database): each side learns its own hashes within
    the threshold of one of the other's, exactly."""
    rng = random.Random(threshold)
    a = [f"{rng.getrandbits(256):064x}" for _ in range(20)]
    b = [flip(a[0], rng.sample(range(256), 4)), flip(a[1], spread([2] * 15 + [1])), flip(a[2], spread([1] * 16))]
    b += [flip(a[3], spread([2] * 16)), a[4], *(f"{rng.getrandbits(256):064x}" for _ in range(15))]
    ini, res = PdqInitiator(a, threshold=threshold), PdqResponder(b, threshold=threshold)
    reply = Reply.from_json(_json(res.reply(Offer.from_json(_json(ini.offer().to_json()))).to_json()))
    state = _json(res.state())
    assert "secret" not in orjson.dumps(state).decode()
    res = PdqResponder.resume(state)  # type: ignore[arg-type]
    candidates = Candidates.from_json(_json(ini.candidates(reply).to_json()))
    distances = Distances.from_json(_json(res.distances(candidates).to_json()))
    res = PdqResponder.resume(_json(res.state()))  # type: ignore[arg-type]
    mine = ini.distances(distances)
    theirs = res.receive(Finishes.from_json(_json(ini.finishes().to_json())))

    def near(xs: list[str], ys: list[str]) -> set[str]:
        return {x for x in xs if any(bin(int(x, 16) ^ int(y, 16)).count("1") <= threshold for y in ys)}

    assert mine.members == near(a, b) and theirs.members == near(b, a)
    assert mine.count == len(near(a, b)) >= (4 if threshold == 31 else 2)
    assert mine.slots == theirs.slots
    with pytest.raises(Conflict):
        res.receive(Finishes.from_json(_json(ini.finishes().to_json())))  # a session runs once


def test_a_distances_message_that_does_not_answer_every_slot_is_refused() -> None:
    rng = random.Random(3)
    a = [f"{rng.getrandbits(256):064x}" for _ in range(4)]
    ini, res = PdqInitiator(a, threshold=15), PdqResponder([a[0], flip(a[1], [0, 1])], threshold=15)
    distances = res.distances(ini.candidates(res.reply(ini.offer())))
    short = Distances(distances.session, distances.counts, distances.replies[:-1])
    with pytest.raises(Invalid, match="replies answer"):
        ini.distances(short)
    with pytest.raises(Invalid, match="threshold"):
        PdqInitiator(a, threshold=32)
