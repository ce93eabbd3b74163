"""A node's identity: its node id and Ed25519 key, with every key it has ever published.

Two files in the node's key directory:

- ``identity.key``: the current private key, kept by ``accord.safeguards.signing.SigningKeyFile`` (the
  same 32-byte seed file, mode 0600, crash-safe rotation through ``identity.key.next``) as the checkpoint
  key beside it. A separate key and not the checkpoint key: the checkpoint key names the log, this one
  the node, and either can rotate without the other.
- ``identity.json``: the public identity document, canonical JSON (RFC 8785): the node id and every key
  with its validity window. Rotation closes the current key's window (``not_after``) and opens the next
  one's; retired keys stay listed so that a peer can still verify what they signed while they were current.

A key's id (``keyid`` in envelopes) is the hex SHA-256 of its 32 raw public bytes: a fingerprint a peer
can compute from the key alone, so it never has to trust the id a message claims.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from accord.exchange.wire import format_time, parse_time
from accord.ids import new_ulid
from accord.safeguards.signing import SigningKeyFile

__all__ = ["IdentityDocument", "NodeIdentity", "NodeKey", "fingerprint", "new_node_id"]

_KEY_FILE = "identity.key"
_DOC_FILE = "identity.json"


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """The key id: hex SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


def new_node_id() -> str:
    return f"node_{new_ulid()}"


@dataclass(frozen=True)
class NodeKey:
    """One published key and the window in which it signs: ``not_before <= t <= not_after`` (open if None)."""

    public_key: Ed25519PublicKey
    not_before: datetime
    not_after: datetime | None = None

    @property
    def keyid(self) -> str:
        return fingerprint(self.public_key)

    def valid_at(self, at: datetime) -> bool:
        return self.not_before <= at and (self.not_after is None or at <= self.not_after)

    def to_json(self) -> dict[str, Any]:
        raw = self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {
            "keyid": self.keyid,
            "public_key": raw.hex(),
            "not_before": format_time(self.not_before),
            "not_after": None if self.not_after is None else format_time(self.not_after),
        }

    @classmethod
    def from_json(cls, data: object) -> NodeKey:
        if not isinstance(data, dict) or set(data) != {"keyid", "public_key", "not_before", "not_after"}:
            raise ValueError("a key entry holds exactly keyid, public_key, not_before and not_after")
        try:
            raw = bytes.fromhex(data["public_key"])
            public_key = Ed25519PublicKey.from_public_bytes(raw)
        except (TypeError, ValueError):
            raise ValueError("public_key must be 64 hex digits (a raw Ed25519 public key)") from None
        not_after = data["not_after"]
        key = cls(public_key, parse_time(data["not_before"]), None if not_after is None else parse_time(not_after))
        if key.keyid != data["keyid"]:
            raise ValueError(f"keyid {data['keyid']!r} is not the fingerprint of the key")
        if key.not_after is not None and key.not_after < key.not_before:
            raise ValueError(f"key {key.keyid}: not_after is before not_before")
        return key


@dataclass(frozen=True)
class IdentityDocument:
    """What a node publishes about itself: its id and keys, the last one current (``not_after`` None)."""

    node_id: str
    keys: tuple[NodeKey, ...]

    def __post_init__(self) -> None:
        if not self.node_id or not isinstance(self.node_id, str):
            raise ValueError("an identity document needs a node id")
        if not self.keys:
            raise ValueError(f"identity of {self.node_id} lists no key")
        if len({k.keyid for k in self.keys}) != len(self.keys):
            raise ValueError(f"identity of {self.node_id} lists a key twice")

    @property
    def current(self) -> NodeKey:
        return self.keys[-1]

    def key(self, keyid: str) -> NodeKey | None:
        return next((k for k in self.keys if k.keyid == keyid), None)

    def to_json(self) -> bytes:
        """Canonical JSON (RFC 8785): the same document is the same bytes on every node."""
        return rfc8785.dumps({"node_id": self.node_id, "keys": [k.to_json() for k in self.keys]})

    @classmethod
    def from_json(cls, raw: bytes | str) -> IdentityDocument:
        try:
            data = json.loads(raw)
        except ValueError as e:
            raise ValueError(f"an identity document must be JSON: {e}") from None
        if not isinstance(data, dict) or set(data) != {"node_id", "keys"} or not isinstance(data["keys"], list):
            raise ValueError("an identity document holds exactly node_id and a list of keys")
        return cls(data["node_id"], tuple(NodeKey.from_json(k) for k in data["keys"]))


