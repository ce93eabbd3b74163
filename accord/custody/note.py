"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys.

A note is text ending in a newline, a blank line, then one or more lines ``— <key name> <base64(key ID ||
signature)>``. The key ID is the first four bytes of SHA-256(name || 0x0A || 0x01 || public key), so the
same name can carry several keys (rotation) and the same key several names without ambiguity.

Why this format and not JSON envelopes: checkpoints in this format are what transparency-log witnesses
and monitors already read, so a partner can cosign or audit Accord's log with existing tools (Go's
``golang.org/x/mod/sumdb/note`` reads the notes written here, and the tests check the reverse).

Opening follows the spec's rules: signatures by unknown keys are ignored; every signature by a known key
must verify, or the whole note is rejected; a note with no verified signature is rejected. Every error is
a ``NoteError``, a ``ValueError`` with a message that says what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

__all__ = [
    "ED25519",
    "MAX_SIGNATURES",
    "InvalidSignatureError",
    "NoteError",
    "Signature",
    "Signer",
    "UnverifiedNoteError",
    "Verifier",
    "check_key_name",
    "cosign",
    "key_id",
    "open_note",
    "parse_note",
    "sign",
]

ED25519 = 0x01
"""The signature type byte of Ed25519 in key IDs and encoded keys."""

MAX_SIGNATURES = 100
"""More signature lines than this make a note malformed (the spec asks verifiers for a limit of at least 16;
Go's reference implementation uses 100)."""

_DASH = "\u2014 "


class NoteError(ValueError):
    """A note, key or key name that breaks the signed-note format."""


class UnverifiedNoteError(NoteError):
    """A well-formed note with no signature by any known key."""


class InvalidSignatureError(NoteError):
    """A signature by a known key (name and key ID match) that does not verify."""


def check_key_name(name: str) -> str:
    """Key names are non-empty and hold no Unicode space, no plus and no control character."""
    if not isinstance(name, str) or not name:
        raise NoteError("a key name must be a non-empty string")
    if "+" in name:
        raise NoteError(f"key name {name!r} must not contain '+'")
    if any(ch.isspace() or ch < "\x20" for ch in name):
        raise NoteError(f"key name {name!r} must not contain spaces or control characters")
    _utf8(name, "key name")
    return name


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]."""
    check_key_name(name)
    return _key_id(name, _raw_public(public_key))


def _key_id(name: str, raw_public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + raw_public).digest()[:4]


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError(f"{what} is not valid UTF-8 (it holds a lone surrogate)") from None


def _b64decode(value: str, what: str) -> bytes:
    """Standard base64 with padding, in its one canonical spelling."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode() != value:
        raise NoteError(f"{what} is not canonical base64")
    return raw


@dataclass(frozen=True, repr=False)
class Verifier:
    """A known public key under a name; its text form is ``<name>+<hex key ID>+<base64(0x01 || key)>``."""

    name: str
    public_key: Ed25519PublicKey

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @property
    def key_id(self) -> bytes:
        return _key_id(self.name, _raw_public(self.public_key))

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        parts = vkey.split("+", 2) if isinstance(vkey, str) else []
        if len(parts) != 3:
            raise NoteError("a verifier key reads <name>+<hex key ID>+<base64 key>")
        name, hex_id, key64 = parts
        check_key_name(name)
        if len(hex_id) != 8 or hex_id.lower() != hex_id or any(c not in "0123456789abcdef" for c in hex_id):
            raise NoteError(f"verifier key ID {hex_id!r} must be 8 lower-case hex digits")
        raw = _b64decode(key64, "verifier key data")
        if not raw or raw[0] != ED25519:
            raise NoteError("verifier key is not an Ed25519 key (type byte 0x01)")
        if len(raw) != 33:
            raise NoteError(f"an Ed25519 verifier key holds 32 bytes, got {len(raw) - 1}")
        if _key_id(name, raw[1:]).hex() != hex_id:
            raise NoteError(f"verifier key ID {hex_id} does not match the name and key")
        return cls(name, Ed25519PublicKey.from_public_bytes(raw[1:]))

    def encode(self) -> str:
        raw = bytes([ED25519]) + _raw_public(self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(raw).decode()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Verifier)
            and self.name == other.name
            and _raw_public(self.public_key) == _raw_public(other.public_key)
        )

    def __hash__(self) -> int:
        return hash((self.name, _raw_public(self.public_key)))

    def __repr__(self) -> str:
        return f"Verifier.parse({self.encode()!r})"


