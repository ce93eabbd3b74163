"""The custody service (``accord/services/custody.py``) on both backends: checkpoints, proofs, whole-log
verification against direct database edits, key rotation and evidence bundles."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from accord.clock import FixedClock
from accord.custody import merkle
from accord.custody.bundle import verify_bundle
from accord.custody.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from accord.custody.entry import CustodyAction, parse_leaf
from accord.custody.note import NoteError, Signature, open_note, parse_note
from accord.errors import Invalid, NotFound, Unavailable
from accord.model.case import CaseIn
from accord.model.organisation import Actor, Role
from accord.model.parse import parse_obj
from accord.model.report import Report, ReportIn
from accord.services import cases, custody, reports
from accord.services.node import Node
from accord.store import audit as audit_store
from accord.store import migrate
from accord.store.schema import custody_checkpoints, custody_leaves, custody_nodes, custody_tree
from tests.conftest import World, report_json


def submit(node: Node, actor: Actor, n: int, prefix: str = "r") -> list[Report]:
    """Reports stored through the service (intake records each one's "received" leaf)."""
    return [reports.submit(node, actor, parse_obj(ReportIn, report_json(f"{prefix}{i}"))).report for i in range(n)]


def analyst(world: World, name: str = "A") -> Actor:
    return world.actor(world.org(name, [Role.analyst, Role.investigator])[1])


def sql(node: Node, statement: sa.Executable) -> None:
    with node.db.write() as conn:
        conn.execute(statement)


def faults(node: Node) -> list[str]:
    return [str(f) for f in custody.verify_log(node).faults]


def test_received_entries_describe_the_stored_report(world: World) -> None:
    a = analyst(world)
    (r,) = submit(world.node, a, 1)
    e = custody.received_entry(r)
    assert (e.action, e.actor_id, e.org_id, e.at) == (CustodyAction.RECEIVED, a.id, a.org_id, r.ingested_at)
    assert (e.object_type, e.object_id, e.digest, dict(e.detail)) == ("report", r.id, r.digest, {"source": "platform"})
    view = custody.entry(world.node, a, 0)
    assert parse_leaf(view.leaf) == e and view.document()["object_id"] == r.id


def test_a_report_sealed_on_receipt_says_how_many_fields_in_its_received_leaf(world: World) -> None:
    """Intake seals the narrative and victims before storing anything: the receipt records the sealing
    (a count, never the values or the pointers' content)."""
    a = analyst(world)
    body = report_json("sealed-1")
    body["narrative"] = "category code NARR-1"
    body["subjects"].append({"role": "victim", "identifiers": [{"kind": "email", "value": "v1@example.org"}]})  # type: ignore[attr-defined]
    r = reports.submit(world.node, a, parse_obj(ReportIn, body)).report
    assert r.sealed_count == 2
    (leaf,) = [parse_leaf(custody.entry(world.node, a, s).leaf) for s in range(custody_size(world.node))][-1:]
    assert (leaf.action, leaf.object_id, dict(leaf.detail)) == (
        CustodyAction.RECEIVED,
        r.id,
        {"source": "platform", "sealed_fields": 2},
    )
    assert "NARR-1" not in leaf.leaf_bytes().decode() and "v1@example.org" not in leaf.leaf_bytes().decode()


def custody_size(node: Node) -> int:
    with node.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(custody_leaves)).scalar_one())


def test_the_log_is_named_once_and_names_no_organisation(node: Node) -> None:
    migrate.upgrade(node.db)  # no organisation at all yet: the log can still be named and signed
    name = custody.origin(node)
    assert name.startswith("accord/log_") and custody.origin(node) == name
    assert custody.current_checkpoint(node).checkpoint.origin == name
    with node.db.read() as conn:
        assert conn.execute(sa.select(custody_tree.c.origin)).scalar_one() == name


def test_a_log_named_by_its_first_checkpoint(node: Node) -> None:
    migrate.upgrade(node.db)
    signed = custody.current_checkpoint(node)
    assert signed.checkpoint.origin == custody.origin(node)


