"""Evidence bundles (``accord/custody/bundle.py``): a good bundle verifies offline, and every tampering is
named by the part of the bundle and the check that caught it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from accord.custody.bundle import FORMAT, BundleEntry, BundleItem, build_bundle, verify_bundle
from accord.custody.checkpoint import Checkpoint, sign_checkpoint
from accord.custody.entry import CustodyAction, CustodyEntry
from accord.custody.merkle import SubtreeCache, leaf_hash
from accord.custody.note import Verifier, cosign, sign
from accord.ids import ActorId, OrgId

ORIGIN = "accord/org_01TEST"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def digest(n: int) -> str:
    return f"{n:064x}"


def leaf(seq: int, action: CustodyAction, obj: str, dig: str) -> CustodyEntry:
    return CustodyEntry(
        action=action,
        actor_id=ActorId("act_1"),
        org_id=OrgId("org_a"),
        at=AT,
        object_type="report",
        object_id=obj,
        digest=dig,
        detail={"n": seq},
    )


def make(*, key: Ed25519PrivateKey = KEY, extra_leaves: int = 5, cosigner: Ed25519PrivateKey | None = None) -> bytes:
    """A log of unrelated leaves with two reports' leaves among them, and a bundle of the two reports."""
    entries: list[CustodyEntry] = []
    for i in range(extra_leaves):
        entries.append(leaf(len(entries), CustodyAction.VIEWED, f"rpt_other{i}", digest(900 + i)))
    wanted = {
        len(entries): leaf(len(entries), CustodyAction.RECEIVED, "rpt_1", digest(1)),
        len(entries) + 1: leaf(len(entries) + 1, CustodyAction.RECEIVED, "rpt_2", digest(2)),
    }
    entries.extend(wanted.values())
    entries.append(leaf(len(entries), CustodyAction.RECEIVED, "rpt_3", digest(3)))
    seq = len(entries)
    wanted[seq] = leaf(seq, CustodyAction.EXPORTED, "rpt_1", digest(1))
    entries.append(wanted[seq])
    cache = SubtreeCache(leaf_hash(e.leaf_bytes()) for e in entries)
    size = cache.size
    note = sign_checkpoint(Checkpoint(ORIGIN, size, cache.root()), ORIGIN, key)
    if cosigner is not None:
        note = cosign(note, ORIGIN, cosigner)
    return build_bundle(
        origin=ORIGIN,
        case={"id": "case_1", "title": "t"},
        exported_at="2026-11-25T12:00:00.000000Z",
        exported_by="act_1",
        checkpoint=note,
        keys=[Verifier(ORIGIN, key.public_key())] + ([Verifier(ORIGIN, cosigner.public_key())] if cosigner else []),
        items=[
            BundleItem("report", "rpt_1", digest(1), {"source": "platform"}),
            BundleItem("report", "rpt_2", digest(2), {"source": "hotline"}),
        ],
        entries=[BundleEntry(s, size, e.leaf_bytes(), cache.inclusion_proof(s)) for s, e in sorted(wanted.items())],
    )


