"""The PDQ match index: every indexed hash within a Hamming threshold of a query, exactly, by multi-index hashing.

Why not faiss or HMA's index: faiss's exact binary index scans everything (milliseconds per query at a million
hashes), its multi-hash index is approximate, and HMA rebuilds it on every change and saves it with pickle.
This one splits the 256 bits into 16 chunks of 16 bits; a hash within distance ``t`` has, by pigeonhole, a
chunk within ``t // 16`` of the query's, so probing those neighbourhoods of 16 per-chunk tables and verifying
the candidates with popcount finds all of them (Norouzi et al., "Fast search in Hamming space with multi-index
hashing", 2012). Where the neighbourhoods grow so large that reading everything is cheaper (large thresholds,
small indexes), the same C core scans instead; both paths return the same answer. The hot loops are C
(``_pdq_index.c``, built by ``setup.py``); docs/matching.md ("PDQ index") has the design and its measurements.

The file format (``save``/``load``) is a 40-byte little-endian header, then the arrays, never a pickle:

    magic b"ACCPDQIX" | version u32 | 4 zero bytes | count u64 | crc32 of the arrays u32 | 12 zero bytes
    ids    int64[count]
    hashes uint8[count, 32]
"""

from __future__ import annotations

import itertools
import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from accord.errors import Invalid

try:
    from accord.signals import _pdq_index
except ImportError as exc:  # pragma: no cover - the build step is part of `make install`
    raise ImportError(
        "accord.signals._pdq_index (the index's C core) is not built: run `make install` "
        "or `python setup.py build_ext --inplace`"
    ) from exc

__all__ = ["FORMAT_VERSION", "MAGIC", "PdqIndex", "from_hex", "to_hex"]

MAGIC = b"ACCPDQIX"
FORMAT_VERSION = 1
_HEADER = struct.Struct("<8sIIQI12x")  # magic, version, reserved, count, crc32, reserved
_HEX = frozenset("0123456789abcdefABCDEF")

# Where probing stops paying, measured (docs/matching.md): beyond a chunk radius of MAX_RADIUS (t >= 16 *
# (MAX_RADIUS + 1)) the probed buckets cover a large share of every table, and below MIN_SIZE hashes the
# 16 x (bucket neighbourhood) probes cost more than popcounting every hash.
MAX_RADIUS = 2
MIN_SIZE = 4096


def from_hex(hexes: Sequence[str]) -> np.ndarray:
    """(n, 32) uint8 from PDQ hex strings (64 hex digits each, either case)."""
    if isinstance(hexes, str):
        raise Invalid.at("", "expected a list of PDQ hashes, got one string")
    out = np.empty((len(hexes), 32), dtype=np.uint8)
    for i, h in enumerate(hexes):
        if not isinstance(h, str) or len(h) != 64 or not _HEX.issuperset(h):
            raise Invalid.at(f"/{i}", "a PDQ hash is 64 hexadecimal characters")
        out[i] = np.frombuffer(bytes.fromhex(h), dtype=np.uint8)
    return out


def to_hex(hashes: np.ndarray) -> list[str]:
    """Lower-case hex of each row of an (n, 32) uint8 array."""
    arr = _hashes(hashes, "hashes")
    return [row.tobytes().hex() for row in arr]


def _hashes(value: Any, name: str) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or value.ndim != 2 or value.shape[1] != 32:
        shape = getattr(value, "shape", None)
        dtype = getattr(value, "dtype", type(value).__name__)
        raise Invalid.at(f"/{name}", f"expected an (n, 32) uint8 array, got shape {shape} of {dtype}")
    return np.ascontiguousarray(value)