def test_checkpoints_are_signed_when_the_log_grew(world: World, clock: FixedClock) -> None:
    node = world.node
    empty = custody.current_checkpoint(node)
    assert (empty.checkpoint.size, empty.checkpoint.root_hash) == (0, merkle.EMPTY_ROOT)
    assert custody.current_checkpoint(node).note == empty.note  # nothing new: the same note
    assert not node.signing.next_path.exists() and node.signing.path.stat().st_size == 32
    submit(node, analyst(world), 3)
    clock.advance(timedelta(seconds=1))
    grown = custody.current_checkpoint(node)
    assert grown.checkpoint.size == 3 and grown.note != empty.note
    keys = custody.verifiers(node)
    assert len(keys) == 1 and keys[0].name == custody.origin(node)
    assert verify_checkpoint(grown.note, keys, origin=custody.origin(node)) == grown.checkpoint
    with node.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(custody_checkpoints)).scalar_one() == 2


def test_proofs_and_their_refusals(world: World) -> None:
    node = world.node
    a = analyst(world)
    stored = submit(node, a, 7)
    cp = custody.current_checkpoint(node).checkpoint
    p = custody.inclusion_proof(node, a, seq=4)
    assert (p.seq, p.tree_size, p.root_hash) == (4, 7, cp.root_hash)
    assert merkle.verify_inclusion(4, 7, p.leaf_hash, p.proof, cp.root_hash)
    by_hash = custody.inclusion_proof(node, a, leaf_hash=p.leaf_hash, size=5)
    assert by_hash.seq == 4 and by_hash.tree_size == 5
    old = custody.inclusion_proof(node, a, seq=0, size=3)
    c = custody.consistency_proof(node, a, 3)
    assert (c.first_root, c.second_root) == (old.root_hash, cp.root_hash)
    assert merkle.verify_consistency(3, 7, c.first_root, c.second_root, c.proof)
    assert custody.consistency_proof(node, a, 0, 0).first_root == merkle.EMPTY_ROOT
    # a proof for another tree size does not verify against this checkpoint
    assert not merkle.verify_inclusion(
        4, 6, p.leaf_hash, custody.inclusion_proof(node, a, seq=4, size=6).proof, cp.root_hash
    )

    def refused(call: object, parameter: str, text: str) -> None:
        with pytest.raises(Invalid) as info:
            call()  # type: ignore[operator]
        assert list(info.value.errors) == [f"?{parameter}"] and text in info.value.detail, info.value.detail

    refused(lambda: custody.inclusion_proof(node, a, seq=0, size=8), "size", "the log holds 7 leaves")
    refused(lambda: custody.inclusion_proof(node, a, seq=7), "seq", "entries 0 to 6")
    refused(lambda: custody.inclusion_proof(node, a, seq=3, size=3), "seq", "entries 0 to 2")
    refused(lambda: custody.inclusion_proof(node, a), "seq", "either seq or leaf_hash")
    refused(lambda: custody.inclusion_proof(node, a, seq=1, leaf_hash=p.leaf_hash), "seq", "either seq or leaf_hash")
    refused(lambda: custody.inclusion_proof(node, a, leaf_hash=p.leaf_hash, size=4), "size", "entry 4")
    refused(lambda: custody.consistency_proof(node, a, 5, 4), "first", "a log only grows")
    refused(lambda: custody.consistency_proof(node, a, 1, 9), "second", "the log holds 7 leaves")
    with pytest.raises(NotFound):
        custody.inclusion_proof(node, a, leaf_hash=bytes(32))
    with node.db.read() as conn:
        trail = [e.action for e in audit_store.query(conn, a.org_id, audit_store.AuditQuery(), None, 1000)]
    assert trail.count("custody.proof") == 6  # every proof served is audited; refusals wrote nothing
    assert stored


def test_entries_are_shown_to_their_own_organisation_only(world: World) -> None:
    a, b = analyst(world, "A"), analyst(world, "B")
    submit(world.node, a, 2)
    submit(world.node, b, 1, "b")
    assert custody.entry(world.node, b, 2).document()["org_id"] == b.org_id
    for seq in (0, 1, 3):
        with pytest.raises(NotFound, match=f"no custody entry {seq}"):
            custody.entry(world.node, b, seq)


