"""The custody log as a service: recording leaves, proofs, signed checkpoints, verification, key rotation
and evidence bundles (docs/custody.md).

Other services call ``record`` inside their own transaction, so evidence and its custody leaf commit
together. Call it before appending audit events in that transaction: on PostgreSQL the custody append
locks the tree row and the audit append takes an advisory lock, and taking the two in one order
everywhere keeps concurrent writers from deadlocking.

The log's origin (the first line of every checkpoint, and the signing key's note name) is
``accord/log_<ULID>``, minted when the first checkpoint is signed and kept in the tree row: unique to
the node, stable for its life, and it tells a reader of a bundle which log a checkpoint speaks for.
Why not the operator organisation's id: the checkpoint is public, and organisation ids are not (the
isolation tests hold every foreign organisation id, the operator's included, out of tenants' answers).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Connection

from accord.custody.bundle import BundleEntry, BundleItem, build_bundle
from accord.custody.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from accord.custody.entry import CustodyAction, CustodyEntry
from accord.custody.merkle import (
    EMPTY_ROOT,
    consistency_ranges,
    hash_range,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    range_nodes,
)
from accord.custody.note import NoteError, Signer, Verifier, cosign, parse_note
from accord.errors import Invalid, NotFound, Unavailable
from accord.ids import ActorId, OrgId
from accord.model.organisation import Actor
from accord.model.report import Report
from accord.safeguards.policy import Action
from accord.services.audit import authorize, draft
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import cases as case_store
from accord.store import custody as store
from accord.store import orgs as org_store
from accord.store import reports as report_store
from accord.store import retention as retention_store

__all__ = [
    "ConsistencyProof",
    "EntryView",
    "InclusionProof",
    "LogFault",
    "LogVerification",
    "Received",
    "RotatedKey",
    "SignedCheckpoint",
    "consistency_proof",
    "current_checkpoint",
    "entry",
    "export_case",
    "inclusion_proof",
    "origin",
    "received_entry",
    "record",
    "record_received",
    "record_reports",
    "report_entries",
    "rotate_key",
    "verifiers",
    "verify_log",
]

ORIGIN_PREFIX = "accord/"


def _named(node: Node, conn: Connection, tree: store.TreeState) -> str:
    """The log's origin, minted now if it has none yet (the tree row must be locked)."""
    if tree.origin is not None:
        return tree.origin
    name = ORIGIN_PREFIX + node.ids("log")
    store.set_origin(conn, name)
    return name


def origin(node: Node) -> str:
    """The log's name in checkpoints and on its signing key: ``accord/log_<ULID>``."""
    with node.db.read() as conn:
        name = store.state(conn).origin
    if name is not None:
        return name
    with node.db.write() as conn:
        return _named(node, conn, store.lock_state(conn))


# --- recording ------------------------------------------------------------------------------------


def record(node: Node, conn: Connection, entries: Sequence[CustodyEntry]) -> list[int]:
    """Append ``entries`` to the log in the caller's transaction; returns their sequence numbers."""
    return store.append(conn, entries)


