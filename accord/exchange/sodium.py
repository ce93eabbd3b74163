"""libsodium's ristretto255 group, in batches: hash to the group, scalar multiplication, random scalars.

Why not PyNaCl: PyNaCl (1.6) binds no ristretto255 function at all (only the Ed25519 ``crypto_core``
calls, whose scalar multiplication checks subgroup membership with a second multiplication and so costs
twice as much). The functions are in libsodium itself (since 1.0.18), so this module calls the shared
library directly through ``ctypes`` (Debian's ``libsodium23``, which scripts/ensure-system-packages.sh installs).

Why batches and threads: one multiplication costs ~50 µs of CPU and a ``ctypes`` call ~1 µs, so the
per-call overhead is small, and ``ctypes`` releases the GIL for the duration of each call: a plain thread
pool keeps every core busy with no process start-up or pickling. Each batch is one contiguous buffer
(``n * 32`` bytes of points, ``n * 64`` bytes of digests), written in place by position.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

__all__ = ["HASH_BYTES", "POINT_BYTES", "SCALAR_BYTES", "InvalidPoint", "from_hashes", "multiply", "random_scalar"]

POINT_BYTES = 32
SCALAR_BYTES = 32
HASH_BYTES = 64
# Below this many items per thread the pool costs more than it saves.
_MIN_PER_THREAD = 512


class InvalidPoint(ValueError):
    """Element ``index`` of a batch is not the canonical encoding of a ristretto255 group element other
    than the identity (libsodium refuses both)."""

    def __init__(self, index: int) -> None:
        super().__init__(f"element {index} is not a valid ristretto255 point")
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
    if not hasattr(lib, "crypto_scalarmult_ristretto255"):  # pragma: no cover - libsodium older than 1.0.18
        raise ImportError("libsodium is older than 1.0.18 and has no ristretto255")
    lib.crypto_core_ristretto255_from_hash.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.crypto_core_ristretto255_from_hash.restype = ctypes.c_int
    lib.crypto_scalarmult_ristretto255.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    lib.crypto_scalarmult_ristretto255.restype = ctypes.c_int
    lib.crypto_core_ristretto255_scalar_random.argtypes = [ctypes.c_void_p]
    lib.crypto_core_ristretto255_scalar_random.restype = None
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
    """A uniformly random non-zero scalar modulo the group order, from the OS's CSPRNG (libsodium's)."""
    buf = ctypes.create_string_buffer(SCALAR_BYTES)
    _lib.crypto_core_ristretto255_scalar_random(buf)
    return buf.raw


def from_hashes(digests: bytes) -> bytes:
    """Map each 64-byte digest to a group element (libsodium's ``from_hash``: two Elligator 2 maps added,
    as in RFC 9380's ``hash_to_ristretto255``). ``len(digests)`` must be a multiple of 64."""
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
    return out.raw


def multiply(scalar: bytes, points: bytes) -> bytes:
    """``scalar * P`` for each 32-byte point ``P`` of ``points``; raises :class:`InvalidPoint` naming the
    first element that is not a valid encoding (or is the identity)."""
    if len(scalar) != SCALAR_BYTES:
        raise ValueError(f"a scalar is {SCALAR_BYTES} bytes")
    if len(points) % POINT_BYTES:
        raise ValueError(f"points must be a multiple of {POINT_BYTES} bytes")
    n = len(points) // POINT_BYTES
    buf = ctypes.create_string_buffer(points, len(points))
    at, fn = ctypes.addressof(buf), _lib.crypto_scalarmult_ristretto255

    def run(lo: int, hi: int) -> int:
        for i in range(lo, hi):
            p = at + POINT_BYTES * i
            if fn(p, scalar, p) != 0:
                return i
        return -1

    bad = _parallel(n, run)
    if bad >= 0:
        raise InvalidPoint(bad)
    return buf.raw
