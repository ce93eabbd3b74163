from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from accord.exchange.identity import IdentityDocument, NodeIdentity, NodeKey, fingerprint
from accord.safeguards.signing import SigningKeyFile
from tests.exchange.conftest import T0


def test_created_on_first_use_with_a_private_key_file_of_mode_0600(tmp_path: Path) -> None:
    identity = NodeIdentity.load_or_create(tmp_path / "keys", T0)
    key_file = tmp_path / "keys" / "identity.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert identity.node_id.startswith("node_")
    assert identity.keyid == fingerprint(identity.private_key.public_key())
    again = NodeIdentity.load_or_create(tmp_path / "keys", T0 + timedelta(days=1))
    assert again.document == identity.document
    assert again.keyid == identity.keyid


def test_the_public_document_is_canonical_json_without_the_private_key(tmp_path: Path) -> None:
    identity = NodeIdentity.load_or_create(tmp_path, T0, node_id="node_a")
    raw = (tmp_path / "identity.json").read_bytes()
    assert raw == identity.document.to_json()
    data = json.loads(raw)
    assert list(data) == ["keys", "node_id"]  # RFC 8785 sorts keys
    assert data["keys"][0]["not_before"] == "2026-11-26T12:00:00.000000Z"
    seed = identity.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    assert seed.hex() not in raw.decode()
    assert IdentityDocument.from_json(raw) == identity.document


def test_rotation_keeps_the_retired_key_with_its_window(tmp_path: Path) -> None:
    first = NodeIdentity.load_or_create(tmp_path, T0)
    second = NodeIdentity.rotate(tmp_path, T0 + timedelta(days=10))
    assert second.node_id == first.node_id and second.keyid != first.keyid
    old, new = second.document.keys
    assert old.keyid == first.keyid and old.not_after == T0 + timedelta(days=10)
    assert new.not_before == T0 + timedelta(days=10) and new.not_after is None
    assert old.valid_at(T0 + timedelta(days=9)) and not old.valid_at(T0 + timedelta(days=11))
    reloaded = NodeIdentity.load_or_create(tmp_path, T0 + timedelta(days=11))
    assert reloaded.keyid == second.keyid and reloaded.document == second.document
    third = NodeIdentity.rotate(tmp_path, T0 + timedelta(days=20))
    assert [k.keyid for k in third.document.keys] == [first.keyid, second.keyid, third.keyid]


def test_an_interrupted_rotation_is_finished_on_load(tmp_path: Path) -> None:
    NodeIdentity.load_or_create(tmp_path, T0)
    rotated = NodeIdentity.rotate(tmp_path, T0 + timedelta(days=1))
    # replay the crash window: the document already publishes the new key, the old key is still in place
    keys = SigningKeyFile(tmp_path / "identity.key")
    keys.next_path.write_bytes(keys.path.read_bytes())
    keys.path.write_bytes(Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
    loaded = NodeIdentity.load_or_create(tmp_path, T0 + timedelta(days=1))
    assert loaded.keyid == rotated.keyid
    assert not keys.next_path.exists()


def test_a_next_key_never_published_is_ignored(tmp_path: Path) -> None:
    identity = NodeIdentity.load_or_create(tmp_path, T0)
    SigningKeyFile(tmp_path / "identity.key").write_next()  # crashed before the document named it
    assert NodeIdentity.load_or_create(tmp_path, T0).keyid == identity.keyid


def test_a_missing_or_foreign_key_is_an_error_not_a_new_identity(tmp_path: Path) -> None:
    NodeIdentity.load_or_create(tmp_path, T0, node_id="node_a")
    key_file = tmp_path / "identity.key"
    key_file.write_bytes(Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
    with pytest.raises(ValueError, match="not the current key of node_a"):
        NodeIdentity.load_or_create(tmp_path, T0)
    key_file.unlink()
    with pytest.raises(ValueError, match=r"private key .* is missing"):
        NodeIdentity.load_or_create(tmp_path, T0)
    with pytest.raises(ValueError, match="identity of node_a, not node_b"):
        NodeIdentity.load_or_create(tmp_path, T0, node_id="node_b")
    (tmp_path / "identity.json").unlink()
    key_file.write_bytes(b"\x01" * 32)
    with pytest.raises(ValueError, match="exists without"):
        NodeIdentity.load_or_create(tmp_path, T0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["keys"][0].update(keyid="00" * 32), "not the fingerprint"),
        (lambda d: d["keys"][0].update(public_key="zz"), "64 hex digits"),
        (lambda d: d["keys"][0].update(not_before="2026-11-26T12:00:00Z"), "is not of the form"),
        (lambda d: d["keys"][0].update(extra=1), "exactly keyid"),
        (lambda d: d.update(keys=[]), "lists no key"),
        (lambda d: d["keys"].append(d["keys"][0]), "a key twice"),
        (lambda d: d["keys"][0].update(not_after="2020-01-01T00:00:00.000000Z"), "not_after is before"),
    ],
)
def test_a_bad_document_is_rejected(change: object, message: str) -> None:
    data = json.loads(NodeIdentity.generate(T0, "node_a").document.to_json())
    change(data)  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        IdentityDocument.from_json(json.dumps(data))


def test_key_window_bounds_are_inclusive() -> None:
    key = NodeKey(Ed25519PrivateKey.generate().public_key(), T0, T0 + timedelta(seconds=1))
    assert key.valid_at(T0) and key.valid_at(T0 + timedelta(seconds=1))
    assert not key.valid_at(T0 - timedelta(microseconds=1))


def test_a_creation_interrupted_before_its_document_starts_afresh(tmp_path: Path) -> None:
    """The key is written to identity.key.next before the document: a crash in between leaves a key nobody
    was ever shown, which the next start replaces; a crash after the document finishes the move."""
    keys = SigningKeyFile(tmp_path / "identity.key")
    keys.write_next()  # crashed before the document
    now = T0
    first = NodeIdentity.load_or_create(tmp_path, now)
    assert (tmp_path / "identity.json").exists() and not keys.next_path.exists()
    assert NodeIdentity.load_or_create(tmp_path, now).keyid == first.keyid

    other = tmp_path / "other"
    other.mkdir()
    made = NodeIdentity.load_or_create(other, now)
    os.replace(other / "identity.key", other / "identity.key.next")  # crashed after the document
    again = NodeIdentity.load_or_create(other, now)
    assert again.keyid == made.keyid and (other / "identity.key").exists()