class Received(Protocol):
    """What a "received" leaf says of a report (``Report`` and intake's ``NewReport`` both have it)."""

    @property
    def id(self) -> str: ...
    @property
    def org_id(self) -> OrgId: ...
    @property
    def submitted_by(self) -> ActorId: ...
    @property
    def ingested_at(self) -> datetime: ...
    @property
    def digest(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def sealed_count(self) -> int: ...


def received_entry(report: Received) -> CustodyEntry:
    """The "received" leaf of a stored report: who submitted it, when it was stored, its content digest,
    and how many of its fields were sealed on receipt (intake seals them before anything is stored, so
    the sealing is part of the receipt, not an action of its own: a "sealed" leaf is for sealing later)."""
    return CustodyEntry(
        action=CustodyAction.RECEIVED,
        actor_id=report.submitted_by,
        org_id=report.org_id,
        at=report.ingested_at,
        object_type="report",
        object_id=report.id,
        digest=report.digest,
        detail=_received_detail(report),
    )


def _received_detail(report: Received) -> dict[str, str | int]:
    if report.sealed_count:
        return {"source": report.source, "sealed_fields": report.sealed_count}
    return {"source": report.source}


def record_received(node: Node, conn: Connection, reports: Sequence[Received]) -> list[int]:
    """One "received" leaf per newly stored report, in the transaction that stores them (intake calls it
    for every report it stores)."""
    return record(node, conn, _received_entries(reports))


def _received_entries(reports: Iterable[Received]) -> list[CustodyEntry]:
    """``received_entry`` of each report. The reports of a bulk batch share their submitter, organisation
    and ingestion time: each entry after the first of such a run is made as its ``sibling``, which
    checks only the report's own fields."""
    out: list[CustodyEntry] = []
    first: CustodyEntry | None = None
    for r in reports:
        if first is None or (r.submitted_by, r.org_id, r.ingested_at) != (first.actor_id, first.org_id, first.at):
            first = received_entry(r)
            out.append(first)
        else:
            out.append(first.sibling(r.id, r.digest, _received_detail(r)))
    return out


class Digested(Protocol):
    """Anything with an id and a content digest: a report, or a bundle item standing for one."""

    @property
    def id(self) -> str: ...
    @property
    def digest(self) -> str: ...


def report_entries(
    action: CustodyAction,
    actor: Actor,
    reports: Sequence[Digested],
    at: datetime,
    detail: Mapping[str, str | int],
) -> list[CustodyEntry]:
    """One leaf per report for an action the caller took on it now: the report's content digest and the
    same ``detail`` codes on each (never content)."""
    return [
        CustodyEntry(
            action=action,
            actor_id=actor.id,
            org_id=actor.org_id,
            at=at,
            object_type="report",
            object_id=r.id,
            digest=r.digest,
            detail=detail,
        )
        for r in reports
    ]


def record_reports(
    node: Node,
    conn: Connection,
    actor: Actor,
    action: CustodyAction,
    reports: Sequence[Digested],
    detail: Mapping[str, str | int],
) -> list[int]:
    """``report_entries`` appended in the caller's transaction, in one append for the whole answer
    (one lock of the tree row, one insert), before the caller appends its audit event."""
    return record(node, conn, report_entries(action, actor, reports, node.clock.now(), detail))


# --- signing keys and checkpoints -----------------------------------------------------------------


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _verifier(row: store.KeyRow) -> Verifier:
    return Verifier(row.name, Ed25519PublicKey.from_public_bytes(row.public_key))


def _signer(node: Node, conn: Connection, name: str) -> Signer:
    """The node's current signer, registered in the keyring on first use. Run with the tree row locked.

    Refuses a key file that is not the log's current key (a retired key put back, or a lost key replaced
    by a fresh one): signing with it would break the chain of keys that verifiers follow.
    """
    signer = Signer(name, node.signing.load())
    raw = _raw_public(signer.private_key.public_key())
    rows = [r for r in store.keys(conn) if r.name == name]
    mine = next((r for r in rows if r.public_key == raw), None)
    current = [r for r in rows if r.retired_at is None]
    if mine is not None and mine.retired_at is not None:
        pending = node.signing.read_next()
        if pending is not None and current and _raw_public(pending.public_key()) == current[-1].public_key:
            node.signing.promote_next()  # a rotation committed but did not get to move the new key in
            return _signer(node, conn, name)
        raise Unavailable(
            f"the signing key in {node.signing.path} (key {signer.verifier.key_id.hex()}) was retired on "
            f"{mine.retired_at:%Y-%m-%d}: put the current key back"
        )
    if mine is None:
        if current:
            raise Unavailable(
                f"the signing key in {node.signing.path} (key {signer.verifier.key_id.hex()}) is not the log's "
                f"current key {current[-1].key_id}: restore the key file"
            )
        store.insert_key(conn, name, signer.verifier.key_id.hex(), raw, node.clock.now())
    return signer


@dataclass(frozen=True)
class SignedCheckpoint:
    note: str
    checkpoint: Checkpoint
    key_id: str


def _signed(row: store.CheckpointRow, name: str) -> SignedCheckpoint:
    return SignedCheckpoint(row.note, Checkpoint(name, row.size, row.root), row.key_id)


def _key_id(node: Node, tree: store.TreeState) -> str:
    assert tree.origin is not None
    return Signer(tree.origin, node.signing.load()).verifier.key_id.hex()


def current_checkpoint(node: Node) -> SignedCheckpoint:
    """The newest signed checkpoint, signing one first when the log grew since (or the key changed).

    Public: it names no organisation and no object, only the log's size and root.
    """
    with node.db.read() as conn:
        tree = store.state(conn)
        last = store.latest_checkpoint(conn)
    if last is not None and tree.origin is not None and last.size == tree.size and last.key_id == _key_id(node, tree):
        return _signed(last, tree.origin)
    with node.db.write() as conn:
        tree = store.lock_state(conn)
        name = _named(node, conn, tree)
        last = store.latest_checkpoint(conn)
        signer = _signer(node, conn, name)
        key_id = signer.verifier.key_id.hex()
        if last is not None and last.size == tree.size and last.key_id == key_id:
            return _signed(last, name)
        cp = Checkpoint(name, tree.size, tree.root)
        note = sign_checkpoint(cp, name, signer.private_key)
        store.insert_checkpoint(conn, cp.size, cp.root_hash, note, key_id, node.clock.now())
        return SignedCheckpoint(note, cp, key_id)


def verifiers(node: Node) -> list[Verifier]:
    """Every public key the log has signed with, retired ones included (oldest first)."""
    with node.db.read() as conn:
        return [_verifier(r) for r in store.keys(conn)]


@dataclass(frozen=True)
class RotatedKey:
    old: Verifier
    new: Verifier
    checkpoint: SignedCheckpoint


def rotate_key(node: Node) -> RotatedKey:
    """Replace the signing key. The old public key stays in the keyring, so every checkpoint it signed keeps
    verifying; the first checkpoint under the new key is signed by both (a verifier that trusts the old key
    can take up the new one from it). The old private key is gone afterwards."""
    with node.db.write() as conn:
        tree = store.lock_state(conn)
        name = _named(node, conn, tree)
        old = _signer(node, conn, name)
        old_raw = _raw_public(old.private_key.public_key())
        old_row = next(r for r in store.keys(conn) if r.name == name and r.public_key == old_raw)
        new = Signer(name, node.signing.write_next())
        now = node.clock.now()
        store.retire_key(conn, old_row.id, now)
        new_id = new.verifier.key_id.hex()
        store.insert_key(conn, name, new_id, _raw_public(new.private_key.public_key()), now)
        cp = Checkpoint(name, tree.size, tree.root)
        note = cosign(sign_checkpoint(cp, name, new.private_key), name, old.private_key)
        store.insert_checkpoint(conn, cp.size, cp.root_hash, note, new_id, now)
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    None,
                    "custody.rotate-key",
                    "custody-key",
                    new_id,
                    detail={"retired": old.verifier.key_id.hex(), "size": cp.size},
                    org_id=org_store.operator_org_id(conn),
                )
            ],
        )
    node.signing.promote_next()
    return RotatedKey(old.verifier, new.verifier, SignedCheckpoint(note, cp, new_id))


