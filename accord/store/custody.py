"""The custody log's tables: leaves, perfect-subtree hashes, the tree state, checkpoints and signing keys.

``append`` runs inside the caller's transaction, so a piece of evidence and its leaf commit together or
not at all: the leaves, the subtree hashes they complete and the new tree state are written in one go,
and a crash or rollback leaves neither a leaf without its tree state nor a gap in the sequence.

Why the tree state is one locked row: several processes may append (API workers, importers, the job
runner). On PostgreSQL each append reads that row ``FOR UPDATE``, so appenders take turns and each
continues the tree the previous one committed; on SQLite the single ``BEGIN IMMEDIATE`` writer already
serialises them.

Reads are scoped where they show evidence: ``get_entry`` and ``leaves_for_objects`` return only the
caller's organisation's leaves. Hashes (``nodes``, ``leaf_hashes``) are not scoped: a proof reveals
nothing but hashes, and the service gives them to any authenticated caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from accord.custody.entry import CustodyEntry
from accord.custody.merkle import EMPTY_ROOT, Frontier, leaf_hash
from accord.errors import NotFound
from accord.model.organisation import Actor
from accord.store.bulk import insert_rows
from accord.store.schema import (
    CUSTODY_TREE_ROW,
    custody_checkpoints,
    custody_keys,
    custody_leaves,
    custody_nodes,
    custody_tree,
)
from accord.store.types import sqlite_text

__all__ = [
    "CheckpointRow",
    "KeyRow",
    "LeafRow",
    "RawLeaf",
    "TreeState",
    "append",
    "checkpoints",
    "get_entry",
    "insert_checkpoint",
    "insert_key",
    "iterate_leaves",
    "iterate_nodes",
    "keys",
    "latest_checkpoint",
    "leaves_for_objects",
    "levels",
    "lock_state",
    "negative_keys",
    "nodes",
    "retire_key",
    "seq_by_leaf_hash",
    "set_origin",
    "size",
    "snapshot",
    "state",
]


@dataclass(frozen=True)
class TreeState:
    size: int
    frontier: Frontier
    root: bytes
    origin: str | None = None


@dataclass(frozen=True)
class LeafRow:
    seq: int
    leaf: bytes
    leaf_hash: bytes
    org_id: str
    object_type: str
    object_id: str
    action: str
    at: datetime


@dataclass(frozen=True)
class CheckpointRow:
    id: int
    size: int
    root: bytes
    note: str
    key_id: str
    at: datetime


@dataclass(frozen=True)
class KeyRow:
    id: int
    name: str
    key_id: str
    public_key: bytes
    created_at: datetime
    retired_at: datetime | None


_EMPTY = TreeState(0, Frontier(), EMPTY_ROOT)
_CHUNK = 200


def _state(row: Any) -> TreeState:
    frontier = Frontier.from_bytes(bytes(row.frontier))
    return TreeState(int(row.size), frontier, bytes(row.root), row.origin)


def snapshot(conn: Connection) -> None:
    """Make this (fresh) transaction read one consistent snapshot on PostgreSQL, as SQLite's readers do:
    a verification that reads for minutes must not see appends committed half-way through."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def state(conn: Connection) -> TreeState:
    """The tree as of the last commit this transaction sees."""
    row = conn.execute(select(custody_tree).where(custody_tree.c.id == CUSTODY_TREE_ROW)).first()
    return _EMPTY if row is None else _state(row)


def lock_state(conn: Connection) -> TreeState:
    """The tree state, locked until this transaction ends (PostgreSQL: ``FOR UPDATE``)."""
    q = select(custody_tree).where(custody_tree.c.id == CUSTODY_TREE_ROW).with_for_update()
    row = conn.execute(q).first()
    if row is None:  # a schema built without the migration's first row
        initial = {"id": CUSTODY_TREE_ROW, "size": 0, "frontier": Frontier().to_bytes(), "root": EMPTY_ROOT}
        if conn.dialect.name == "postgresql":
            conn.execute(pg_insert(custody_tree).values(initial).on_conflict_do_nothing())
        else:
            conn.execute(insert(custody_tree).values(initial))
        row = conn.execute(q).first()
        assert row is not None
    return _state(row)