class NodeIdentity:
    """The node's own identity: the public document and the private key that signs for it now."""

    def __init__(self, document: IdentityDocument, private_key: Ed25519PrivateKey) -> None:
        if fingerprint(private_key.public_key()) != document.current.keyid:
            raise ValueError(f"the private key is not the current key of {document.node_id}")
        self.document = document
        self.private_key = private_key

    @property
    def node_id(self) -> str:
        return self.document.node_id

    @property
    def keyid(self) -> str:
        return self.document.current.keyid

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    @classmethod
    def generate(cls, now: datetime, node_id: str | None = None) -> NodeIdentity:
        """A fresh identity in memory (tests, and the first step of ``load_or_create``)."""
        key = Ed25519PrivateKey.generate()
        document = IdentityDocument(node_id or new_node_id(), (NodeKey(key.public_key(), now),))
        return cls(document, key)

    @classmethod
    def load_or_create(cls, directory: Path, now: datetime, node_id: str | None = None) -> NodeIdentity:
        """The identity kept in ``directory``, created on first use.

        A key file without its document, or a document whose current key is not the key file's, is an
        error and never silently replaced: peers hold the published key, and a new one would cut the node
        off (or hide a tampered file).
        """
        keys = SigningKeyFile(directory / _KEY_FILE)
        doc_path = directory / _DOC_FILE
        if not doc_path.exists():
            if keys.path.exists():
                raise ValueError(f"{keys.path} exists without {doc_path}: restore the identity document")
            # Created in the rotation's order: the key goes to identity.key.next (mode 0600), then the
            # document, then the key moves into place. A crash before the document leaves only a pending key
            # nobody has seen, replaced here on the next start; a crash after it is finished below.
            private_key = keys.write_next()
            document = IdentityDocument(node_id or new_node_id(), (NodeKey(private_key.public_key(), now),))
            _write_document(doc_path, document)
            keys.promote_next()
            return cls(document, private_key)
        document = IdentityDocument.from_json(doc_path.read_bytes())
        if node_id is not None and node_id != document.node_id:
            raise ValueError(f"{doc_path} is the identity of {document.node_id}, not {node_id}")
        pending = keys.read_next()
        if pending is not None and fingerprint(pending.public_key()) == document.current.keyid:
            keys.promote_next()  # a creation or rotation published its key but stopped before moving it
        if not keys.path.exists():
            raise ValueError(f"{doc_path} exists but its private key {keys.path} is missing")
        return cls(document, keys.load())

    @classmethod
    def rotate(cls, directory: Path, now: datetime) -> NodeIdentity:
        """Retire the current key at ``now`` and start signing with a fresh one.

        Order for crashes: the next key is written first (``identity.key.next``), then the document that
        publishes it, then the key moves into place; ``load_or_create`` finishes an interrupted rotation,
        and a next key that was never published is simply replaced by the next rotation.
        """
        identity = cls.load_or_create(directory, now)
        keys = SigningKeyFile(directory / _KEY_FILE)
        if now < identity.document.current.not_before:
            raise ValueError("cannot rotate to a time before the current key's window opened")
        fresh = keys.write_next()
        retired = replace(identity.document.current, not_after=now)
        document = IdentityDocument(
            identity.node_id, (*identity.document.keys[:-1], retired, NodeKey(fresh.public_key(), now))
        )
        _write_document(directory / _DOC_FILE, document)
        keys.promote_next()
        return cls(document, fresh)


def _write_document(path: Path, document: IdentityDocument) -> None:
    """Atomically (write beside, fsync, rename): a reader sees the old document or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(document.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
