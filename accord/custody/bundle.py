"""Evidence bundles: a case's items with their custody entries, inclusion proofs, one signed checkpoint and
the public keys, in one JSON file that verifies offline (``accord custody verify BUNDLE``).

The format (``accord-evidence-bundle/1``, every hash lower-case hex, times RFC 3339 UTC)::

    {
      "format": "accord-evidence-bundle/1",
      "origin": "accord/<operator organisation id>",     the log the checkpoint is from
      "case": {"id": ..., "title": ..., ...},            what the bundle was exported for
      "exported_at": "...Z", "exported_by": "<actor id>",
      "checkpoint": "<C2SP signed note>",                 origin, tree size, root, signature(s)
      "keys": ["<name>+<key id>+<base64 key>", ...],      C2SP verifier keys of those signatures
      "items": [{"type": "report", "id": ..., "digest": "<sha-256>", "metadata": {...}}, ...],
      "entries": [{"seq": N, "tree_size": S, "leaf": "<the canonical leaf JSON>",
                   "leaf_hash": "<hex>", "proof": ["<hex>", ...]}, ...]
    }

``leaf`` is the leaf's exact bytes as a JSON string (canonical JSON is UTF-8 text, so nothing is lost);
``proof`` is the RFC 9162 inclusion proof of leaf ``seq`` in the tree of the checkpoint's size. Items
carry digests and metadata only: never sealed values or content.

Purged items (retention, docs/retention.md): an item whose content was purged keeps its digest, and its
``metadata.purged`` maps ``report`` to when it went; it must then have a verified ``purged`` entry. An entry
whose ``detail`` names a ``part`` (``{"part": "sealed"}``: the sealed part purged alone) is about that part,
and its digest is the part's (the ciphertext's), so it is not compared with the item's.

Why verification reports every failure and names it: a bundle is read by people deciding whether to rely
on it. "items[2] (report rpt_…): digest: differs from custody entry 17" says what to look at; a bare
"invalid" does not. Nothing here touches a database, a file or the settings.

What a bundle proves and what it does not: that each item's digest was logged as received (and what
else was logged about it) in a log whose head at the checkpoint's size was signed by the given key.
Trust in that key comes from outside the bundle: pass the node's published key (``trusted``) or compare
the reported key IDs with it; a bundle's own ``keys`` only say which key the exporter claims.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from accord.custody.checkpoint import Checkpoint, verify_checkpoint
from accord.custody.entry import CustodyAction, CustodyEntry, parse_leaf
from accord.custody.merkle import leaf_hash, verify_inclusion
from accord.custody.note import NoteError, Verifier, parse_note

__all__ = [
    "FORMAT",
    "BundleEntry",
    "BundleItem",
    "BundleVerification",
    "Failure",
    "build_bundle",
    "verify_bundle",
]

FORMAT = "accord-evidence-bundle/1"
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class BundleItem:
    """One piece of evidence: its kind and id, its content digest and metadata (never sealed values)."""

    type: str
    id: str
    digest: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BundleEntry:
    """One custody leaf with its inclusion proof in the tree of ``tree_size`` leaves."""

    seq: int
    tree_size: int
    leaf: bytes
    proof: Sequence[bytes]


def build_bundle(
    *,
    origin: str,
    case: Mapping[str, Any],
    exported_at: str,
    exported_by: str,
    checkpoint: str,
    keys: Sequence[Verifier],
    items: Sequence[BundleItem],
    entries: Sequence[BundleEntry],
) -> bytes:
    """The bundle as JSON bytes (indented: people read these)."""
    doc = {
        "format": FORMAT,
        "origin": origin,
        "case": dict(case),
        "exported_at": exported_at,
        "exported_by": exported_by,
        "checkpoint": checkpoint,
        "keys": [k.encode() for k in keys],
        "items": [{"type": i.type, "id": i.id, "digest": i.digest, "metadata": dict(i.metadata)} for i in items],
        "entries": [
            {
                "seq": e.seq,
                "tree_size": e.tree_size,
                "leaf": e.leaf.decode("utf-8"),
                "leaf_hash": leaf_hash(e.leaf).hex(),
                "proof": [p.hex() for p in e.proof],
            }
            for e in entries
        ],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


@dataclass(frozen=True)
class Failure:
    """One check that did not pass: ``where`` names the part of the bundle, ``check`` what was checked."""

    where: str
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.check}: {self.message}"


@dataclass
class BundleVerification:
    origin: str | None = None
    checkpoint: Checkpoint | None = None
    signed_by: list[str] = field(default_factory=list)
    """Verifier keys (``name+id+key``) whose signatures on the checkpoint verified."""
    pinned: bool = False
    """True when the keys came from the caller (``trusted``), not from the bundle itself."""
    items: int = 0
    entries: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and self.checkpoint is not None


class _Stop(Exception):
    """The bundle cannot be read further (not JSON, no checkpoint to prove against)."""


class _Checker:
    def __init__(self, result: BundleVerification) -> None:
        self.result = result

    def fail(self, where: str, check: str, message: str) -> None:
        self.result.failures.append(Failure(where, check, message))

    def stop(self, where: str, check: str, message: str) -> _Stop:
        self.fail(where, check, message)
        return _Stop()


def verify_bundle(data: bytes | str, trusted: Sequence[Verifier] | None = None) -> BundleVerification:
    """Check a bundle completely; every failure found is in ``failures`` (``ok`` when there is none).

    ``trusted``: the node's public keys as the verifier knows them (``accord custody keys`` prints them).
    Without it the bundle's own keys are used, and ``pinned`` is False to say so.
    """
    result = BundleVerification(pinned=trusted is not None)
    c = _Checker(result)
    with contextlib.suppress(_Stop):  # what stopped it is already in the failures
        _verify(c, data, trusted)
    return result


def _verify(c: _Checker, data: bytes | str, trusted: Sequence[Verifier] | None) -> None:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise c.stop("bundle", "format", f"not JSON ({e})") from None
    if not isinstance(doc, dict):
        raise c.stop("bundle", "format", "a bundle is a JSON object")
    if doc.get("format") != FORMAT:
        raise c.stop("bundle", "format", f"expected format {FORMAT!r}, found {doc.get('format')!r}")
    origin = doc.get("origin")
    if not isinstance(origin, str) or not origin:
        raise c.stop("bundle", "origin", "the bundle names no log origin")
    c.result.origin = origin

    verifiers = list(trusted) if trusted is not None else _bundle_keys(c, doc.get("keys"))
    checkpoint = _checkpoint(c, doc.get("checkpoint"), verifiers, origin)
    c.result.checkpoint = checkpoint

    raw_entries = doc.get("entries")
    raw_items = doc.get("items")
    if not isinstance(raw_entries, list):
        raise c.stop("bundle", "entries", "the bundle has no list of custody entries")
    if not isinstance(raw_items, list):
        raise c.stop("bundle", "items", "the bundle has no list of items")
    entries = _entries(c, raw_entries, checkpoint)
    _items(c, raw_items, entries)
    c.result.items = len(raw_items)
    c.result.entries = len(raw_entries)


def _bundle_keys(c: _Checker, raw: object) -> list[Verifier]:
    if not isinstance(raw, list) or not raw:
        raise c.stop("keys", "keys", "the bundle carries no public key to check the checkpoint with")
    out = []
    for i, vkey in enumerate(raw):
        try:
            out.append(Verifier.parse(vkey))
        except NoteError as e:
            c.fail(f"keys[{i}]", "key", str(e))
    return out


def _checkpoint(c: _Checker, note: object, verifiers: list[Verifier], origin: str) -> Checkpoint:
    if not isinstance(note, str):
        raise c.stop("checkpoint", "format", "the bundle has no signed checkpoint")
    named = [v for v in verifiers if v.name == origin]
    if not named:
        raise c.stop("checkpoint", "signature", f"no known key is named after the log {origin!r}")
    try:
        checkpoint = verify_checkpoint(note, named, origin=origin)
    except NoteError as e:
        raise c.stop("checkpoint", "signature", str(e)) from None
    except ValueError as e:
        raise c.stop("checkpoint", "format", str(e)) from None
    c.result.signed_by = _signers(note, named)
    return checkpoint


def _signers(note: str, verifiers: list[Verifier]) -> list[str]:
    _, signatures = parse_note(note)
    ids = {(s.name, s.key_id) for s in signatures}
    return [v.encode() for v in verifiers if (v.name, v.key_id) in ids]


def _hash(value: object) -> bytes | None:
    if isinstance(value, str) and _HEX64.match(value):
        return bytes.fromhex(value)
    return None


def _entries(c: _Checker, raw: list[Any], checkpoint: Checkpoint) -> dict[int, CustodyEntry]:
    """The entries whose leaf and proof check out against the checkpoint, by sequence number."""
    good: dict[int, CustodyEntry] = {}
    seen: set[int] = set()
    for i, e in enumerate(raw):
        seq = e.get("seq") if isinstance(e, dict) else None
        if not isinstance(e, dict) or isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            c.fail(f"entries[{i}]", "format", "an entry needs a sequence number (seq)")
            continue
        where = f"entries[{i}] (seq {seq})"
        if seq in seen:
            c.fail(where, "seq", f"seq {seq} appears twice")
            continue
        seen.add(seq)
        size = e.get("tree_size")
        if size != checkpoint.size:
            c.fail(where, "tree size", f"the proof is for {size!r} leaves, the checkpoint's tree has {checkpoint.size}")
            continue
        leaf = e.get("leaf")
        if not isinstance(leaf, str):
            c.fail(where, "leaf", "the entry has no leaf")
            continue
        data = leaf.encode("utf-8")  # orjson refuses lone surrogates while parsing: this always encodes
        try:
            entry = parse_leaf(data)
        except ValueError as err:
            c.fail(where, "leaf", str(err))
            continue
        h = leaf_hash(data)
        if e.get("leaf_hash") != h.hex():
            c.fail(where, "leaf hash", f"the leaf hashes to {h.hex()}, the entry says {e.get('leaf_hash')!r}")
            continue
        proof_raw = e.get("proof")
        proof = [_hash(p) for p in proof_raw] if isinstance(proof_raw, list) else [None]
        if any(p is None for p in proof):
            c.fail(where, "inclusion proof", "the proof must be a list of 64-hex-digit hashes")
            continue
        if not verify_inclusion(seq, checkpoint.size, h, [p for p in proof if p is not None], checkpoint.root_hash):
            c.fail(
                where,
                "inclusion proof",
                f"does not lead from the leaf to the checkpoint's root ({len(proof)} steps, tree of {checkpoint.size})",
            )
            continue
        good[seq] = entry
    return good


def _items(c: _Checker, raw: list[Any], entries: dict[int, CustodyEntry]) -> None:
    listed: set[tuple[str, str]] = set()
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str) or not isinstance(item.get("id"), str):
            c.fail(f"items[{i}]", "format", "an item needs a type and an id")
            continue
        kind, ident = item["type"], item["id"]
        where = f"items[{i}] ({kind} {ident})"
        listed.add((kind, ident))
        digest = item.get("digest")
        if not isinstance(digest, str) or not _HEX64.match(digest):
            c.fail(where, "digest", "the item's digest must be a SHA-256 in 64 lower-case hex digits")
            continue
        if not isinstance(item.get("metadata", {}), dict):
            c.fail(where, "metadata", "metadata must be an object")
        about = [(seq, e) for seq, e in sorted(entries.items()) if (e.object_type, e.object_id) == (kind, ident)]
        if not any(e.action == CustodyAction.RECEIVED for _, e in about):
            c.fail(where, "custody", "no verified custody entry records this item as received")
        for seq, e in about:
            if "part" in e.detail:  # about one part of the item (a purged sealed part): that part's digest
                continue
            if e.digest != digest:
                c.fail(where, "digest", f"the item's digest {digest} differs from custody entry {seq}'s {e.digest}")
        metadata = item.get("metadata")
        purged = metadata.get("purged") if isinstance(metadata, dict) else None
        whole_purge = any(e.action == CustodyAction.PURGED and "part" not in e.detail for _, e in about)
        if isinstance(purged, dict) and "report" in purged and not whole_purge:
            c.fail(where, "custody", "the item is marked purged, but no verified custody entry records its purge")
    for seq, e in sorted(entries.items()):
        if (e.object_type, e.object_id) not in listed:
            c.fail(f"entry seq {seq}", "item", f"is about {e.object_type} {e.object_id}, not listed in the bundle")