# --- whole-log verification: direct database edits are found and named -----------------------------


@pytest.fixture
def grown(world: World) -> World:
    node = world.node
    a = analyst(world)
    submit(node, a, 5)
    custody.current_checkpoint(node)
    submit(node, a, 7, "more")
    custody.current_checkpoint(node)
    result = custody.verify_log(node)
    assert result.ok and (result.leaves, result.checkpoints, result.size) == (12, 2, 12), result.faults
    assert result.nodes == 12 - (12).bit_count()
    return world


def test_an_edited_leaf_is_found_with_its_seq(grown: World) -> None:
    node = grown.node
    with node.db.read() as conn:
        leaf = bytes(conn.execute(sa.select(custody_leaves.c.leaf).where(custody_leaves.c.seq == 5)).scalar_one())
    forged = leaf.replace(b'"action":"received"', b'"action":"purged"')
    sql(node, sa.update(custody_leaves).where(custody_leaves.c.seq == 5).values(leaf=forged))
    found = faults(node)
    assert found[0].startswith("leaf 5: its bytes hash to"), found
    assert "leaf 5: column action holds 'received', the leaf says 'purged'" in found
    assert any(f.startswith("checkpoint ") and "signs root" in f for f in found)  # the signed root disagrees


def test_an_edited_leaf_with_its_hash_is_found_by_the_tree(grown: World) -> None:
    node = grown.node
    with node.db.read() as conn:
        leaf = bytes(conn.execute(sa.select(custody_leaves.c.leaf).where(custody_leaves.c.seq == 8)).scalar_one())
    forged = leaf.replace(b'"source":"platform"', b'"source":"hotline"')
    h = merkle.leaf_hash(forged)
    sql(node, sa.update(custody_leaves).where(custody_leaves.c.seq == 8).values(leaf=forged, leaf_hash=h))
    found = faults(node)
    assert found[0].startswith("node (1, 4): stored"), found  # the first stored hash above leaf 8


def test_an_edited_node_is_found(grown: World) -> None:
    node = grown.node
    c = custody_nodes.c
    with node.db.read() as conn:
        real = bytes(conn.execute(sa.select(c.hash).where(c.level == 2, c.idx == 1)).scalar_one())
    sql(node, sa.update(custody_nodes).where(c.level == 2, c.idx == 1).values(hash=bytes(32)))
    assert faults(node) == [f"node (2, 1): stored {bytes(32).hex()}, the leaves give {real.hex()}"]


def test_an_edited_index_column_is_found(grown: World) -> None:
    sql(grown.node, sa.update(custody_leaves).where(custody_leaves.c.seq == 3).values(org_id="org_someone_else"))
    assert faults(grown.node) == [f"leaf 3: column org_id holds 'org_someone_else', the leaf says '{_org(grown, 3)}'"]


def _org(world: World, seq: int) -> str:
    with world.node.db.read() as conn:
        leaf = conn.execute(sa.select(custody_leaves.c.leaf).where(custody_leaves.c.seq == seq)).scalar_one()
    return str(json.loads(leaf)["org_id"])


def test_a_deleted_leaf_is_found(grown: World) -> None:
    sql(grown.node, sa.delete(custody_leaves).where(custody_leaves.c.seq == 4))
    assert (
        faults(grown.node)[0] == "leaf 4: missing: the next stored leaf is 5 (the tree cannot be recomputed past a gap)"
    )


def test_a_truncated_log_is_found(grown: World) -> None:
    sql(grown.node, sa.delete(custody_leaves).where(custody_leaves.c.seq >= 10))
    found = faults(grown.node)
    assert "node (1, 5): stored, but a log of 10 leaves has no such subtree" in found
    assert any(f.endswith("signs a tree of 12 leaves, the log holds 10: leaves were removed") for f in found)
    assert any(f.startswith("tree state: stored size 12") for f in found)