# --- proofs ---------------------------------------------------------------------------------------


class _Hashes:
    """The stored hashes a set of subtree ranges needs, fetched in one query."""

    def __init__(self, conn: Connection, ranges: Sequence[tuple[int, int]]) -> None:
        wanted = {n for start, end in ranges if end > start for n in range_nodes(start, end)}
        self._nodes = store.nodes(conn, wanted)

    def _node(self, level: int, index: int) -> bytes:
        try:
            return self._nodes[level, index]
        except KeyError:
            raise RuntimeError(
                f"custody node ({level}, {index}) is missing from the store: run accord custody verify"
            ) from None

    def subtree(self, start: int, end: int) -> bytes:
        return EMPTY_ROOT if start == end else hash_range(start, end, self._node)


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    tree_size: int
    leaf_hash: bytes
    root_hash: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    proof: list[bytes]


def _size(conn: Connection, size: int | None, param: str) -> int:
    current = store.size(conn)
    if size is None:
        return current
    if size > current:
        raise Invalid(
            f"{param}: the log holds {current} leaves; a tree of {size} does not exist (yet)",
            {f"?{param}": f"at most {current}, the log's current size"},
        )
    return size


def _inclusion(conn: Connection, seq: int | None, by_hash: bytes | None, size: int | None) -> InclusionProof:
    n = _size(conn, size, "size")
    if (seq is None) == (by_hash is None):
        raise Invalid("seq: give either seq or leaf_hash", {"?seq": "give either seq or leaf_hash (not both)"})
    if by_hash is not None:
        seq = store.seq_by_leaf_hash(conn, by_hash)
        if seq is None:
            raise NotFound("no custody leaf has this hash")
        if seq >= n:
            raise Invalid(
                f"size: the leaf is entry {seq}, which a tree of {n} leaves does not include",
                {"?size": f"more than {seq}: the leaf is entry {seq}"},
            )
    assert seq is not None
    if seq >= n:
        raise Invalid(f"seq: a tree of {n} leaves holds entries 0 to {n - 1}", {"?seq": f"must be below {n}"})
    ranges = inclusion_ranges(seq, n)
    hashes = _Hashes(conn, [*ranges, (seq, seq + 1), (0, n)])
    return InclusionProof(
        seq=seq,
        tree_size=n,
        leaf_hash=hashes.subtree(seq, seq + 1),
        root_hash=hashes.subtree(0, n),
        proof=[hashes.subtree(s, e) for s, e in ranges],
    )


