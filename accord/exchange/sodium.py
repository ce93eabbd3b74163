"""PSI's group operations through libsodium, in batches: X25519 blinding of u-coordinates, hash to the group.

The group is the prime-order subgroup of Curve25519, used x-only: a point travels as its 32-byte
Montgomery u-coordinate and is blinded by X25519 (``crypto_scalarmult``, the Montgomery ladder). Why not
ristretto255 as before: libsodium's X25519 is about 0.55 of ``crypto_scalarmult_ristretto255`` in
instructions (it has an AVX path, and ristretto's multiplication decodes and re-encodes each point), and
blinding was nearly 90 % of PSI's work. Hashing stays ristretto255's: ``from_hashes`` is RFC 9380's
``hash_to_ristretto255`` (two Elligator 2 maps added: a random oracle to the group), and a ristretto255
element ``s`` becomes an X25519 input by squaring: the Edwards point that ``s`` decodes to has
``y = (1 - s^2) / (1 + s^2)``, so Montgomery ``u = (1 + y) / (1 - y) = 1 / s^2``; adding the 2-torsion
point ``(0, 0)`` maps ``u`` to ``1 / u``, so ``s^2`` is the u-coordinate of another member of the same
coset modulo the 4-torsion, and X25519's clamped scalars (multiples of 8) erase the difference. Why not
libsodium's ``crypto_core_ed25519_from_hash``: in 1.0.18 it is a single Elligator 2 map of the 512-bit
input reduced modulo p (a non-uniform encoding, not a random oracle), and it costs more (~219k
instructions against ~150k). docs/federation.md ("Deconfliction") has the security argument.

Why not PyNaCl: PyNaCl (1.6) binds no ristretto255 function. They are in libsodium itself (since
1.0.18), so this module calls the shared library directly through ``ctypes`` (Debian's ``libsodium23``,
which scripts/ensure-system-packages.sh installs).

Why batches and threads: one multiplication costs ~30 µs of CPU and a ``ctypes`` call ~1 µs, so the
per-call overhead is small, and ``ctypes`` releases the GIL for the duration of each call: a plain thread
pool keeps every core busy with no process start-up or pickling. Each batch is one contiguous buffer
(``n * 32`` bytes of points, ``n * 64`` bytes of digests), and each result goes to its position in an
output buffer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["HASH_BYTES", "POINT_BYTES", "SCALAR_BYTES", "InvalidPoint", "from_hashes", "multiply", "random_scalar"]

POINT_BYTES = 32
SCALAR_BYTES = 32
HASH_BYTES = 64
_P = 2**255 - 19
# Below this many items per thread the pool costs more than it saves.
_MIN_PER_THREAD = 512


class InvalidPoint(ValueError):
    """Element ``index`` of a batch is not a canonical u-coordinate (below ``2^255 - 19``, top bit clear),
    or X25519 maps it to the identity (a point of small order: libsodium answers -1)."""

    def __init__(self, index: int) -> None:
        super().__init__(f"element {index} is not a valid x25519 point")
        self.index = index


def _load() -> ctypes.CDLL:
    name = ctypes.util.find_library("sodium") or "libsodium.so.23"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:  # pragma: no cover - an install step, not a runtime path
        raise ImportError(
            "libsodium (>= 1.0.18) is not installed: `apt-get install libsodium23` (scripts/ensure-system-packages.sh)"
        ) from exc
    if lib.sodium_init() < 0:  # pragma: no cover - libsodium's own failure
        raise ImportError("libsodium failed to initialise")
    if not hasattr(lib, "crypto_core_ristretto255_from_hash"):  # pragma: no cover - libsodium older than 1.0.18
        raise ImportError("libsodium is older than 1.0.18 and has no ristretto255")
    lib.crypto_core_ristretto255_from_hash.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.crypto_core_ristretto255_from_hash.restype = ctypes.c_int
    lib.crypto_scalarmult_curve25519.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    lib.crypto_scalarmult_curve25519.restype = ctypes.c_int
    lib.randombytes_buf.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.randombytes_buf.restype = None
    return lib


_lib = _load()


def _workers(n: int) -> int:
    return max(1, min(os.cpu_count() or 1, n // _MIN_PER_THREAD))


def _parallel(n: int, run: Callable[[int, int], int]) -> int:
    """Run ``run(lo, hi)`` over ``[0, n)`` split across the cores; the first failing index, or -1."""
    workers = _workers(n)
    if workers == 1:
        return run(0, n)
    bounds = [n * k // workers for k in range(workers + 1)]
    with ThreadPoolExecutor(workers, thread_name_prefix="psi") as pool:
        failures = [f for f in pool.map(run, bounds[:-1], bounds[1:]) if f >= 0]
    return min(failures, default=-1)


def random_scalar() -> bytes:
    """32 uniformly random bytes from libsodium's CSPRNG (the OS's). X25519 clamps them (clears the three
    low bits and the top bit, sets bit 254), so the scalar in use is ``2^254 + 8 * r`` with ``r`` uniform
    below ``2^251``: clamped scalars commute, and being multiples of 8 they clear any small-order component."""
    buf = ctypes.create_string_buffer(SCALAR_BYTES)
    _lib.randombytes_buf(buf, SCALAR_BYTES)
    return buf.raw


def from_hashes(digests: bytes) -> bytes:
    """Map each 64-byte digest to a group element, as its X25519 u-coordinate: ``hash_to_ristretto255``
    (libsodium's ``crypto_core_ristretto255_from_hash``, two Elligator 2 maps added, RFC 9380), then
    ``u = s^2 mod p`` (the module docstring says why). ``len(digests)`` must be a multiple of 64."""
    if len(digests) % HASH_BYTES:
        raise ValueError(f"digests must be a multiple of {HASH_BYTES} bytes")
    n = len(digests) // HASH_BYTES
    src = ctypes.create_string_buffer(digests, len(digests))
    out = ctypes.create_string_buffer(n * POINT_BYTES)
    src_at, out_at, fn = ctypes.addressof(src), ctypes.addressof(out), _lib.crypto_core_ristretto255_from_hash

    def run(lo: int, hi: int) -> int:
        for i in range(lo, hi):
            fn(out_at + POINT_BYTES * i, src_at + HASH_BYTES * i)
        return -1

    _parallel(n, run)
    # About 1 µs an item in Python (1-2 % of a PSI's CPU): not worth C of our own.
    encodings, decode = memoryview(out.raw), int.from_bytes
    return b"".join(
        [
            (decode(encodings[i : i + POINT_BYTES], "little") ** 2 % _P).to_bytes(POINT_BYTES, "little")
            for i in range(0, n * POINT_BYTES, POINT_BYTES)
        ]
    )


def _first_non_canonical(points: bytes) -> int:
    """The index of the first u-coordinate that is not the canonical encoding of a field element (top bit
    set, or a value of ``p`` or more: ``ed ff .. ff 7f`` and above), or -1."""
    rows = np.frombuffer(points, dtype=np.uint8).reshape(-1, POINT_BYTES)
    top = rows[:, 31]
    bad = (top >= 0x80) | ((top == 0x7F) & (rows[:, 1:31] == 0xFF).all(axis=1) & (rows[:, 0] >= 0xED))
    found = np.flatnonzero(bad)
    return int(found[0]) if len(found) else -1


def multiply(scalar: bytes, points: bytes) -> bytes:
    """X25519 of ``scalar`` and each 32-byte u-coordinate of ``points``; raises :class:`InvalidPoint`
    naming the first element that is not canonical or whose product is the identity (small order).

    Points off the prime-order subgroup, or on the quadratic twist, are multiplied without a membership
    check (one would cost a second multiplication): the clamped scalar clears the curve's and the twist's
    small-order components, and the twist's large subgroup has prime order (about 2^253), so such a point
    teaches its sender nothing about the scalar (Curve25519's twist security)."""
    if len(scalar) != SCALAR_BYTES:
        raise ValueError(f"a scalar is {SCALAR_BYTES} bytes")
    if len(points) % POINT_BYTES:
        raise ValueError(f"points must be a multiple of {POINT_BYTES} bytes")
    n = len(points) // POINT_BYTES
    canonical = _first_non_canonical(points)
    if canonical >= 0:
        n = canonical  # only to find out whether an element before it fails too
    # Not in place: with the output buffer also the input, libsodium 1.0.18's X25519 returned wrong values.
    src = ctypes.create_string_buffer(points, len(points))
    out = ctypes.create_string_buffer(len(points))
    src_at, out_at, fn = ctypes.addressof(src), ctypes.addressof(out), _lib.crypto_scalarmult_curve25519

    def run(lo: int, hi: int) -> int:
        for i in range(lo, hi):
            if fn(out_at + POINT_BYTES * i, scalar, src_at + POINT_BYTES * i) != 0:
                return i
        return -1

    bad = _parallel(n, run)
    if bad >= 0:
        raise InvalidPoint(bad)
    if canonical >= 0:
        raise InvalidPoint(canonical)
    return out.raw