def test_an_inserted_node_and_a_non_canonical_leaf_are_found(grown: World) -> None:
    node = grown.node
    sql(node, sa.insert(custody_nodes).values(level=9, idx=0, hash=bytes(32)))
    with node.db.read() as conn:
        leaf = bytes(conn.execute(sa.select(custody_leaves.c.leaf).where(custody_leaves.c.seq == 2)).scalar_one())
    spaced = leaf.replace(b",", b", ")
    sql(node, sa.update(custody_leaves).where(custody_leaves.c.seq == 2).values(leaf=spaced))
    sql(node, sa.update(custody_leaves).where(custody_leaves.c.seq == 3).values(leaf=b"not json"))
    found = faults(node)
    assert "leaf 2: the stored leaf is not in canonical form" in found
    assert "leaf 3: the stored leaf is not JSON" in found
    assert "node (9, 0): stored, but a log of 12 leaves has no such subtree" in found


def test_a_forged_checkpoint_signature_is_found(grown: World) -> None:
    node = grown.node
    with node.db.read() as conn:
        last = conn.execute(sa.select(custody_checkpoints).order_by(custody_checkpoints.c.id.desc())).first()
    assert last is not None
    text, (real,) = parse_note(last.note)
    # the node's name and key id over a signature made by another key
    forged = Signature(real.name, real.key_id, Ed25519PrivateKey.generate().sign(text.encode()))
    sql(
        node,
        sa.update(custody_checkpoints)
        .where(custody_checkpoints.c.id == last.id)
        .values(note=f"{text}\n{forged.line()}"),
    )
    where = f"checkpoint {last.id} (size 12)"
    assert faults(node) == [f"{where}: signature: invalid signature for key {real.name}+{real.key_id.hex()}"]
    # a note signed only by a key the node never had
    unknown = sign_checkpoint(Checkpoint.parse(text), real.name, Ed25519PrivateKey.generate())
    sql(node, sa.update(custody_checkpoints).where(custody_checkpoints.c.id == last.id).values(note=unknown))
    assert faults(node) == [f"{where}: signature: the note has no signature by a known key"]
    with pytest.raises(NoteError):
        open_note(unknown, custody.verifiers(node))


def test_an_edited_checkpoint_row_or_tree_state_is_found(grown: World) -> None:
    node = grown.node
    sql(node, sa.update(custody_checkpoints).where(custody_checkpoints.c.size == 12).values(root=bytes(32)))
    sql(node, sa.update(custody_tree).values(root=bytes(32)))
    found = faults(node)
    assert any("signs root 0000" in f for f in found)
    assert any("the signed note says size 12" in f for f in found)
    assert any(f.startswith("tree state: stored size 12, root 0000") for f in found)


# --- key rotation ---------------------------------------------------------------------------------


def test_rotation_keeps_old_checkpoints_verifiable(world: World, clock: FixedClock) -> None:
    node = world.node
    a = analyst(world)
    submit(node, a, 3)
    before = custody.current_checkpoint(node)
    old_key = node.signing.path.read_bytes()
    clock.advance(timedelta(minutes=1))
    rotated = custody.rotate_key(node)
    assert node.signing.path.read_bytes() != old_key and not node.signing.next_path.exists()
    keys = custody.verifiers(node)
    assert keys == [rotated.old, rotated.new]
    # the old checkpoint still verifies with the keyring; the handover checkpoint with either key
    assert verify_checkpoint(before.note, keys).size == 3
    assert open_note(rotated.checkpoint.note, [rotated.old])[1] == (custody.origin(node),)
    assert open_note(rotated.checkpoint.note, [rotated.new])[1] == (custody.origin(node),)
    submit(node, a, 2, "later")
    after = custody.current_checkpoint(node)
    assert after.key_id == rotated.new.key_id.hex() != before.key_id
    with pytest.raises(NoteError):
        open_note(after.note, [rotated.old])  # the retired key signs nothing new
    result = custody.verify_log(node)
    assert result.ok and result.checkpoints == 3, result.faults  # before, the handover, after
    with node.db.read() as conn:
        events = [e for e in audit_store.iterate(conn) if e["action"] == "custody.rotate-key"]
    assert len(events) == 1 and events[0]["detail"]["retired"] == rotated.old.key_id.hex()
    # a node-level event: the operator organisation's, so its auditors see it and no other organisation's do
    operator = world.actor(world.operator_token)
    assert operator.operator and events[0]["org_id"] == operator.org_id
    assert a.org_id != operator.org_id


