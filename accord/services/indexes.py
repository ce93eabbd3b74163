"""The node's PDQ indexes: one per PDQ bank (or vPDQ bank: its frames) this process has matched against,
each holding the bank version it reflects. A bank that changed since is caught up from the entries added or
removed after that version (``bank_entries.added_in_version`` / ``removed_in_version``), never rebuilt;
snapshots are written under ``data_dir/indexes`` (``PdqIndex.save``: a versioned binary file, never a pickle) every
``ACCORD_INDEX_SNAPSHOT_CHANGES`` versions, so a restarted node loads the last one and catches up from it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from accord.signals.pdq_index import PdqIndex, from_hex
from accord.store import banks as store
from accord.store.banks import BankRef

__all__ = ["BankIndexes"]


@dataclass
class _Held:
    index: PdqIndex
    version: int
    saved: int  # the version of the last snapshot on disk (0: none)


class BankIndexes:
    """PDQ indexes of the banks this process has matched against, each as of a bank version.

    Why one lock for all: a search and a catch-up of the same index must not interleave, and searches
    are short (the lock is held for one batch of queries against one bank).
    """

    def __init__(self, directory: Path | None, snapshot_changes: int) -> None:
        self.directory = directory
        self.snapshot_changes = snapshot_changes
        self._lock = threading.Lock()
        self._held: dict[str, _Held] = {}
        self.rebuilds = 0  # full builds from the database (a test counts them: catch-up must not rebuild)

    def search(
        self, conn: Connection, bank: BankRef, queries: npt.NDArray[np.uint8]
    ) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]]:
        with self._lock:
            return self._current(conn, bank).index.search(queries, bank.threshold)

    def version(self, bank_id: str) -> int | None:
        held = self._held.get(bank_id)
        return held.version if held else None

    def _current(self, conn: Connection, bank: BankRef) -> _Held:
        held = self._held.get(bank.id) or self._load(bank)
        # a vPDQ bank's index holds its entries' frames (of the bank's quality or more) under packed ids
        quality = bank.frame_quality if bank.type == store.VPDQ else None
        if held is None:
            rows = (
                store.active_entries(conn, bank.id) if quality is None else store.active_frames(conn, bank.id, quality)
            )
            index = PdqIndex()
            if rows:
                index.add(np.array([i for i, _ in rows], dtype=np.int64), from_hex([v for _, v in rows]))
            held = _Held(index, bank.version, 0)
            self.rebuilds += 1
            self._save(bank.id, held)
        elif held.version < bank.version:
            changes = store.changes_since(conn, bank.id, held.version, min_quality=quality)
            held.index.remove(changes.removed)
            if changes.added:
                ids = np.array([i for i, _ in changes.added], dtype=np.int64)
                held.index.add(ids, from_hex([v for _, v in changes.added]))
            held.version = bank.version
            if held.version - held.saved >= self.snapshot_changes:
                self._save(bank.id, held)
        # (an index ahead of the caller's snapshot of the bank is used as it is: it only knows newer entries)
        self._held[bank.id] = held
        return held

    def _path(self, bank_id: str, version: int) -> Path:
        assert self.directory is not None
        return self.directory / f"{bank_id}.v{version}.pdq"

    def _load(self, bank: BankRef) -> _Held | None:
        if self.directory is None or not self.directory.is_dir():
            return None
        found = sorted(
            (int(m.group(1)), p)
            for p in self.directory.glob(f"{bank.id}.v*.pdq")
            if (m := re.fullmatch(rf"{re.escape(bank.id)}\.v(\d+)\.pdq", p.name))
        )
        # a snapshot newer than the database (a restored backup) describes entries that are not there
        usable = [(v, p) for v, p in found if v <= bank.version]
        if not usable:
            return None
        version, path = usable[-1]
        try:
            return _Held(PdqIndex.load(path), version, version)
        except (OSError, ValueError):
            return None  # unreadable: rebuild from the database, which is the record

    def _save(self, bank_id: str, held: _Held) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        held.index.save(self._path(bank_id, held.version))
        for old in self.directory.glob(f"{bank_id}.v*.pdq"):
            if old.name != self._path(bank_id, held.version).name:
                old.unlink(missing_ok=True)
        held.saved = held.version