def _ids(value: Sequence[int] | np.ndarray, name: str = "ids") -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1 or not (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)):
        raise Invalid.at(f"/{name}", f"expected a 1-D sequence of integers, got shape {arr.shape} of {arr.dtype}")
    if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise Invalid.at(f"/{name}", "ids are int64")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _threshold(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value <= 256:
        raise Invalid.at("/threshold", "a PDQ threshold is an integer from 0 to 256")
    return int(value)


class PdqIndex:
    """A mutable set of (int64 id, PDQ hash) answering "every hash within distance t" exactly."""

    def __init__(self) -> None:
        self._core = _pdq_index.Index()

    def __len__(self) -> int:
        return len(self._core)

    def add(self, ids: Sequence[int] | np.ndarray, hashes: np.ndarray) -> None:
        """Index ``hashes[i]`` under ``ids[i]``; an id already present is replaced. Ids must be unique."""
        id_arr = _ids(ids)
        arr = _hashes(hashes, "hashes")
        if id_arr.shape[0] != arr.shape[0]:
            raise Invalid.at("/ids", f"{id_arr.shape[0]} ids for {arr.shape[0]} hashes")
        if id_arr.size > 1:
            uniq, counts = np.unique(id_arr, return_counts=True)
            if uniq.size != id_arr.size:
                dup = int(uniq[counts > 1][0])
                raise Invalid.at(f"/ids/{int(np.flatnonzero(id_arr == dup)[1])}", f"id {dup} appears twice")
        self._core.add(id_arr, arr)

    def remove(self, ids: Sequence[int] | np.ndarray) -> int:
        """Drop these ids; returns how many were present (unknown ids are ignored)."""
        return int(self._core.remove(_ids(ids)))

    def search(self, queries: np.ndarray, threshold: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per query row, (ids int64, distances int32) of every hash within ``threshold``, by (distance, id)."""
        return self._search(queries, threshold, self.uses_scan(_threshold(threshold)))

    def uses_scan(self, threshold: int) -> bool:
        """Whether ``search`` answers ``threshold`` with a full scan rather than by probing (same results)."""
        return threshold // 16 > MAX_RADIUS or len(self._core) < MIN_SIZE

    def _search(self, queries: np.ndarray, threshold: int, scan: bool) -> list[tuple[np.ndarray, np.ndarray]]:
        arr = _hashes(queries, "queries")
        raw_offsets, raw_ids, raw_dist = self._core.search(arr, _threshold(threshold), scan)
        offsets = np.frombuffer(raw_offsets, dtype=np.int64)
        ids = np.frombuffer(raw_ids, dtype=np.int64)
        dist = np.frombuffer(raw_dist, dtype=np.int32)
        if len(offsets) == 2:  # one query: skip the slicing loop
            return [(ids, dist)]
        bounds = offsets.tolist()
        return [(ids[a:b], dist[a:b]) for a, b in itertools.pairwise(bounds)]

    def entries(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64, hashes (n, 32) uint8) of everything indexed, in no particular order."""
        raw_ids, raw_hashes = self._core.export()
        return np.frombuffer(raw_ids, dtype=np.int64), np.frombuffer(raw_hashes, dtype=np.uint8).reshape(-1, 32)

    def save(self, path: Path) -> None:
        """Write the index to ``path`` atomically (a temporary file, fsync, rename): a crash leaves the old file."""
        raw_ids, raw_hashes = self._core.export()
        crc = zlib.crc32(raw_hashes, zlib.crc32(raw_ids))
        header = _HEADER.pack(MAGIC, FORMAT_VERSION, 0, len(raw_ids) // 8, crc)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(header)
                f.write(raw_ids)
                f.write(raw_hashes)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @classmethod
    def load(cls, path: Path) -> PdqIndex:
        """Read a file written by ``save``; anything else (truncated, corrupt, another version) is Invalid."""
        name = path.name
        with open(path, "rb") as f:
            head = f.read(_HEADER.size)
            if len(head) < _HEADER.size or head[:8] != MAGIC:
                raise Invalid.at("", f"{name} is not an Accord PDQ index file")
            _, version, _, count, crc = _HEADER.unpack(head)
            if version != FORMAT_VERSION:
                raise Invalid.at(
                    "", f"{name} is PDQ index format version {version}; this Accord reads {FORMAT_VERSION}"
                )
            size = os.fstat(f.fileno()).st_size
            expected = _HEADER.size + count * 40
            if size != expected:
                raise Invalid.at("", f"{name} holds {size} bytes where {count:,} hashes need {expected}: truncated?")
            ids = np.empty(count, dtype=np.int64)
            flat = np.empty(count * 32, dtype=np.uint8)
            f.readinto(ids.data)
            f.readinto(flat.data)
        if zlib.crc32(flat.data, zlib.crc32(ids.data)) != crc:
            raise Invalid.at("", f"{name} fails its checksum: the file is corrupt")
        index = cls()
        try:
            index.add(ids, flat.reshape(count, 32))
        except Invalid:
            raise Invalid.at("", f"{name} lists an id twice: the file is corrupt") from None
        return index