def _consistency(conn: Connection, first: int, second: int | None) -> ConsistencyProof:
    second = _size(conn, second, "second")
    if first > second:
        raise Invalid(
            f"first: {first} is larger than second ({second}); a log only grows",
            {"?first": f"at most second ({second})"},
        )
    ranges = consistency_ranges(first, second)
    hashes = _Hashes(conn, [*ranges, (0, first), (0, second)])
    return ConsistencyProof(
        first=first,
        second=second,
        first_root=hashes.subtree(0, first),
        second_root=hashes.subtree(0, second),
        proof=[hashes.subtree(s, e) for s, e in ranges],
    )


def inclusion_proof(
    node: Node,
    actor: Actor,
    *,
    seq: int | None = None,
    leaf_hash: bytes | None = None,
    size: int | None = None,
    request_id: str | None = None,
) -> InclusionProof:
    """RFC 9162 inclusion proof of entry ``seq`` (or of the first leaf with ``leaf_hash``) in the tree of
    ``size`` leaves (default: the whole log). Hashes only, so any authenticated key may ask."""
    authorize(node, actor, Action.custody_proof, request_id)
    with node.db.write() as conn:
        proof = _inclusion(conn, seq, leaf_hash, size)
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    actor,
                    "custody.proof",
                    request_id=request_id,
                    detail={"kind": "inclusion", "seq": proof.seq, "size": proof.tree_size},
                )
            ],
        )
    return proof


def consistency_proof(
    node: Node, actor: Actor, first: int, second: int | None = None, request_id: str | None = None
) -> ConsistencyProof:
    """RFC 9162 consistency proof between the trees of ``first`` and ``second`` leaves (default: now)."""
    authorize(node, actor, Action.custody_proof, request_id)
    with node.db.write() as conn:
        proof = _consistency(conn, first, second)
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    actor,
                    "custody.proof",
                    request_id=request_id,
                    detail={"kind": "consistency", "first": proof.first, "second": proof.second},
                )
            ],
        )
    return proof


@dataclass(frozen=True)
class EntryView:
    seq: int
    leaf: bytes
    leaf_hash: bytes

    def document(self) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(self.leaf)
        return value


