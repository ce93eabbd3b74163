"""C2SP transparency-log checkpoints (https://c2sp.org/tlog-checkpoint): the signed head of the custody log.

The body is three lines, then optional extension lines, each ending in a newline::

    <origin>
    <tree size in decimal, no leading zeros>
    <base64 of the 32-byte RFC 9162 root hash>

Why checkpoints: anyone holding an older checkpoint can ask for a consistency proof to a newer one, so a
node cannot rewrite its history without a partner (a witness) noticing. Signing and opening are the
signed-note functions of ``accord.custody.note``; verification takes a set of keys, so checkpoints
signed before a key rotation keep verifying with the old key in the set.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from accord.custody.merkle import HASH_SIZE
from accord.custody.note import NoteError, Verifier, open_note, sign

__all__ = ["Checkpoint", "sign_checkpoint", "verify_checkpoint"]

_MAX_SIZE = 2**64 - 1
_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)\Z")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}\Z")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 0 <= self.size <= _MAX_SIZE:
            raise ValueError(f"checkpoint tree size must be an integer from 0 to 2**64 - 1, got {self.size!r}")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise ValueError(f"checkpoint root hash must be {HASH_SIZE} bytes")
        if not isinstance(self.extensions, tuple):
            raise ValueError("checkpoint extensions must be a tuple of lines")
        for number, line in enumerate(self.extensions, 1):
            _check_line(line, f"extension line {number}")

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode(), *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint body (the note text), strictly: every deviation is a ``ValueError``."""
        if not isinstance(text, str):
            raise ValueError("a checkpoint body must be text")
        if not text.endswith("\n"):
            raise ValueError("a checkpoint body must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise ValueError(f"a checkpoint body has at least 3 lines (origin, size, root hash), got {len(lines)}")
        origin, size, root, *extensions = lines
        if not _DECIMAL.match(size):
            raise ValueError(
                f"checkpoint line 2 (tree size) must be a decimal number without leading zeros, got {size!r}"
            )
        if int(size) > _MAX_SIZE:
            raise ValueError(f"checkpoint tree size {size} does not fit in 64 bits")
        if not _BASE64.match(root) or len(root) % 4:
            raise ValueError(f"checkpoint line 3 (root hash) must be standard base64, got {root!r}")
        raw = base64.b64decode(root)
        if base64.b64encode(raw).decode() != root:
            raise ValueError("checkpoint line 3 (root hash) is not canonical base64")
        if len(raw) != HASH_SIZE:
            raise ValueError(f"checkpoint root hash must be {HASH_SIZE} bytes, got {len(raw)}")
        return cls(origin, int(size), raw, tuple(extensions))


def _check_line(line: str, what: str) -> None:
    if not isinstance(line, str) or not line:
        raise ValueError(f"checkpoint {what} must be a non-empty line")
    if any(ch < "\x20" for ch in line):
        raise ValueError(f"checkpoint {what} must not contain newlines or control characters")


def sign_checkpoint(checkpoint: Checkpoint, name: str, private_key: Ed25519PrivateKey) -> str:
    """The checkpoint as a signed note. The spec asks that ``name`` be the log's origin."""
    return sign(checkpoint.body(), name, private_key)


def verify_checkpoint(note: str | bytes, verifiers: Iterable[Verifier], *, origin: str | None = None) -> Checkpoint:
    """Open a signed checkpoint with any of ``verifiers`` (old keys included, for rotation) and parse it.

    Pass ``origin`` to also require the log it claims to come from: a valid signature on another log's
    checkpoint proves nothing about this one.
    """
    text, _ = open_note(note, verifiers)
    checkpoint = Checkpoint.parse(text)
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"checkpoint is for log {checkpoint.origin!r}, expected {origin!r}")
    return checkpoint
