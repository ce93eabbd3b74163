"""k-of-n splitting of the sealing key (``accord/safeguards/shamir.py``)."""

from __future__ import annotations

import itertools
import os
from collections import Counter

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.errors import Invalid
from accord.safeguards.shamir import Share, combine, fingerprint, split

KEY = bytes(range(32))


# GF(2^8) with the AES polynomial, written out independently of pyshamir, to check its shares by hand.
def gf_mul(a: int, b: int) -> int:
    r = 0
    while b:
        if b & 1:
            r ^= a
        a = (a << 1) ^ (0x11B if a & 0x80 else 0)
        b >>= 1
    return r


INV = {a: next(x for x in range(1, 256) if gf_mul(a, x) == 1) for a in range(1, 256)}


def gf_inv(a: int) -> int:
    return INV[a]


def interpolate_at(points: list[tuple[int, int]], x: int) -> int:
    total = 0
    for i, (xi, yi) in enumerate(points):
        term = yi
        for j, (xj, _) in enumerate(points):
            if i != j:
                term = gf_mul(term, gf_mul(x ^ xj, gf_inv(xi ^ xj)))
        total ^= term
    return total


def test_any_k_of_n_restore_the_key() -> None:
    shares = split(KEY, 3, 5)
    assert [s.index for s in shares] == [1, 2, 3, 4, 5]
    assert len({s.set_id for s in shares}) == 1
    for subset in itertools.combinations(shares, 3):
        assert combine(list(subset)) == KEY
    for subset in itertools.combinations(shares, 4):
        assert combine(list(reversed(subset))) == KEY
    assert combine(shares) == KEY


@settings(max_examples=60, deadline=None)
@given(secret=st.binary(min_size=1, max_size=64), k=st.integers(2, 6), extra=st.integers(0, 4), data=st.data())
def test_round_trip_property(secret: bytes, k: int, extra: int, data: st.DataObject) -> None:
    shares = split(secret, k, k + extra)
    chosen = data.draw(st.permutations(shares)).__getitem__(slice(0, data.draw(st.integers(k, k + extra))))
    assert combine(list(chosen)) == secret


@pytest.mark.parametrize(("k", "n"), [(2, 3), (3, 5), (4, 4)])
def test_k_minus_one_shares_are_consistent_with_every_secret(k: int, n: int) -> None:
    """Information-theoretic secrecy, checked exhaustively on a one-byte secret: for every (k-1)-subset
    and every candidate secret byte s there is a polynomial of degree k-1 through (0, s) and the subset
    (so the subset rules out no secret), and the x-coordinates are distinct and never 0 (x = 0 would be
    the secret itself)."""
    secret = b"\x5a"
    shares = split(secret, k, n)
    xs = [s.data[-1] for s in shares]
    assert 0 not in xs and len(set(xs)) == n
    for subset in itertools.combinations(shares, k - 1):
        points = [(s.data[-1], s.data[0]) for s in subset]
        for candidate in range(256):
            through = [(0, candidate), *points]
            # the polynomial fixed by these k points passes through each given share ...
            assert all(interpolate_at(through, x) == y for x, y in points)
            # ... and has the candidate as its secret: every byte is possible.
            assert interpolate_at(through, 0) == candidate
    # k shares, on the other hand, fix it: the real secret and nothing else.
    full = [(s.data[-1], s.data[0]) for s in shares[:k]]
    assert interpolate_at(full, 0) == secret[0]


def test_one_share_is_uniform_whatever_the_secret() -> None:
    """A share byte is distributed the same for secret 0x00 and 0xff (k=2: y = s + a*x, a uniform)."""
    counts = {s: Counter(split(bytes([s]), 2, 2)[0].data[0] for _ in range(2000)) for s in (0x00, 0xFF)}
    for c in counts.values():
        assert len(c) > 220 and max(c.values()) < 30  # 2000 draws over 256 values: about 7.8 each