def entry(node: Node, actor: Actor, seq: int, request_id: str | None = None) -> EntryView:
    """One leaf of the caller's own organisation; anyone else's is a 404, as is one that does not exist."""
    authorize(node, actor, Action.custody_entry_read, request_id)
    with node.db.write() as conn:
        row = store.get_entry(conn, actor, seq)
        audit_store.append(
            conn, [draft(node, actor, "custody.entry.read", "custody-entry", str(seq), request_id=request_id)]
        )
    return EntryView(row.seq, row.leaf, row.leaf_hash)


# --- verification of the whole log ----------------------------------------------------------------

_MAX_FAULTS = 1000


@dataclass(frozen=True)
class LogFault:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class LogVerification:
    leaves: int = 0
    nodes: int = 0
    checkpoints: int = 0
    size: int = 0
    root: bytes = EMPTY_ROOT
    faults: list[LogFault] = field(default_factory=list)
    more_faults: int = 0
    """Faults found beyond the first ``_MAX_FAULTS`` (counted, not kept)."""

    @property
    def ok(self) -> bool:
        return not self.faults

    def fault(self, where: str, message: str) -> None:
        if len(self.faults) < _MAX_FAULTS:
            self.faults.append(LogFault(where, message))
        else:
            self.more_faults += 1


class _Level:
    """The stored nodes of one level, read in index order alongside the recomputation."""

    def __init__(self, rows: Iterator[tuple[int, bytes]]) -> None:
        self._rows = rows
        self.head: tuple[int, bytes] | None = next(rows, None)

    def take(self, index: int) -> bytes | None:
        """The stored hash at ``index`` (None: missing), consuming it."""
        if self.head is None or self.head[0] != index:
            return None
        h = self.head[1]
        self.head = next(self._rows, None)
        return h

    def rest(self) -> Iterator[int]:
        while self.head is not None:
            yield self.head[0]
            self.head = next(self._rows, None)