@dataclass(frozen=True, repr=False)
class Signer:
    """A private key under a name. Text form (a secret): ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ||
    seed)>``, the one Go's ``note.NewSigner`` reads, so keys move between tools."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.private_key.public_key())

    @classmethod
    def parse(cls, skey: str) -> Signer:
        parts = skey.split("+", 4) if isinstance(skey, str) else []
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a signer key reads PRIVATE+KEY+<name>+<hex key ID>+<base64 key>")
        _, _, name, hex_id, key64 = parts
        check_key_name(name)
        raw = _b64decode(key64, "signer key data")
        if not raw or raw[0] != ED25519 or len(raw) != 33:
            raise NoteError("signer key is not a 32-byte Ed25519 seed (type byte 0x01)")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.verifier.key_id.hex() != hex_id:
            raise NoteError(f"signer key ID {hex_id!r} does not match the name and key")
        return signer

    def encode(self) -> str:
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        raw = base64.b64encode(bytes([ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{raw}"

    def __repr__(self) -> str:
        return f"Signer(name={self.name!r}, key_id={self.verifier.key_id.hex()})"


@dataclass(frozen=True)
class Signature:
    """One signature line: who (name and key ID) and the raw signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{_DASH}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


def _check_text(text: str) -> bytes:
    if not isinstance(text, str):
        raise NoteError("note text must be a string")
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    _check_chars(text, "note text")
    return _utf8(text, "note text")


def _check_chars(text: str, what: str) -> None:
    for ch in text:
        if ch < "\x20" and ch != "\n":
            raise NoteError(f"{what} must not contain control characters (found U+{ord(ch):04X})")


def sign(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """A note of ``text`` with one Ed25519 signature under ``name``."""
    return _signed(text, (), Signer(name, private_key))


def cosign(note: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Add a signature to a well-formed note (a witness's cosignature, or a new key during rotation).

    Existing signatures are kept unchecked and in order; one by the same name and key is replaced.
    """
    text, signatures = parse_note(note)
    return _signed(text, signatures, Signer(name, private_key))


def _signed(text: str, existing: Iterable[Signature], signer: Signer) -> str:
    message = _check_text(text)
    ident = signer.verifier.key_id
    new = Signature(signer.name, ident, signer.private_key.sign(message))
    kept = [s for s in existing if (s.name, s.key_id) != (signer.name, ident)]
    if len(kept) + 1 > MAX_SIGNATURES:
        raise NoteError(f"a note holds at most {MAX_SIGNATURES} signatures")
    return text + "\n" + "".join(s.line() for s in [*kept, new])


def parse_note(note: str | bytes) -> tuple[str, tuple[Signature, ...]]:
    """Split a note into its text and signature lines, checking only the syntax (no signature is verified:
    the text must not be trusted until ``open_note`` says so)."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("a note must be valid UTF-8") from None
    if not isinstance(note, str):
        raise NoteError("a note must be text")
    _utf8(note, "note")
    _check_chars(note, "a note")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("a note needs a blank line between its text and its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block:
        raise NoteError("a note needs at least one signature line after the blank line")
    if not block.endswith("\n"):
        raise NoteError("a note's last signature line must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note holds at most {MAX_SIGNATURES} signatures, this one has {len(lines)}")
    signatures = []
    for number, line in enumerate(lines, 1):
        if not line.startswith(_DASH):
            raise NoteError(f"signature line {number} must start with an em dash and a space")
        name, _, b64 = line[len(_DASH) :].partition(" ")
        try:
            check_key_name(name)
        except NoteError as e:
            raise NoteError(f"signature line {number}: {e}") from None
        raw = _b64decode(b64, f"signature line {number}") if b64 else b""
        if len(raw) < 5:
            raise NoteError(f"signature line {number} must hold a 4-byte key ID and a signature")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    return text, tuple(signatures)


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> tuple[str, tuple[str, ...]]:
    """Verify a note against the known keys; return its text and the names whose signatures verified.

    Raises ``UnverifiedNoteError`` when no known key signed it, ``InvalidSignatureError`` when a known
    key's signature fails, and ``NoteError`` for anything malformed (including conflicting known keys
    under one name and key ID).
    """
    text, signatures = parse_note(note)
    known: dict[tuple[str, bytes], Verifier | None] = {}
    for v in verifiers:
        ident = (v.name, v.key_id)
        if ident not in known:
            known[ident] = v
        elif known[ident] != v:
            known[ident] = None  # two different keys share name and key ID: never guess which
    message = text.encode("utf-8")
    verified: list[str] = []
    for s in signatures:
        ident = (s.name, s.key_id)
        if ident not in known:
            continue
        verifier = known[ident]
        if verifier is None:
            raise NoteError(f"ambiguous key {s.name}+{s.key_id.hex()}: several known keys share this name and ID")
        if not verifier.verify(message, s.signature):
            raise InvalidSignatureError(f"invalid signature for key {s.name}+{s.key_id.hex()}")
        if s.name not in verified:
            verified.append(s.name)
    if not verified:
        raise UnverifiedNoteError("the note has no signature by a known key")
    return text, tuple(verified)