def test_a_retired_or_unknown_key_file_is_refused(world: World) -> None:
    node = world.node
    custody.current_checkpoint(node)
    old_key = node.signing.path.read_bytes()
    custody.rotate_key(node)
    submit(node, analyst(world), 1)
    current_key = node.signing.path.read_bytes()
    node.signing.path.write_bytes(old_key)  # someone puts the retired key back
    with pytest.raises(Unavailable, match="was retired"):
        custody.current_checkpoint(node)
    node.signing.path.unlink()  # the key file is lost: a fresh one is created, but it is not the log's key
    with pytest.raises(Unavailable, match="is not the log's current key"):
        custody.current_checkpoint(node)
    node.signing.path.write_bytes(current_key)
    assert custody.current_checkpoint(node).checkpoint.size == 1


def test_an_interrupted_rotation_is_finished_on_next_use(world: World) -> None:
    """The crash window: the database already names the new key, the file still holds the old one."""
    node = world.node
    custody.current_checkpoint(node)
    old_key = node.signing.path.read_bytes()
    rotated = custody.rotate_key(node)
    new_key = node.signing.path.read_bytes()
    node.signing.next_path.write_bytes(new_key)
    node.signing.path.write_bytes(old_key)
    submit(node, analyst(world), 1)
    signed = custody.current_checkpoint(node)
    assert signed.key_id == rotated.new.key_id.hex()
    assert node.signing.path.read_bytes() == new_key and not node.signing.next_path.exists()


# --- evidence bundles -----------------------------------------------------------------------------


def test_a_case_bundle_verifies_and_records_its_export(world: World) -> None:
    node = world.node
    a, b = analyst(world, "A"), analyst(world, "B")
    mine = submit(node, a, 4)
    submit(node, b, 3, "b")
    case = cases.create(
        node, a, parse_obj(CaseIn, {"title": "t", "jurisdiction": "DE", "report_ids": [mine[0].id, mine[2].id]})
    )
    data = custody.export_case(node, a, case.id)
    result = verify_bundle(data, custody.verifiers(node))
    assert result.ok and result.pinned, result.failures
    doc = json.loads(data)
    assert [i["id"] for i in doc["items"]] == sorted([mine[0].id, mine[2].id])
    assert {i["digest"] for i in doc["items"]} == {mine[0].digest, mine[2].digest}
    actions = [(json.loads(e["leaf"])["object_id"], json.loads(e["leaf"])["action"]) for e in doc["entries"]]
    assert sorted(actions) == sorted(
        [(mine[0].id, "received"), (mine[2].id, "received"), (mine[0].id, "exported"), (mine[2].id, "exported")]
    )
    assert doc["case"]["id"] == case.id and doc["exported_by"] == a.id
    assert b.org_id not in data.decode() and "Subject.A" not in data.decode() and "u-100" not in data.decode()
    with pytest.raises(NotFound):
        custody.export_case(node, b, case.id)  # another organisation's case


def test_a_bundle_after_rotation_carries_the_key_it_needs(world: World) -> None:
    node = world.node
    a = analyst(world)
    mine = submit(node, a, 2)
    case = cases.create(node, a, parse_obj(CaseIn, {"title": "t", "jurisdiction": "DE", "report_ids": [mine[1].id]}))
    first = custody.export_case(node, a, case.id)
    custody.rotate_key(node)
    second = custody.export_case(node, a, case.id)
    old, new = custody.verifiers(node)
    assert json.loads(first)["keys"] == [old.encode()] and json.loads(second)["keys"] == [new.encode()]
    assert verify_bundle(first, [old, new]).ok and verify_bundle(second, [old, new]).ok
    assert custody.verify_log(node).ok