def set_origin(conn: Connection, origin: str) -> None:
    """Name the log (once: the tree row must be locked by this transaction)."""
    conn.execute(update(custody_tree).where(custody_tree.c.id == CUSTODY_TREE_ROW).values(origin=origin))


_LEAF_COLUMNS = ("seq", "leaf", "leaf_hash", "org_id", "object_type", "object_id", "action", "at")
_NODE_COLUMNS = ("level", "idx", "hash")


def append(conn: Connection, entries: Sequence[CustodyEntry]) -> list[int]:
    """Append ``entries`` as leaves, in order, in the caller's transaction; returns their sequence numbers."""
    if not entries:
        return []
    tree = lock_state(conn)
    frontier = tree.frontier
    start = frontier.size
    sqlite = conn.dialect.name == "sqlite"
    leaves: list[tuple[Any, ...]] = []
    nodes: list[tuple[int, int, bytes]] = []
    last: datetime | None = None
    at: Any = None
    for seq, e in enumerate(entries, start):
        data = e.leaf_bytes()
        h = leaf_hash(data)
        if e.at is not last:  # a batch's entries share one time: formatted once
            # SQLite keeps times as text; this is the exact text SQLAlchemy's DateTime writes (and reads back)
            last, at = e.at, sqlite_text(e.at) if sqlite else e.at
        leaves.append((seq, data, h, e.org_id, e.object_type, e.object_id, e.action.value, at))
        nodes.extend((n.level, n.index, n.hash) for n in frontier.append(h)[1:])
    _insert(conn, custody_leaves, _LEAF_COLUMNS, leaves)
    _insert(conn, custody_nodes, _NODE_COLUMNS, nodes)
    conn.execute(
        update(custody_tree)
        .where(custody_tree.c.id == CUSTODY_TREE_ROW)
        .values(size=frontier.size, frontier=frontier.to_bytes(), root=frontier.root())
    )
    return list(range(start, frontier.size))


def _insert(conn: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows of plain driver values. Why not ``bulk.insert_rows`` on SQLite: its per-value bind processing
    cost a third of an append (the values here are already what the driver stores); PostgreSQL uses it
    for COPY."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        names = ", ".join(columns)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})", rows)
        return
    insert_rows(conn, table, [dict(zip(columns, row, strict=True)) for row in rows])