def _at_text(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")[:-6] + "Z"  # stored times are UTC


def _check_columns(result: LogVerification, leaf: store.RawLeaf) -> None:
    """The leaf is canonical JSON, and the columns copied out of it for queries still say what it says."""
    seq, data = leaf[0], leaf[1]
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        result.fault(f"leaf {seq}", "the stored leaf is not JSON")
        return
    if not isinstance(doc, dict) or orjson.dumps(doc, option=orjson.OPT_SORT_KEYS) != data:
        result.fault(f"leaf {seq}", "the stored leaf is not in canonical form")
        return
    said = (doc.get("org_id"), doc.get("object_type"), doc.get("object_id"), doc.get("action"), doc.get("at"))
    if said != leaf[3:]:
        for name, column, value in zip(_COLUMNS, leaf[3:], said, strict=True):
            if column != value:
                result.fault(f"leaf {seq}", f"column {name} holds {column!r}, the leaf says {value!r}")


_COLUMNS = ("org_id", "object_type", "object_id", "action", "at")


def _fold(stack: list[bytes]) -> bytes:
    """The root from the right edge of the tree (one perfect-subtree hash per set bit of the size)."""
    if not stack:
        return EMPTY_ROOT
    root = stack[-1]
    for h in reversed(stack[:-1]):
        root = node_hash(h, root)
    return root


def verify_log(node: Node) -> LogVerification:
    """Recompute the whole log from the stored leaf bytes and compare everything stored with it.

    Checked: sequence numbers from 0 without gaps; each leaf's hash from its bytes, its canonical form and
    the indexed columns copied from it; every stored subtree hash (a missing or extra one too); the root
    at every stored checkpoint's size, and each checkpoint's signature by a key in the keyring; the stored
    tree state. Faults come in log order, so the first one is where the log was first changed (the
    hashes above a changed leaf differ as a consequence and are listed after it). Run by the operator
    (CLI), so it needs no actor; it reads one snapshot, so appends meanwhile do not disturb it.
    """
    result = LogVerification()
    with node.db.read() as conn:
        store.snapshot(conn)
        stored_state = store.state(conn)
        keyring = [_verifier(r) for r in store.keys(conn)]
        cps = store.checkpoints(conn)
        levels: dict[int, _Level] = {}

        def level(n: int) -> _Level:
            if n not in levels:
                levels[n] = _Level(store.iterate_nodes(conn, n))
            return levels[n]

        stack: list[bytes] = []  # the right edge of the recomputed tree, as Frontier keeps it
        size = 0
        aligned = True
        cp_at = _check_roots(result, cps, 0, size, stack)
        outside_leaves, outside_nodes = store.negative_keys(conn)
        for seq in outside_leaves:
            result.fault(f"leaf {seq}", "stored outside the log: sequence numbers start at 0")
        for lv, index in outside_nodes:
            result.fault(f"node ({lv}, {index})", "stored outside the log: subtree indexes start at 0")
        for leaf in store.iterate_leaves(conn):
            seq, data, stored_hash = leaf[0], leaf[1], leaf[2]
            result.leaves += 1
            if aligned and seq != size:
                result.fault(
                    f"leaf {size}", f"missing: the next stored leaf is {seq} (the tree cannot be recomputed past a gap)"
                )
                aligned = False
            h = leaf_hash(data)
            if h != stored_hash:
                result.fault(f"leaf {seq}", f"its bytes hash to {h.hex()}, the stored leaf hash is {stored_hash.hex()}")
            _check_columns(result, leaf)
            if not aligned:
                continue
            n, height = size, 0
            while n & 1:
                h = node_hash(stack.pop(), h)
                n >>= 1
                height += 1
                result.nodes += 1
                stored = level(height).take(n)
                if stored is None:
                    result.fault(f"node ({height}, {n})", "missing from the store")
                elif stored != h:
                    result.fault(f"node ({height}, {n})", f"stored {stored.hex()}, the leaves give {h.hex()}")
            stack.append(h)
            size += 1
            cp_at = _check_roots(result, cps, cp_at, size, stack)
        if aligned:
            for lv in store.levels(conn):
                for index in level(lv).rest():
                    result.fault(f"node ({lv}, {index})", f"stored, but a log of {size} leaves has no such subtree")
            for cp in cps[cp_at:]:
                result.fault(
                    f"checkpoint {cp.id} (size {cp.size})",
                    f"signs a tree of {cp.size} leaves, the log holds {size}: leaves were removed",
                )
            root = _fold(stack)
            stored_edge = stored_state.frontier.hashes
            if (stored_state.size, stored_edge, stored_state.root) != (size, tuple(stack), root):
                result.fault(
                    "tree state",
                    f"stored size {stored_state.size}, root {stored_state.root.hex()}; "
                    f"the leaves give size {size}, root {root.hex()}",
                )
    for cp in cps:
        _check_signature(result, cp, keyring, stored_state.origin)
    result.checkpoints = len(cps)
    result.size = size
    result.root = _fold(stack)
    result.faults.sort(key=_fault_order)
    return result


def _fault_order(fault: LogFault) -> int:
    """Leaves and nodes in the order they were checked; checkpoints and the state after them."""
    return 0 if fault.where.startswith(("leaf", "node")) else 1


def _check_roots(
    result: LogVerification, cps: list[store.CheckpointRow], at: int, size: int, stack: list[bytes]
) -> int:
    while at < len(cps) and cps[at].size == size:
        cp = cps[at]
        root = _fold(stack)
        if cp.root != root:
            result.fault(
                f"checkpoint {cp.id} (size {cp.size})", f"signs root {cp.root.hex()}, the leaves give {root.hex()}"
            )
        at += 1
    return at


def _check_signature(
    result: LogVerification, cp: store.CheckpointRow, keyring: list[Verifier], origin_name: str | None
) -> None:
    where = f"checkpoint {cp.id} (size {cp.size})"
    try:
        body = verify_checkpoint(cp.note, keyring, origin=origin_name)
    except NoteError as e:
        result.fault(where, f"signature: {e}")
        return
    except ValueError as e:
        result.fault(where, f"note: {e}")
        return
    if (body.size, body.root_hash) != (cp.size, cp.root):
        result.fault(where, f"the signed note says size {body.size}, the row says {cp.size} (or the roots differ)")


# --- evidence bundles -----------------------------------------------------------------------------


def _report_metadata(r: Report) -> dict[str, Any]:
    """What a bundle says about a report: provenance and codes, never identifiers or sealed values."""
    return {
        "org_id": r.org_id,
        "submitted_by": r.submitted_by,
        "external_id": r.external_id,
        "source": r.source,
        "received_at": _at_text(r.received_at),
        "ingested_at": _at_text(r.ingested_at),
        "incident_type": r.incident_type,
        "urgency": list(r.urgency),
        "marking": r.marking,
        "sealed_fields": list(r.sealed),
        "media": len(r.media),
        "subjects": len(r.subjects),
    }


def _items(found: dict[str, Report], purges: Sequence[retention_store.PurgeRecord]) -> list[BundleItem]:
    """The case's reports as bundle items, a purged one from its tombstone. ``metadata.purged`` maps each
    purged category to when it went (``report``: the whole report, of which only the digest is left)."""
    purged: dict[str, dict[str, retention_store.PurgeRecord]] = {}
    for p in purges:
        purged.setdefault(p.report_id, {})[p.category] = p
    items = []
    for rid in sorted(set(found) | {r for r, cats in purged.items() if "report" in cats}):
        cats = purged.get(rid, {})
        marks = {"purged": {c: _at_text(p.purged_at) for c, p in sorted(cats.items())}} if cats else {}
        if rid in found:
            items.append(BundleItem("report", rid, found[rid].digest, {**_report_metadata(found[rid]), **marks}))
        else:
            tomb = cats["report"]
            items.append(BundleItem("report", rid, tomb.digest, {"org_id": tomb.org_id, "days": tomb.days, **marks}))
    return items


def export_case(node: Node, actor: Actor, case_id: str, request_id: str | None = None) -> bytes:
    """An evidence bundle for a case of the caller's organisation (``accord.custody.bundle``).

    The export itself is logged first (an "exported" leaf per report and an audit event), then a
    checkpoint covering it is signed, and every leaf about the case's reports below that checkpoint's
    size goes into the bundle with its inclusion proof: the bundle proves its own export was recorded.
    A report purged under retention is still an item, from its tombstone (digest, ``metadata.purged``).
    """
    authorize(node, actor, Action.custody_export, request_id)
    with node.db.write() as conn:
        case = case_store.get(conn, actor, case_id)
        found = report_store.get_many(conn, actor, case.report_ids)
        purges = retention_store.purge_records(conn, actor.org_id, case.report_ids)
        items = _items(found, purges)
        now = node.clock.now()
        record(node, conn, report_entries(CustodyAction.EXPORTED, actor, items, now, {"case_id": case.id}))
        audit_store.append(
            conn,
            [
                draft(
                    node,
                    actor,
                    "custody.export",
                    "case",
                    case.id,
                    request_id=request_id,
                    detail={
                        "reports": len(items),
                        "purged": sum("report" in i.metadata.get("purged", {}) for i in items),
                    },
                )
            ],
        )
    signed = current_checkpoint(node)
    size = signed.checkpoint.size
    with node.db.read() as conn:
        leaves = store.leaves_for_objects(conn, actor, "report", [i.id for i in items], below=size)
        ranges = {leaf.seq: inclusion_ranges(leaf.seq, size) for leaf in leaves}
        hashes = _Hashes(conn, [rg for rs in ranges.values() for rg in rs])
        keyring = [_verifier(r) for r in store.keys(conn)]
    _, signatures = parse_note(signed.note)
    signed_by = {(s.name, s.key_id) for s in signatures}
    return build_bundle(
        origin=signed.checkpoint.origin,
        case={
            "id": case.id,
            "org_id": case.org_id,
            "title": case.title,
            "jurisdiction": case.jurisdiction,
            "status": case.status.value,
            "created_at": _at_text(case.created_at),
        },
        exported_at=_at_text(now),
        exported_by=actor.id,
        checkpoint=signed.note,
        keys=[v for v in keyring if (v.name, v.key_id) in signed_by],
        items=items,
        entries=[
            BundleEntry(leaf.seq, size, leaf.leaf, [hashes.subtree(s, e) for s, e in ranges[leaf.seq]])
            for leaf in leaves
        ],
    )