def edit(data: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    doc = json.loads(data)
    change(doc)
    return json.dumps(doc).encode()


def failures(data: bytes, trusted: list[Verifier] | None = None) -> list[str]:
    return [str(f) for f in verify_bundle(data, trusted).failures]


def test_a_bundle_verifies_offline() -> None:
    data = make()
    result = verify_bundle(data)
    assert result.ok, result.failures
    assert (result.items, result.entries) == (2, 3)
    assert result.checkpoint is not None and result.checkpoint.size == 9 and result.origin == ORIGIN
    assert result.signed_by == [Verifier(ORIGIN, KEY.public_key()).encode()]
    assert not result.pinned
    assert verify_bundle(data.decode()).ok  # text works as well as bytes


def test_the_format_is_readable_json() -> None:
    doc = json.loads(make())
    assert doc["format"] == FORMAT
    assert set(doc) == {
        "format",
        "origin",
        "case",
        "exported_at",
        "exported_by",
        "checkpoint",
        "keys",
        "items",
        "entries",
    }
    e = doc["entries"][0]
    assert set(e) == {"seq", "tree_size", "leaf", "leaf_hash", "proof"}
    assert json.loads(e["leaf"])["object_id"] == "rpt_1"


def test_pinned_keys() -> None:
    node_key = Verifier(ORIGIN, KEY.public_key())
    result = verify_bundle(make(), [node_key])
    assert result.ok and result.pinned
    # A bundle re-signed throughout with another key carries that key and verifies on its own terms...
    forged = make(key=OTHER)
    assert verify_bundle(forged).ok
    # ...but not against the node's published key.
    assert failures(forged, [node_key]) == ["checkpoint: signature: the note has no signature by a known key"]


def test_a_rotation_checkpoint_signed_by_two_keys() -> None:
    data = make(cosigner=OTHER)
    result = verify_bundle(data)
    assert result.ok and len(result.signed_by) == 2
    assert verify_bundle(data, [Verifier(ORIGIN, OTHER.public_key())]).ok  # either key alone suffices


def set_digest(doc: dict[str, Any]) -> None:
    doc["items"][0]["digest"] = digest(7)


def set_leaf(doc: dict[str, Any]) -> None:
    doc["entries"][1]["leaf"] = doc["entries"][1]["leaf"].replace(digest(2), digest(5))


def set_leaf_and_hash(doc: dict[str, Any]) -> None:
    set_leaf(doc)
    doc["entries"][1]["leaf_hash"] = leaf_hash(doc["entries"][1]["leaf"].encode()).hex()


def drop_step(doc: dict[str, Any]) -> None:
    doc["entries"][0]["proof"].pop()


def other_key(doc: dict[str, Any]) -> None:
    text = doc["checkpoint"].split("\n\n")[0] + "\n"
    doc["checkpoint"] = sign_checkpoint(Checkpoint.parse(text), ORIGIN, OTHER)


def other_size(doc: dict[str, Any]) -> None:
    doc["entries"][2]["tree_size"] = 8


def swap_proofs(doc: dict[str, Any]) -> None:
    a, b = doc["entries"][0], doc["entries"][1]
    a["proof"], b["proof"] = b["proof"], a["proof"]


def flip_signature(doc: dict[str, Any]) -> None:
    note = doc["checkpoint"]
    body, sig = note.split("\n\n")
    name, b64 = sig.rstrip("\n").rsplit(" ", 1)
    b64 = ("B" if b64[10] == "A" else "A").join((b64[:10], b64[11:]))
    doc["checkpoint"] = f"{body}\n\n{name} {b64}\n"


def other_root(doc: dict[str, Any]) -> None:
    lines = doc["checkpoint"].split("\n")
    lines[2] = "A" * 43 + "="
    doc["checkpoint"] = "\n".join(lines)


def drop_received(doc: dict[str, Any]) -> None:
    doc["entries"].pop(1)


def unlisted_item(doc: dict[str, Any]) -> None:
    doc["items"].pop(1)


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (
            set_digest,
            [f"items[0] (report rpt_1): digest: the item's digest {digest(7)} differs from custody entry 5's"],
        ),
        (set_leaf, ["entries[1] (seq 6): leaf hash: the leaf hashes to"]),
        (set_leaf_and_hash, ["entries[1] (seq 6): inclusion proof: does not lead from the leaf"]),
        (drop_step, ["entries[0] (seq 5): inclusion proof: does not lead"]),
        (other_key, ["checkpoint: signature: the note has no signature by a known key"]),
        (flip_signature, ["checkpoint: signature: invalid signature for key accord/org_01TEST+"]),
        (other_root, ["checkpoint: signature: invalid signature"]),
        (other_size, ["entries[2] (seq 8): tree size: the proof is for 8 leaves, the checkpoint's tree has 9"]),
        (
            swap_proofs,
            [
                "entries[0] (seq 5): inclusion proof: does not lead",
                "entries[1] (seq 6): inclusion proof: does not lead",
            ],
        ),
        (drop_received, ["items[1] (report rpt_2): custody: no verified custody entry records this item as received"]),
        (unlisted_item, ["entry seq 6: item: is about report rpt_2, not listed in the bundle"]),
    ],
)
def test_each_tampering_is_named(tamper: Callable[[dict[str, Any]], None], expected: list[str]) -> None:
    found = failures(edit(make(), tamper))
    assert len(found) >= len(expected), found
    for want, got in zip(expected, found, strict=False):
        assert got.startswith(want), (want, found)