def nodes(conn: Connection, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored hashes of the perfect subtrees ``(level, index)`` asked for, in one statement (level 0:
    the leaf hashes). Missing ones are simply absent from the answer.

    Why a driver-level statement: the set of nodes differs from proof to proof, and building the same
    query through SQLAlchemy expressions cost 4 ms (constructing ~20 clauses and their cache key), while
    the database answers it in 0.1 ms through the primary key. The statement only ever holds placeholders.
    """
    asked = set(wanted)
    seqs = sorted(index for level, index in asked if level == 0)
    pairs = sorted((level, index) for level, index in asked if level > 0)
    if not asked:
        return {}
    if conn.dialect.name == "postgresql":
        # Arrays: one statement of one shape for any number of nodes (an OR chain took 40% longer to plan).
        rows = conn.exec_driver_sql(
            f"SELECT 0, seq, leaf_hash FROM {custody_leaves.name} WHERE seq = ANY(%s) UNION ALL "
            f"SELECT n.level, n.idx, n.hash FROM {custody_nodes.name} n "
            "JOIN unnest(%s::int[], %s::bigint[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx",
            (seqs, [level for level, _ in pairs], [index for _, index in pairs]),
        )
        return {(int(level), int(index)): bytes(h) for level, index, h in rows}
    out: dict[tuple[int, int], bytes] = {}
    # A proof needs one statement; an export of many leaves is split so that no statement's OR chain
    # comes near SQLite's expression depth limit (1,000).
    for start in range(0, max(len(seqs), len(pairs)), _CHUNK):
        some_seqs, some_pairs = seqs[start : start + _CHUNK], pairs[start : start + _CHUNK]
        parts: list[str] = []
        params: list[int] = []
        if some_seqs:
            parts.append(
                f"SELECT 0 AS level, seq AS idx, leaf_hash AS h FROM {custody_leaves.name} "
                f"WHERE seq IN ({', '.join('?' * len(some_seqs))})"
            )
            params.extend(some_seqs)
        if some_pairs:
            parts.append(
                f"SELECT level, idx, hash AS h FROM {custody_nodes.name} "
                f"WHERE {' OR '.join(['(level = ? AND idx = ?)'] * len(some_pairs))}"
            )
            params.extend(v for pair in some_pairs for v in pair)
        rows = conn.exec_driver_sql(" UNION ALL ".join(parts), tuple(params))
        out.update(((int(level), int(index)), bytes(h)) for level, index, h in rows)
    return out


def size(conn: Connection) -> int:
    """The number of leaves committed, as this transaction sees it (driver-level: every proof asks)."""
    ph = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    value = conn.exec_driver_sql(f"SELECT size FROM {custody_tree.name} WHERE id = {ph}", (CUSTODY_TREE_ROW,)).scalar()
    return 0 if value is None else int(value)


def seq_by_leaf_hash(conn: Connection, h: bytes) -> int | None:
    """The first leaf with this hash (equal entries have equal hashes; the earliest is the one proven)."""
    q = select(custody_leaves.c.seq).where(custody_leaves.c.leaf_hash == h).order_by(custody_leaves.c.seq).limit(1)
    seq = conn.execute(q).scalar()
    return None if seq is None else int(seq)


def _leaf(row: Any) -> LeafRow:
    return LeafRow(
        seq=int(row.seq),
        leaf=bytes(row.leaf),
        leaf_hash=bytes(row.leaf_hash),
        org_id=row.org_id,
        object_type=row.object_type,
        object_id=row.object_id,
        action=row.action,
        at=row.at,
    )


def get_entry(conn: Connection, actor: Actor, seq: int) -> LeafRow:
    """One leaf of the caller's organisation; another organisation's leaf is missing, as is none at all."""
    row = conn.execute(
        select(custody_leaves).where(custody_leaves.c.seq == seq, custody_leaves.c.org_id == actor.org_id)
    ).first()
    if row is None:
        raise NotFound(f"no custody entry {seq}")
    return _leaf(row)


def leaves_for_objects(
    conn: Connection, actor: Actor, object_type: str, object_ids: Sequence[str], below: int
) -> list[LeafRow]:
    """The caller's organisation's leaves about these objects with ``seq < below``, in log order."""
    out: list[LeafRow] = []
    ids = sorted(set(object_ids))
    for start in range(0, len(ids), 500):
        q = select(custody_leaves).where(
            custody_leaves.c.org_id == actor.org_id,
            custody_leaves.c.object_type == object_type,
            custody_leaves.c.object_id.in_(ids[start : start + 500]),
            custody_leaves.c.seq < below,
        )
        out.extend(_leaf(r) for r in conn.execute(q))
    return sorted(out, key=lambda leaf: leaf.seq)


RawLeaf = tuple[int, bytes, bytes, str, str, str, str, str]
"""``(seq, leaf, leaf_hash, org_id, object_type, object_id, action, at)``, ``at`` spelled as in the leaf."""


def _at_text(value: Any) -> str:
    if isinstance(value, str):  # SQLite: "2026-11-25 12:00:00.000000"
        return f"{value[:10]}T{value[11:]}Z"
    assert isinstance(value, datetime)
    return value.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def iterate_leaves(conn: Connection, batch: int = 20000) -> Iterator[RawLeaf]:
    """Every leaf of the node in sequence order, as plain tuples, for verification (unscoped: operator only).

    Read below SQLAlchemy's result processing: verification touches every row, and building a datetime
    per row cost more than checking the row."""
    ph = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"SELECT {', '.join(_LEAF_COLUMNS)} FROM {custody_leaves.name} WHERE seq > {ph} ORDER BY seq LIMIT {ph}"
    last = -1
    while True:
        rows = conn.exec_driver_sql(sql, (last, batch)).fetchall()
        if not rows:
            return
        for seq, leaf, h, org_id, object_type, object_id, action, at in rows:
            yield int(seq), bytes(leaf), bytes(h), org_id, object_type, object_id, action, _at_text(at)
        last = int(rows[-1][0])


def iterate_nodes(conn: Connection, level: int, batch: int = 20000) -> Iterator[tuple[int, bytes]]:
    """``(index, hash)`` of every stored node at ``level`` (>= 1), in index order."""
    ph = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"SELECT idx, hash FROM {custody_nodes.name} WHERE level = {ph} AND idx > {ph} ORDER BY idx LIMIT {ph}"
    last = -1
    while True:
        rows = conn.exec_driver_sql(sql, (level, last, batch)).fetchall()
        if not rows:
            return
        for idx, h in rows:
            yield int(idx), bytes(h)
        last = int(rows[-1][0])


def levels(conn: Connection) -> list[int]:
    """The levels that hold stored nodes (a node at a level the tree cannot have is an insertion)."""
    return sorted(int(v) for v in conn.execute(select(custody_nodes.c.level).distinct()).scalars())


def negative_keys(conn: Connection) -> tuple[list[int], list[tuple[int, int]]]:
    """Leaves with a negative sequence number and nodes with a negative index: no tree has them, and the
    ordered scans above start after -1, so verification asks for them here (an inserted row is one)."""
    leaves = conn.execute(
        select(custody_leaves.c.seq).where(custody_leaves.c.seq < 0).order_by(custody_leaves.c.seq)
    ).scalars()
    nodes = conn.execute(
        select(custody_nodes.c.level, custody_nodes.c.idx)
        .where(custody_nodes.c.idx < 0)
        .order_by(custody_nodes.c.level, custody_nodes.c.idx)
    )
    return [int(seq) for seq in leaves], [(int(level), int(idx)) for level, idx in nodes]


def _checkpoint(row: Any) -> CheckpointRow:
    return CheckpointRow(int(row.id), int(row.size), bytes(row.root), row.note, row.key_id, row.at)


def insert_checkpoint(conn: Connection, size: int, root: bytes, note: str, key_id: str, at: datetime) -> CheckpointRow:
    new_id = conn.execute(
        insert(custody_checkpoints)
        .values(size=size, root=root, note=note, key_id=key_id, at=at)
        .returning(custody_checkpoints.c.id)
    ).scalar_one()
    return CheckpointRow(int(new_id), size, root, note, key_id, at)


def latest_checkpoint(conn: Connection) -> CheckpointRow | None:
    row = conn.execute(select(custody_checkpoints).order_by(custody_checkpoints.c.id.desc()).limit(1)).first()
    return None if row is None else _checkpoint(row)


def checkpoints(conn: Connection) -> list[CheckpointRow]:
    """Every signed checkpoint, smallest tree first (then in signing order)."""
    q = select(custody_checkpoints).order_by(custody_checkpoints.c.size, custody_checkpoints.c.id)
    return [_checkpoint(r) for r in conn.execute(q)]


def _key(row: Any) -> KeyRow:
    return KeyRow(int(row.id), row.name, row.key_id, bytes(row.public_key), row.created_at, row.retired_at)


def keys(conn: Connection) -> list[KeyRow]:
    """Every signing key the log has used, oldest first."""
    return [_key(r) for r in conn.execute(select(custody_keys).order_by(custody_keys.c.id))]


def insert_key(conn: Connection, name: str, key_id: str, public_key: bytes, at: datetime) -> None:
    conn.execute(insert(custody_keys).values(name=name, key_id=key_id, public_key=public_key, created_at=at))


def retire_key(conn: Connection, key_row_id: int, at: datetime) -> None:
    conn.execute(update(custody_keys).where(custody_keys.c.id == key_row_id).values(retired_at=at))