def test_share_file_round_trip_and_checksum() -> None:
    share = split(KEY, 2, 3)[1]
    text = share.dumps()
    doc = orjson.loads(text)
    assert doc["format"] == "accord-seal-share" and (doc["k"], doc["n"], doc["index"]) == (2, 3, 2)
    assert KEY.hex() not in text.decode()
    assert Share.loads(text) == share


def damaged(text: bytes, **change: object) -> bytes:
    doc = orjson.loads(text)
    doc.update(change)
    return orjson.dumps(doc)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: b"not json", "not JSON"),
        (lambda t: b"[1, 2]", "not a share file"),
        (lambda t: damaged(t, format="other"), "not a share file"),
        (lambda t: damaged(t, version=2), "version 2"),
        (lambda t: damaged(t, index=3), "checksum mismatch"),
        (lambda t: damaged(t, share="00" + orjson.loads(t)["share"][2:]), "checksum"),
        (lambda t: damaged(t, share="zz"), "not hexadecimal"),
        (lambda t: damaged(t, k="2"), "/k"),
        (lambda t: damaged(t, k=True), "/k"),
        (lambda t: damaged(t, set=5), "/set"),
    ],
)
def test_a_damaged_share_is_refused_by_name(mutate: object, message: str) -> None:
    text = split(KEY, 2, 3)[0].dumps()
    with pytest.raises(Invalid, match=message):
        Share.loads(mutate(text))  # type: ignore[operator]


def test_inconsistent_fields_are_refused_even_with_a_matching_checksum() -> None:
    good = split(KEY, 2, 3)[0]
    bad = Share(good.set_id, 4, 3, 1, good.data)
    with pytest.raises(Invalid, match="inconsistent"):
        Share.loads(bad.dumps())


def test_combine_refuses_what_cannot_be_the_key() -> None:
    a = split(KEY, 3, 5)
    b = split(KEY, 3, 5)
    with pytest.raises(Invalid, match=r"3 shares are needed.*2 given"):
        combine(a[:2])
    with pytest.raises(Invalid, match="no shares"):
        combine([])
    with pytest.raises(Invalid, match="does not belong"):
        combine([a[0], a[1], b[2]])
    with pytest.raises(Invalid, match="given twice"):
        combine([a[0], a[0], a[1]])
    same_x = Share(a[1].set_id, 3, 5, 2, a[1].data[:-1] + a[0].data[-1:])
    with pytest.raises(Invalid, match="same x-coordinate"):
        combine([a[0], same_x, a[2]])
    short = Share(a[1].set_id, 3, 5, 2, a[1].data[1:])
    with pytest.raises(Invalid, match="another length"):
        combine([a[0], short, a[2]])
    # A forged share that passes its own checksum: caught when more than k shares are given ...
    forged = Share(a[3].set_id, 3, 5, 4, bytes([a[3].data[0] ^ 1]) + a[3].data[1:])
    with pytest.raises(Invalid, match="disagrees"):
        combine([a[0], a[1], a[2], forged])
    # ... and otherwise by the fingerprint, which differs for the wrong key.
    wrong = combine([a[0], a[1], forged])
    assert wrong != KEY and fingerprint(wrong) != fingerprint(KEY)


@pytest.mark.parametrize(("k", "n"), [(1, 3), (4, 3), (2, 256), (0, 0)])
def test_split_parameters(k: int, n: int) -> None:
    with pytest.raises(Invalid, match="2 <= k <= n <= 255"):
        split(KEY, k, n)


def test_split_refuses_an_empty_secret() -> None:
    with pytest.raises(Invalid, match="empty"):
        split(b"", 2, 3)


def test_splits_differ_and_fingerprints_are_stable() -> None:
    one, two = split(KEY, 2, 3), split(KEY, 2, 3)
    assert one[0].set_id != two[0].set_id and one[0].data != two[0].data
    assert fingerprint(KEY) == fingerprint(bytes(range(32))) and len(fingerprint(KEY)) == 32
    assert fingerprint(os.urandom(32)) != fingerprint(KEY)
