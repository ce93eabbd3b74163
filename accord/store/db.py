"""Engines and transactions for the two supported backends.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL`` and foreign keys on, and all
writes go through one writer connection that opens with ``BEGIN IMMEDIATE``: a writer never meets a
``database is locked`` half-way through a transaction, and readers keep reading the last commit.
PostgreSQL (psycopg 3) gets an ordinary pool; the audit chain takes its own advisory lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

__all__ = ["Database"]


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (pysqlite's own handling is broken)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # 64 MiB of page cache (default 2 MiB): the external-id and identifier indexes take random inserts,
    # and once they outgrow the cache every insert reads pages back (bulk intake fell from 5,000 to
    # 3,300 reports/s over a million reports)
    cur.execute("PRAGMA cache_size=-65536")
    # Checkpoint every 20,000 WAL pages (80 MB) instead of 1,000: bulk batches rewrite the same index
    # pages again and again, and a checkpoint copies each page once however often it changed since
    # the last one. A million reports: 3,502 -> 4,080 reports/s. Durability is unchanged (every commit
    # still fsyncs the WAL); a crash replays at most that much WAL on the next open.
    cur.execute("PRAGMA wal_autocheckpoint=20000")
    # Deleted content is overwritten with zeros, not merely marked free: what retention purges must leave
    # the file (docs/retention.md). Intake deletes nothing, so it costs nothing there.
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


class Database:
    """Owns the engines; hands out short transactions for reading or writing."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        if self.dialect == "postgresql" and self.url.drivername == "postgresql":
            self.url = self.url.set(drivername="postgresql+psycopg")
        if self.dialect == "sqlite":
            db = self.url.database
            if db and db != ":memory:":
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            self.writer = self._sqlite_engine(pool_size=1, immediate=True)
            self.reader = self._sqlite_engine(pool_size=8, immediate=False)
        elif self.dialect == "postgresql":
            # No automatic server-side prepares: a prepared generic plan for `external_id IN (500 params)`
            # degrades to a sequential scan once the table grows (measured: 245 ms per lookup at 20k rows).
            connect_args: dict[str, Any] = {"prepare_threshold": None}
            if schema:
                connect_args["options"] = f"-csearch_path={schema}"
            self.writer = create_engine(
                self.url,
                pool_size=10,
                max_overflow=20,
                pool_pre_ping=True,
                connect_args=connect_args,
                json_serializer=_json,
                json_deserializer=orjson.loads,
            )
            self.reader = self.writer
        else:
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite:/// or postgresql://")

    def _sqlite_engine(self, *, pool_size: int, immediate: bool) -> Engine:
        engine = create_engine(
            self.url,
            poolclass=QueuePool,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=60,
            connect_args={"check_same_thread": False},
            json_serializer=_json,
            json_deserializer=orjson.loads,
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any exception."""
        with self.writer.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.reader.begin() as conn:
            yield conn

    def checkpoint_wal(self) -> bool:
        """SQLite: copy the whole WAL into the database file and truncate the WAL to nothing, so pages
        written before a purge (the purged content among them) are gone from the WAL as well. False when
        a reader still needed an older snapshot (try again later); True on PostgreSQL, which has no WAL
        file of this kind to clear."""
        if not self.is_sqlite:
            return True
        raw = self.writer.raw_connection()
        try:
            # outside any transaction (the connection's isolation_level is None): a checkpoint cannot
            # run inside one
            driver: Any = raw.driver_connection
            busy, _, _ = driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            raw.close()
        return not busy

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()
