"""Sealing: fields that may hold personal data are encrypted at rest with AES-256-GCM.

Each record gets its own data key, wrapped by the node's sealing key, and the record id is bound in
as associated data so a sealed blob cannot be moved to another record.

Opening is one method, ``Sealer.open``. For reports its one caller is ``accord.services.unsealing``,
after it has checked a warrant in force whose scope covers the record and the fields and k custodians'
signed approvals (or recorded a supervisor's emergency disclosure). Nothing here can check those,
because the core holds no database; instead a test lists every module of the application that calls
``open`` and fails on a new one, so each new caller is a reviewed decision.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["Sealer", "load_or_create_key"]

_VERSION = b"\x01"
_CREDENTIAL_PREFIX = "cred:"
_HEADER = 1 + 12 + 48 + 12  # version, wrap nonce, wrapped data key (32 + 16 tag), body nonce
_TAG = 16


class Sealer:
    def __init__(self, node_key: bytes) -> None:
        if len(node_key) != 32:
            raise ValueError("the sealing key must be 32 bytes")
        self._wrap = AESGCM(node_key)

    def seal(self, plaintext: bytes, record_id: str) -> bytes:
        aad = record_id.encode()
        data_key = AESGCM.generate_key(bit_length=256)
        wrap_nonce, nonce = os.urandom(12), os.urandom(12)
        wrapped = self._wrap.encrypt(wrap_nonce, data_key, aad)
        body = AESGCM(data_key).encrypt(nonce, plaintext, aad)
        return _VERSION + wrap_nonce + wrapped + nonce + body

    def open(self, blob: bytes, record_id: str) -> bytes:
        """Decrypt a blob sealed for ``record_id``: unwrap its data key, then the body.

        Raises ``ValueError`` for a blob of another version or too short to hold its header, and
        ``cryptography.exceptions.InvalidTag`` when anything was changed (a flipped bit, a data key
        spliced in from another blob, another record's id, another node's key): GCM authenticates both
        the wrapped key and the body, so a tampered blob never yields altered plaintext, only a refusal.
        """
        if blob[:1] != _VERSION:
            raise ValueError("unknown sealed-blob version")
        if len(blob) < _HEADER + _TAG:
            raise ValueError("sealed blob is truncated")
        aad = record_id.encode()
        wrap_nonce, wrapped, nonce, body = blob[1:13], blob[13:61], blob[61:73], blob[73:]
        data_key = self._wrap.decrypt(wrap_nonce, wrapped, aad)
        return AESGCM(data_key).decrypt(nonce, body, aad)

    def open_credential(self, blob: bytes, record_id: str) -> bytes:
        """Open a credential the node itself must read to do its work (a person's TOTP secret).

        Only record ids under ``cred:`` open here. The record id is the associated data, so a blob
        sealed for anything else (a report's victim fields, under the report's id) fails to decrypt:
        this path cannot be used to open evidence without a warrant."""
        if not record_id.startswith(_CREDENTIAL_PREFIX):
            raise ValueError(f"only {_CREDENTIAL_PREFIX}... records open without a warrant")
        return self.open(blob, record_id)

    # The name this path had before it was reviewed and made public; other branches' code may still call it.
    _open = open


def load_or_create_key(path: Path) -> bytes:
    """Read the node sealing key, creating it (mode 0600) on first use."""
    if path.exists():
        key = path.read_bytes()
        if len(key) != 32:
            raise ValueError(f"{path}: sealing key must be exactly 32 bytes")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = AESGCM.generate_key(bit_length=256)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key
