"""The objects of a graph-shaped document, kept on disk while a report is assembled from them.

A STIX bundle or a CASE graph cannot be turned into reports element by element: a grouping lists
objects that may come anywhere in the file, and an action anywhere may be what produced a record. So
the document is read once into this spill file (a private SQLite database in a temporary directory,
deleted on close), then reports are built by looking objects up in it. Memory stays flat whatever the
file's size: what is held is a bounded cache of recently used objects, and SQLite's own page cache.

Each object is stored as JSON bytes under a key (its id), in document order (``position``, from 1),
with any number of tags (its types) to list objects by. A key may be stored several times (STIX
versions, a JSON-LD node described in several places); ``get`` gives every copy in document order.
A set of marked keys serves as a visited set, and notes by position keep what an object came to,
neither of them in memory.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

__all__ = ["Spill"]

_BATCH = 5000
_BLOCK = 64  # objects read together on a cache miss


class _Keys:
    """Membership in a table of keys, without holding them (few or none in a usual document)."""

    def __init__(self, db: sqlite3.Connection, table: str) -> None:
        self._db, self._table = db, table
        self._empty = db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None

    def __contains__(self, key: object) -> bool:
        if self._empty:
            return False
        return self._db.execute(f"SELECT 1 FROM {self._table} WHERE key = ?", (key,)).fetchone() is not None


class Spill:
    def __init__(self, directory: Path | None = None, cache: int = 50_000) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="accord-spill-", dir=directory)
        self._db = sqlite3.connect(Path(self._dir.name) / "spill.db", isolation_level=None)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -65536", "temp_store = FILE"):
            self._db.execute(f"PRAGMA {pragma}")  # a scratch file: nothing to recover after a crash
        self._db.executescript(
            "CREATE TABLE objects (position INTEGER PRIMARY KEY, key TEXT NOT NULL, doc BLOB NOT NULL);"
            "CREATE TABLE tags (tag TEXT NOT NULL, position INTEGER NOT NULL);"
            "CREATE TABLE marked (key TEXT PRIMARY KEY) WITHOUT ROWID;"
            "CREATE TABLE notes (position INTEGER PRIMARY KEY, doc BLOB NOT NULL);"
            "CREATE TABLE mentions (key TEXT NOT NULL, position INTEGER NOT NULL);"
        )
        self._db.execute("BEGIN")
        self._rows: list[tuple[int, str, bytes]] = []
        self._tags: list[tuple[str, int]] = []
        self._marks: list[tuple[str]] = []
        self._notes: list[tuple[int, bytes]] = []
        self._count = 0
        self._indexed = False
        self._multiple: _Keys | frozenset[str] = frozenset()
        self._cache: OrderedDict[str, list[tuple[int, bytes]]] = OrderedDict()  # key -> its copies, as stored
        self._cache_size = cache
        self._mentions: list[tuple[str, int]] = []  # (key, position) not yet written
        self._mentioned = 0  # positions taken by mentions

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def __len__(self) -> int:
        return self._count - self._mentioned

    # loading

    def add(self, key: str, doc: Any, tags: Iterable[str] = ()) -> int:
        """Store ``doc`` (JSON-serialisable) under ``key``; its position in document order."""
        if self._indexed:
            raise RuntimeError("the spill is read-only once read from")
        self._count += 1
        self._rows.append((self._count, key, orjson.dumps(doc)))
        self._tags.extend((tag, self._count) for tag in tags)
        if len(self._rows) >= _BATCH:
            self._flush()
        return self._count

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO objects VALUES (?, ?, ?)", self._rows)
        self._db.executemany("INSERT INTO tags VALUES (?, ?)", self._tags)
        self._db.executemany("INSERT INTO mentions VALUES (?, ?)", self._mentions)
        self._rows.clear()
        self._tags.clear()
        self._mentions.clear()

    def _ready(self) -> None:
        """Index once loading is over: building an index after the rows is faster than keeping it up."""
        if not self._indexed:
            self._flush()
            self._db.execute("CREATE INDEX objects_key ON objects (key, position)")
            self._db.execute("CREATE INDEX tags_tag ON tags (tag, position)")
            self._db.execute("CREATE INDEX mentions_key ON mentions (key, position)")
            self._db.execute("CREATE TABLE multiple AS SELECT key FROM objects GROUP BY key HAVING count(*) > 1")
            self._db.execute("CREATE UNIQUE INDEX multiple_key ON multiple (key)")
            self._multiple = _Keys(self._db, "multiple")
            self._db.execute("COMMIT")
            self._indexed = True

    # reading

    def get(self, key: str) -> list[tuple[int, Any]]:
        """Every stored copy of ``key`` as (position, object), in document order; [] if none."""
        found = self._cache.get(key)
        if found is None:
            found = self._fetch(key)
        else:
            self._cache.move_to_end(key)
        return [(position, orjson.loads(doc)) for position, doc in found]

    def _fetch(self, key: str) -> list[tuple[int, bytes]]:
        """Read ``key``, and the block of objects that follows it into the cache: the objects of one
        report are mostly stored together, so one read serves the report's other lookups."""
        self._ready()
        db = self._db
        positions = [p for (p,) in db.execute("SELECT position FROM objects WHERE key = ? ORDER BY position", (key,))]
        if not positions:
            found: list[tuple[int, bytes]] = []
        else:
            block = db.execute(
                "SELECT position, key, doc FROM objects WHERE position >= ? AND position < ?",
                (positions[0], positions[0] + _BLOCK),
            )
            for position, other, doc in block:
                if other != key and other not in self._multiple:  # such keys are only cached whole, below
                    self._remember(other, [(position, doc)])
            query = f"SELECT position, doc FROM objects WHERE position IN ({','.join('?' * len(positions))})"
            found = sorted(db.execute(query, positions))
        self._remember(key, found)
        return found

    def _remember(self, key: str, found: list[tuple[int, bytes]]) -> None:
        self._cache[key] = found
        self._cache.move_to_end(key)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def tagged(self, *tags: str) -> Iterator[tuple[int, str, str]]:
        """(position, key, tag) of the objects with any of ``tags``, in document order (an object with
        several of them comes once for each)."""
        self._ready()
        marks = ",".join("?" * len(tags))
        query = (
            "SELECT t.position, o.key, t.tag FROM tags t JOIN objects o ON o.position = t.position "
            f"WHERE t.tag IN ({marks}) ORDER BY t.position"
        )
        yield from self._db.execute(query, tags)

    def scan(self) -> Iterator[tuple[int, str, Any]]:
        """Every stored object as (position, key, object), in document order: reading back a whole
        document costs a row each, where ``get`` pays for its lookup and cache."""
        self._ready()
        for position, key, doc in self._db.execute("SELECT position, key, doc FROM objects ORDER BY position"):
            yield position, key, orjson.loads(doc)

    def keys_stored_more_than_once(self) -> list[str]:
        self._ready()
        return [k for (k,) in self._db.execute("SELECT key FROM multiple")]

    def drop(self, position: int) -> None:
        """Forget one stored copy (an older version of an object)."""
        self._ready()
        key = self._db.execute("SELECT key FROM objects WHERE position = ?", (position,)).fetchone()
        self._db.execute("DELETE FROM objects WHERE position = ?", (position,))
        self._db.execute("DELETE FROM tags WHERE position = ?", (position,))
        if key is not None:
            self._cache.pop(key[0], None)

    def mark(self, keys: Iterable[str]) -> None:
        """Add ``keys`` to the marked set (written in batches: ``marked`` sees them all the same)."""
        self._ready()
        self._marks.extend((k,) for k in keys)
        if len(self._marks) >= _BATCH:
            self._flush_marks()

    def _flush_marks(self) -> None:
        if self._marks or self._notes:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR IGNORE INTO marked VALUES (?)", self._marks)
            self._db.executemany("INSERT OR REPLACE INTO notes VALUES (?, ?)", self._notes)
            self._db.execute("COMMIT")
            self._marks.clear()
            self._notes.clear()

    def note(self, position: int, doc: Any) -> None:
        """Keep a JSON-serialisable result about the object at ``position`` (what it came to)."""
        self._ready()
        self._notes.append((position, orjson.dumps(doc)))
        if len(self._notes) >= _BATCH:
            self._flush_marks()

    def noted(self, position: int) -> Any:
        """What was noted about the object at ``position``, or None."""
        self._ready()
        self._flush_marks()
        row = self._db.execute("SELECT doc FROM notes WHERE position = ?", (position,)).fetchone()
        return None if row is None else orjson.loads(row[0])

    def marked(self, key: str) -> bool:
        self._ready()
        self._flush_marks()
        return self._db.execute("SELECT 1 FROM marked WHERE key = ?", (key,)).fetchone() is not None

    @property
    def directory(self) -> Path:
        """The spill's private temporary directory (deleted on close): room for other scratch files."""
        return Path(self._dir.name)

    # mentions: a JSON-LD node is often named (referenced) before the object that describes it

    def mention(self, key: str) -> int:
        """Note ``key`` as named at this point of the document without storing anything: the mention
        takes a position as an object would, and ``first`` and ``first_tagged`` count it."""
        if self._indexed:
            raise RuntimeError("the spill is read-only once read from")
        self._count += 1
        self._mentioned += 1
        self._mentions.append((key, self._count))
        if len(self._mentions) >= _BATCH:
            self._flush()
        return self._count

    _FIRST = (
        "SELECT min(position) FROM (SELECT min(position) AS position FROM objects WHERE key = {k} "
        "UNION ALL SELECT min(position) FROM mentions WHERE key = {k})"
    )

    def first(self, key: str) -> int | None:
        """The position at which ``key`` is first stored or mentioned; None if it is neither."""
        self._ready()
        found: int | None = self._db.execute(self._FIRST.format(k="?1"), (key,)).fetchone()[0]
        return found

    def first_tagged(self, *tags: str) -> Iterator[tuple[int, str]]:
        """(first position, key) of each key stored with any of ``tags``, each key once, ordered by
        where it is first stored or mentioned (see ``first``)."""
        self._ready()
        marks = ",".join("?" * len(tags))
        query = (
            f"SELECT ({self._FIRST.format(k='k.key')}) AS first, k.key FROM (SELECT DISTINCT o.key FROM tags t "
            f"JOIN objects o ON o.position = t.position WHERE t.tag IN ({marks})) k ORDER BY first"
        )
        yield from self._db.execute(query, tags)
