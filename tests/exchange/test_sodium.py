"""PSI's group operations: the hash is ristretto255's carried over to X25519, clamped scalars commute (on
the curve and on its twist), and every non-canonical or small-order u-coordinate is refused by index."""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib

import pytest

from accord.exchange import sodium

P = 2**255 - 19
A = 486662
L = 2**252 + 27742317777372353535851937790883648493


def u(value: int) -> bytes:
    return value.to_bytes(32, "little")


def clamp(scalar: bytes) -> int:
    """The integer X25519 multiplies by (RFC 7748, decodeScalar25519)."""
    k = bytearray(scalar)
    k[0] &= 248
    k[31] = (k[31] & 127) | 64
    return int.from_bytes(k, "little")


def on_curve(value: int) -> bool:
    """Whether ``value`` is the u-coordinate of a point of Curve25519 (else of its quadratic twist)."""
    return pow(value**3 + A * value**2 + value, (P - 1) // 2, P) == 1


def ristretto_multiply(scalar: int, element: bytes) -> bytes:
    """libsodium's own ristretto255 multiplication, a second opinion on the group that ``from_hashes`` uses."""
    lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
    out = ctypes.create_string_buffer(32)
    assert lib.crypto_scalarmult_ristretto255(out, scalar.to_bytes(32, "little"), element) == 0
    return out.raw


def ristretto_from_hash(digest: bytes) -> bytes:
    lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
    out = ctypes.create_string_buffer(32)
    lib.crypto_core_ristretto255_from_hash(out, digest)
    return out.raw


DIGESTS = b"".join(hashlib.sha512(b"test/sodium\x00%d" % i).digest() for i in range(8))


def test_from_hashes_is_the_ristretto255_hash_squared() -> None:
    points = sodium.from_hashes(DIGESTS)
    for i in range(8):
        s = int.from_bytes(ristretto_from_hash(DIGESTS[64 * i : 64 * i + 64]), "little")
        assert points[32 * i : 32 * i + 32] == u(s * s % P)
    with pytest.raises(ValueError, match="multiple of 64"):
        sodium.from_hashes(DIGESTS[:-1])


def test_x25519_of_the_carried_over_element_is_ristretto255_multiplication() -> None:
    """For a ristretto255 element ``s`` and clamped ``k``: X25519(k, s^2) names the same group element as
    ristretto255's ``(k mod l)·s`` (compared after one more X25519, which erases the 4-torsion by which two
    representatives of one ristretto255 element differ). Squaring anything else (``s`` itself, ``2 s^2``)
    would not agree, so this pins the carry-over to the group."""
    k, k2 = sodium.random_scalar(), sodium.random_scalar()
    points = sodium.from_hashes(DIGESTS)
    ours = sodium.multiply(k2, sodium.multiply(k, points))
    for i in range(8):
        s = ristretto_from_hash(DIGESTS[64 * i : 64 * i + 64])
        theirs = int.from_bytes(ristretto_multiply(clamp(k) % L, s), "little")
        assert ours[32 * i : 32 * i + 32] == sodium.multiply(k2, u(theirs * theirs % P))
        wrong = u(int.from_bytes(s, "little"))
        assert sodium.multiply(k2, sodium.multiply(k, wrong)) != ours[32 * i : 32 * i + 32]


@pytest.mark.parametrize("where", ["curve", "twist"])
def test_clamped_scalars_commute(where: str) -> None:
    """On the prime-order subgroup (a hashed item) and on the twist (what a dishonest peer might send)."""
    a, b = sodium.random_scalar(), sodium.random_scalar()
    point = sodium.from_hashes(DIGESTS[:64]) if where == "curve" else u(2)
    assert on_curve(int.from_bytes(point, "little")) == (where == "curve")
    ab, ba = sodium.multiply(a, sodium.multiply(b, point)), sodium.multiply(b, sodium.multiply(a, point))
    assert ab == ba and ab != point
    assert on_curve(int.from_bytes(ab, "little")) == (where == "curve")


SMALL_ORDER = {
    "zero": u(0),
    "one (order 4)": u(1),
    "minus one (twist, order 4)": u(P - 1),
    "order 8": bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    "order 8, the other": bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
}
NON_CANONICAL = {
    "top bit set": u(9 + 2**255),
    "p": u(P),
    "p + 9": u(P + 9),
    "all ones": b"\xff" * 32,
}


@pytest.mark.parametrize("bad", [*SMALL_ORDER.values(), *NON_CANONICAL.values()], ids=[*SMALL_ORDER, *NON_CANONICAL])
def test_a_bad_point_is_refused_by_index(bad: bytes) -> None:
    good = sodium.from_hashes(DIGESTS)
    with pytest.raises(sodium.InvalidPoint, match="element 5 is not a valid x25519 point") as e:
        sodium.multiply(sodium.random_scalar(), good[: 32 * 5] + bad + good[32 * 6 :])
    assert e.value.index == 5


def test_the_largest_canonical_values_are_accepted() -> None:
    """The canonical check stops exactly at p: p - 2 (on the curve) and 9 are points, p and p + 9 are not."""
    out = sodium.multiply(sodium.random_scalar(), u(P - 2) + u(9))
    assert len(out) == 64 and b"\x00" * 32 not in (out[:32], out[32:])


def test_the_first_bad_element_is_named_whichever_check_fails() -> None:
    k, good = sodium.random_scalar(), sodium.from_hashes(DIGESTS)
    low_then_non_canonical = good[:32] + u(1) + good[64:96] + u(P) + good[128:]
    non_canonical_then_low = good[:32] + u(P) + good[64:96] + u(1) + good[128:]
    for points, first in ((low_then_non_canonical, 1), (non_canonical_then_low, 1)):
        with pytest.raises(sodium.InvalidPoint) as e:
            sodium.multiply(k, points)
        assert e.value.index == first
    with pytest.raises(sodium.InvalidPoint) as e:
        sodium.multiply(k, good[:96] + u(P))
    assert e.value.index == 3


def test_scalars_are_fresh_and_sizes_are_checked() -> None:
    assert len({sodium.random_scalar() for _ in range(16)}) == 16
    with pytest.raises(ValueError, match="a scalar is 32 bytes"):
        sodium.multiply(b"\x01" * 31, u(9))
    with pytest.raises(ValueError, match="multiple of 32"):
        sodium.multiply(sodium.random_scalar(), u(9)[:-1])