def test_a_changed_leaf_with_a_consistent_hash_also_breaks_the_items_digest_check() -> None:
    """The forged leaf's digest no longer matches rpt_2, and its proof fails: both are reported."""
    found = failures(edit(make(), set_leaf_and_hash))
    assert any("inclusion proof" in f for f in found)
    assert any(f.startswith("items[1] (report rpt_2): custody") for f in found)


def set_path(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for p in path[:-1]:
            target = target[p]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["format"], "other/1", "bundle: format: expected format 'accord-evidence-bundle/1'"),
        (["origin"], "", "bundle: origin: the bundle names no log origin"),
        (["origin"], "accord/org_OTHER", "checkpoint: signature: no known key is named after the log"),
        (["keys"], [], "keys: keys: the bundle carries no public key"),
        (["keys", 0], "not a key", "keys[0]: key: a verifier key reads"),
        (["checkpoint"], None, "checkpoint: format: the bundle has no signed checkpoint"),
        (["entries"], {}, "bundle: entries: the bundle has no list of custody entries"),
        (["items"], None, "bundle: items: the bundle has no list of items"),
        (["entries", 0, "seq"], -1, "entries[0]: format: an entry needs a sequence number"),
        (["entries", 0, "seq"], True, "entries[0]: format: an entry needs a sequence number"),
        (["entries", 1, "seq"], 5, "entries[1] (seq 5): seq: seq 5 appears twice"),
        (["entries", 0, "leaf"], KeyError, "entries[0] (seq 5): leaf: the entry has no leaf"),
        (["entries", 0, "leaf"], "{}", "entries[0] (seq 5): leaf: custody leaf fields are wrong"),
        (["entries", 0, "proof"], "abc", "entries[0] (seq 5): inclusion proof: the proof must be a list"),
        (["entries", 0, "proof", 0], "zz", "entries[0] (seq 5): inclusion proof: the proof must be a list"),
        (["items", 0, "id"], 5, "items[0]: format: an item needs a type and an id"),
        (["items", 0, "digest"], "ABC", "items[0] (report rpt_1): digest: the item's digest must be a SHA-256"),
        (["items", 0, "metadata"], [], "items[0] (report rpt_1): metadata: metadata must be an object"),
    ],
)
def test_malformed_parts_are_named(path: list[Any], value: Any, expected: str) -> None:
    found = failures(edit(make(), set_path(path, value)))
    assert found and found[0].startswith(expected), found


def test_unreadable_bundles() -> None:
    (only,) = failures(b"{not json")
    assert only.startswith("bundle: format: not JSON")
    assert failures(b'{"leaf": "\\ud800"}')[0].startswith("bundle: format: not JSON")  # a lone surrogate
    assert failures(b"[]") == ["bundle: format: a bundle is a JSON object"]
    result = verify_bundle(b"[]")
    assert not result.ok and result.checkpoint is None


def test_a_signed_note_that_is_not_a_checkpoint() -> None:
    not_a_checkpoint = sign(ORIGIN + "\nnot a size\nxx\n", ORIGIN, KEY)
    found = failures(edit(make(), set_path(["checkpoint"], not_a_checkpoint)))
    assert found[0].startswith("checkpoint: format: checkpoint line 2 (tree size)"), found


def test_an_empty_bundle_of_a_case_without_reports_verifies() -> None:
    cache = SubtreeCache([leaf_hash(b"x")])
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, cache.root()), ORIGIN, KEY)
    data = build_bundle(
        origin=ORIGIN,
        case={"id": "case_1"},
        exported_at="2026-11-25T12:00:00.000000Z",
        exported_by="act_1",
        checkpoint=note,
        keys=[Verifier(ORIGIN, KEY.public_key())],
        items=[],
        entries=[],
    )
    result = verify_bundle(data)
    assert result.ok and (result.items, result.entries) == (0, 0)
