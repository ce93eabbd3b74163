"""PDQ index, temporary: a NumPy brute-force scan with the interface of the multi-index version that
replaces it (exact recall, incremental add and remove, batched search, a versioned binary file).

Kept deliberately short: it exists so that banks and matching can be built and tested against the
interface; its answers are exact, only slower at scale.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from accord.errors import Invalid

__all__ = ["PdqIndex", "from_hex", "to_hex"]

_MAGIC = b"ACCPDQ\x00\x01"
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.int32)


def from_hex(hexes: Sequence[str]) -> npt.NDArray[np.uint8]:
    """(n, 32) uint8 from 64-hex-digit strings; Invalid naming the index of a bad one."""
    out = np.zeros((len(hexes), 32), dtype=np.uint8)
    for i, h in enumerate(hexes):
        if len(h) != 64:
            raise Invalid.at(f"/{i}", f"a PDQ hash is 64 hex digits, got {len(h)} characters")
        try:
            out[i] = np.frombuffer(bytes.fromhex(h), dtype=np.uint8)
        except ValueError:
            raise Invalid.at(f"/{i}", "a PDQ hash is 64 hex digits (0-9, a-f)") from None
    return out


def to_hex(hashes: npt.NDArray[np.uint8]) -> list[str]:
    return [bytes(row).hex() for row in hashes]


class PdqIndex:
    def __init__(self) -> None:
        self._ids = np.zeros(0, dtype=np.int64)
        self._hashes = np.zeros((0, 32), dtype=np.uint8)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: Sequence[int] | npt.NDArray[np.int64], hashes: npt.NDArray[np.uint8]) -> None:
        new = np.asarray(ids, dtype=np.int64)
        if len(new) != len(hashes) or len(np.unique(new)) != len(new):
            raise ValueError("ids must be unique and as many as the hashes")
        self.remove(new)
        self._ids = np.concatenate([self._ids, new])
        self._hashes = np.concatenate([self._hashes, np.asarray(hashes, dtype=np.uint8).reshape(-1, 32)])

    def remove(self, ids: Sequence[int] | npt.NDArray[np.int64]) -> int:
        gone = np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        self._ids, self._hashes = self._ids[~gone], self._hashes[~gone]
        return int(gone.sum())

    def search(
        self, queries: npt.NDArray[np.uint8], threshold: int
    ) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]]:
        out = []
        for q in np.asarray(queries, dtype=np.uint8).reshape(-1, 32):
            dist = _POPCOUNT[np.bitwise_xor(self._hashes, q)].sum(axis=1).astype(np.int32)
            hit = dist <= threshold
            ids, d = self._ids[hit], dist[hit]
            order = np.lexsort((ids, d))
            out.append((ids[order], d[order]))
        return out

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("wb") as f:
            f.write(_MAGIC + struct.pack("<Q", len(self._ids)))
            f.write(self._ids.astype("<i8").tobytes())
            f.write(self._hashes.tobytes())
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> PdqIndex:
        data = path.read_bytes()
        if data[:8] != _MAGIC:
            raise ValueError(f"{path}: not a PDQ index file of this version")
        (n,) = struct.unpack_from("<Q", data, 8)
        index = cls()
        index._ids = np.frombuffer(data, dtype="<i8", count=n, offset=16).astype(np.int64)
        index._hashes = np.frombuffer(data, dtype=np.uint8, count=n * 32, offset=16 + 8 * n).reshape(n, 32).copy()
        return index
