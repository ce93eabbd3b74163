"""Observables: one record per distinct identifier or media key of an organisation, linked to its reports.

Intake calls ``link`` once per batch, in the batch's transaction. It gathers the batch's distinct keys
(with the earliest and latest ``received_at`` and the number of reports for each), brings the records up
to date in a few statements per batch, whatever its size, and then writes the links as one bulk insert
(COPY on PostgreSQL).

How the records are brought up to date differs by backend, for concurrency and for speed:

- PostgreSQL, where several writers may store the same new key at once: the batch's keys are copied
  into a temporary table and upserted from it in one statement (``INSERT ... SELECT ... ON CONFLICT
  (key_hash, org_id, key) DO UPDATE ... RETURNING id``). A second writer storing the same new key waits
  on the first's row and then updates it, where a look-up-then-insert would have both inserting. Keys go
  in sorted by (key_hash, org_id, key), so writers lock shared records in one order and cannot deadlock.
- SQLite, with its single writer (``BEGIN IMMEDIATE``): one SELECT of the batch's existing records through
  the hash index, one executemany INSERT of the new ones with ids from max(id) + 1 on, one executemany
  UPDATE of the others in id order. The upsert statement cost twice as much there (measured on 5,300
  keys against 94,000 records: 60 ms against 30 ms, and twice the commit).

Either way a record's id is assigned when it is first stored, in increasing order, so links to new
records land at the end of the link index.

Bulk imports on SQLite defer the records' updates (``link(..., defer=True)``). A batch of the simulated
world touches about 8,000 records that earlier batches stored, mostly the same few thousand frequent keys
each time, scattered over the records table: the UPDATE rewrote those pages in every batch's commit
(through the WAL, with its fsync). Deferred, a batch appends its additions to records that already
existed as rows of ``observable_pending`` (one per record and batch: a few new pages at the end of one
table) and leaves the records as they are; new records are still stored complete. A record's aggregates
are therefore its own columns combined with its pending rows: ``find`` combines them, so what a search
answers is the same whether or not they have been folded in. ``fold`` folds every pending row into its
record, in record id order, and empties the table; it runs at the end of each import, whenever the pending
rows pass ``PENDING_BOUND`` (so an import of any size keeps them, and a search's scan of them, bounded),
and before retention unlinks reports (which then works on exact records). An import interrupted before its
fold leaves its rows pending, still counted by every search, until the next fold.

PostgreSQL never defers: its writers overlap, and its upsert is what makes two writers of one new key
agree; a pending row would have to be folded under the same locks. Its pending table stays empty.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, text

from accord.ids import ReportId
from accord.model.observable import Observable, ObservableKind
from accord.model.organisation import Actor
from accord.store.bulk import insert_tuples
from accord.store.keyhash import key_hash
from accord.store.schema import observable_pending, observables, report_observables

__all__ = ["PENDING_BOUND", "find", "fold", "link"]

# Pending rows (SQLite bulk imports) at which a batch folds them in: about 25,000 reports of the simulated
# world. Folding is cheaper the rarer it is (each frequent record's page is rewritten once per fold instead
# of once per batch); the bound caps the table's size and what a search scans while an import runs.
PENDING_BOUND = 100_000

# Hashes per SELECT on SQLite: a 1,000-report batch of the simulated world has about 5,700 distinct keys;
# bounded for SQLite's limit on bound variables (32,766 by default since 3.32).
_CHUNK = 10000

_IDENTIFIER = ObservableKind.identifier.value
_MEDIA = ObservableKind.media.value

_SQLITE_UPDATE = (
    "UPDATE observables SET first_seen = min(first_seen, ?), last_seen = max(last_seen, ?), "
    "report_count = report_count + ? WHERE id = ?"
)
_SQLITE_PENDING = (
    "INSERT INTO observable_pending (observable_id, first_seen, last_seen, report_count) VALUES (?, ?, ?, ?)"
)
_SQLITE_INSERT = (
    "INSERT INTO observables (id, org_id, kind, key, key_hash, first_seen, last_seen, report_count) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

# PostgreSQL: the batch's keys are copied into a temporary table and upserted from it in one statement.
# (psycopg builds array parameters in Python, element by element: passed as seven arrays, the keys of a
# 20,000-report load cost the client 2.7 s under the profiler; COPY costs about 2.5 µs a row.)
_POSTGRESQL_STAGE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS observables_batch (n integer, org_id varchar(40), kind varchar(20), "
    "key varchar(2100), key_hash bigint, first_seen timestamptz, last_seen timestamptz, report_count integer) "
    "ON COMMIT DELETE ROWS"
)
# ORDER BY n: rows go in in the order they were copied, sorted by (key_hash, org_id, key): the lock order.
_POSTGRESQL_UPSERT = text(
    "INSERT INTO observables (org_id, kind, key, key_hash, first_seen, last_seen, report_count) "
    "SELECT org_id, kind, key, key_hash, first_seen, last_seen, report_count FROM observables_batch ORDER BY n "
    "ON CONFLICT (key_hash, org_id, key) DO UPDATE SET "
    "first_seen = LEAST(observables.first_seen, EXCLUDED.first_seen), "
    "last_seen = GREATEST(observables.last_seen, EXCLUDED.last_seen), "
    "report_count = observables.report_count + EXCLUDED.report_count "
    "RETURNING id, org_id, key"
)


class _Batch:
    """A batch's distinct keys and its links, as parallel lists indexed by key position.

    Why lists of plain values and not a record object per key: a batch has thousands of keys, and objects
    that stay alive across a batch are what drives Python's cyclic garbage collector to run full
    collections over the whole heap (measured: the collector was a third of this module's cost).
    """

    def __init__(self) -> None:
        self.position: dict[str, dict[str, int]] = {}  # org_id -> key -> position
        self.org: list[str] = []
        self.key: list[str] = []
        self.kind: list[str] = []
        self.first: list[Any] = []  # datetimes, or on SQLite the text the column stores
        self.last: list[Any] = []
        self.count: list[int] = []
        self.link_key: list[int] = []  # per link: the key's position
        self.link_report: list[str] = []  # per link: the report id, in the order the reports came

    def add(self, org: str, report_id: str, at: Any, kind: str, keys: Iterable[str]) -> None:
        positions = self.position.setdefault(org, {})
        first, last, count, link_key = self.first, self.last, self.count, self.link_key
        n = len(link_key)
        for k in keys:
            i = positions.get(k)
            if i is None:
                positions[k] = i = len(self.key)
                self.org.append(org)
                self.key.append(k)
                self.kind.append(kind)
                first.append(at)
                last.append(at)
                count.append(1)
            else:
                if at < first[i]:
                    first[i] = at
                elif at > last[i]:
                    last[i] = at
                count[i] += 1
            link_key.append(i)
        self.link_report.extend([report_id] * (len(link_key) - n))


def link(
    conn: Connection,
    reports: Sequence[tuple[str, str, datetime | str, Collection[str], Collection[str]]],
    *,
    defer: bool = False,
) -> None:
    """Link each report, given as (organisation, report id, received at, identifier keys, media keys), to
    the records of those keys (on SQLite "received at" may come as the text the column stores, which
    ``store.reports`` has made already). ``defer`` (bulk imports; SQLite only): what the reports add to records
    that already exist goes to the pending rows, to be folded in later (see the module docstring).

    The identifier keys come from the caller because only some identifiers may be indexed (a victim's
    are sealed, never linked). Call it once per stored report: the count is of links, so storing the
    same report twice would count it twice (intake recognises a repeated report before it gets here)."""
    sqlite = conn.dialect.name == "sqlite"
    # On SQLite times are compared as the fixed-width text the column stores (as min() and max() compare
    # them in SQL): converted once per report here rather than once per key.
    stored_time = observables.c.first_seen.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    batch = _Batch()
    for org_id, report_id, received_at, identifier_keys, media_keys in reports:
        at = stored_time(received_at) if sqlite and stored_time and not isinstance(received_at, str) else received_at
        batch.add(org_id, report_id, at, _IDENTIFIER, identifier_keys)
        if media_keys:
            batch.add(org_id, report_id, at, _MEDIA, media_keys)
    if not batch.key:
        return
    hashes = [key_hash(org, k) for org, k in zip(batch.org, batch.key, strict=True)]
    ids = _records_sqlite(conn, batch, hashes, defer) if sqlite else _records_postgresql(conn, batch, hashes)
    # Links are numbered as written. Sorted by record (a stable sort: each record's links stay in the
    # order their reports came), they go into the by-record index in key order, and each record's links
    # are still numbered in report order, which is the order a search lists them in.
    record = [ids[i] for i in batch.link_key]
    order = sorted(range(len(record)), key=record.__getitem__)
    report_column = [batch.link_report[j] for j in order]
    record_column = [record[j] for j in order]
    rows = zip(report_column, record_column, strict=True)
    insert_tuples(conn, report_observables, ("report_id", "observable_id"), rows, plain=True)  # ids only


def _records_sqlite(conn: Connection, batch: _Batch, hashes: list[int], defer: bool) -> list[int]:
    ids = [0] * len(batch.key)
    wanted = sorted(set(hashes))
    # The driver's own connection, in this transaction: plain tuples back (a Row object per key cost 1 µs)
    # and executemany from generators (no list of parameter tuples kept alive).
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        sql = f"SELECT id, org_id, key FROM observables WHERE key_hash IN ({', '.join('?' * len(chunk))})"
        for oid, org, k in raw.execute(sql, chunk).fetchall():
            i = batch.position.get(org, {}).get(k)
            if i is not None:  # the hash matched: the row must match too
                ids[i] = oid
    seen = sorted((i for i, oid in enumerate(ids) if oid), key=ids.__getitem__)
    if seen and defer:
        raw.executemany(_SQLITE_PENDING, ((ids[i], batch.first[i], batch.last[i], batch.count[i]) for i in seen))
        low, high = raw.execute("SELECT min(id), max(id) FROM observable_pending").fetchone()
        if high - low + 1 >= PENDING_BOUND:  # ids are consecutive: the table is only ever emptied whole
            fold(conn)
    elif seen:
        raw.executemany(_SQLITE_UPDATE, ((batch.first[i], batch.last[i], batch.count[i], ids[i]) for i in seen))
    new = sorted((i for i, oid in enumerate(ids) if not oid), key=hashes.__getitem__)
    if new:
        oid = raw.execute("SELECT coalesce(max(id), 0) FROM observables").fetchone()[0]
        for i in new:
            oid += 1
            ids[i] = oid
        b = batch
        raw.executemany(
            _SQLITE_INSERT,
            ((ids[i], b.org[i], b.kind[i], b.key[i], hashes[i], b.first[i], b.last[i], b.count[i]) for i in new),
        )
    return ids


def _records_postgresql(conn: Connection, batch: _Batch, hashes: list[int]) -> list[int]:
    import psycopg

    ids = [0] * len(batch.key)
    order = sorted(range(len(batch.key)), key=lambda i: (hashes[i], batch.org[i], batch.key[i]))
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    with raw.cursor() as cur:
        cur.execute(_POSTGRESQL_STAGE)
        cur.execute("DELETE FROM observables_batch")  # empty unless this transaction linked a batch already
        columns = "n, org_id, kind, key, key_hash, first_seen, last_seen, report_count"
        with cur.copy(f"COPY observables_batch ({columns}) FROM STDIN") as copy:
            b = batch
            for n, i in enumerate(order):
                copy.write_row((n, b.org[i], b.kind[i], b.key[i], hashes[i], b.first[i], b.last[i], b.count[i]))
    for oid, org, k in conn.execute(_POSTGRESQL_UPSERT):
        ids[batch.position[org][k]] = oid
    return ids


# One statement for both backends (SQLite has UPDATE ... FROM since 3.33): the pending rows summed per
# record, and each record updated once, in id order on SQLite (it walks the grouped rows and finds each
# record by its rowid). On PostgreSQL the table is empty, so this locks nothing.
_FOLD = text(
    "UPDATE observables SET "
    "first_seen = CASE WHEN p.first_seen < observables.first_seen THEN p.first_seen ELSE observables.first_seen END, "
    "last_seen = CASE WHEN p.last_seen > observables.last_seen THEN p.last_seen ELSE observables.last_seen END, "
    "report_count = observables.report_count + p.report_count "
    "FROM (SELECT observable_id, sum(report_count) AS report_count, min(first_seen) AS first_seen, "
    "max(last_seen) AS last_seen FROM observable_pending GROUP BY observable_id) AS p "
    "WHERE observables.id = p.observable_id"
)


def fold(conn: Connection) -> None:
    """Fold every pending row into its record and empty the pending table, in the caller's transaction.
    Afterwards each record's own columns are its exact aggregates."""
    if conn.execute(select(observable_pending.c.id).limit(1)).first() is None:
        return
    conn.execute(_FOLD)
    conn.execute(observable_pending.delete())


def find(
    conn: Connection, actor: Actor, kind: ObservableKind, key: str, limit: int
) -> tuple[Observable | None, list[ReportId]]:
    """The caller's organisation's record of ``key`` (None: never seen there) and the ids of up to
    ``limit`` of its reports that hold it, in the order they were stored."""
    o = observables
    row = conn.execute(
        select(o.c.id, o.c.first_seen, o.c.last_seen, o.c.report_count).where(
            o.c.key_hash == key_hash(actor.org_id, key),
            o.c.org_id == actor.org_id,
            o.c.key == key,
            o.c.kind == kind.value,
        )
    ).first()
    if row is None:
        return None, []
    p = observable_pending.c
    more, first, last = conn.execute(
        select(func.sum(p.report_count), func.min(p.first_seen), func.max(p.last_seen)).where(p.observable_id == row.id)
    ).one()
    record = Observable(
        kind=kind,
        key=key,
        first_seen=row.first_seen if first is None else min(row.first_seen, first),
        last_seen=row.last_seen if last is None else max(row.last_seen, last),
        report_count=row.report_count + (more or 0),
    )
    links = report_observables.c
    q = select(links.report_id).where(links.observable_id == row.id).order_by(links.id).limit(limit)
    return record, [ReportId(r) for r in conn.execute(q).scalars()]
