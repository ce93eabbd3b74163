"""C2SP signed notes (``accord/custody/note.py``), checked against Go's golang.org/x/mod/sumdb/note examples."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from accord.custody.note import (
    MAX_SIGNATURES,
    InvalidSignatureError,
    NoteError,
    Signature,
    Signer,
    UnverifiedNoteError,
    Verifier,
    check_key_name,
    cosign,
    key_id,
    open_note,
    parse_note,
    sign,
)

# The published example keys and note of golang.org/x/mod/sumdb/note (note.go and note_test.go).
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

PETER = Verifier.parse(PETER_VKEY)
ENOCH = Verifier.parse(ENOCH_VKEY)
PETER_SIGNER = Signer.parse(PETER_SKEY)


def test_signing_reproduces_the_published_note() -> None:
    """Ed25519 is deterministic, so the published key and text give the published note byte for byte."""
    assert sign(TEXT, PETER_SIGNER.name, PETER_SIGNER.private_key) == TEXT + "\n" + PETER_SIG


def test_published_keys_round_trip_and_match() -> None:
    assert PETER.encode() == PETER_VKEY
    assert PETER_SIGNER.encode() == PETER_SKEY
    assert PETER_SIGNER.verifier == PETER
    assert PETER.key_id == bytes.fromhex("c74f20a3") == key_id("PeterNeumann", PETER.public_key)
    assert ENOCH.key_id == bytes.fromhex("af0cfe78")
    assert "c74f20a3" in repr(PETER_SIGNER) and "AYEK" not in repr(PETER_SIGNER)
    assert repr(PETER) == f"Verifier.parse({PETER_VKEY!r})"
    assert {PETER, Verifier.parse(PETER_VKEY), ENOCH} == {PETER, ENOCH}
    assert PETER != PETER_VKEY


def test_open_with_one_known_key_ignores_the_other() -> None:
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, [PETER]) == (TEXT, ("PeterNeumann",))
    assert open_note(note, [ENOCH]) == (TEXT, ("EnochRoot",))
    assert open_note(note, [PETER, ENOCH]) == (TEXT, ("PeterNeumann", "EnochRoot"))
    assert open_note(note.encode(), [ENOCH, PETER, PETER]) == (TEXT, ("PeterNeumann", "EnochRoot"))


def test_open_with_no_known_key_fails() -> None:
    with pytest.raises(UnverifiedNoteError, match="no signature by a known key"):
        open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])


def test_a_key_with_the_same_name_but_another_key_is_ignored() -> None:
    impostor = Verifier("PeterNeumann", Ed25519PrivateKey.generate().public_key())
    with pytest.raises(UnverifiedNoteError):
        open_note(TEXT + "\n" + PETER_SIG, [impostor])


def test_repeated_signatures_are_all_checked_and_named_once() -> None:
    assert open_note(TEXT + "\n" + PETER_SIG * 3, [PETER]) == (TEXT, ("PeterNeumann",))
    forged = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(InvalidSignatureError, match="PeterNeumann\\+c74f20a3"):
        open_note(TEXT + "\n" + PETER_SIG + forged, [PETER])


def test_too_many_signatures() -> None:
    assert open_note(TEXT + "\n" + PETER_SIG * MAX_SIGNATURES, [PETER])[1] == ("PeterNeumann",)
    for known in ([PETER], []):
        with pytest.raises(NoteError, match="at most 100 signatures"):
            open_note(TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1), known)


def test_a_flipped_byte_in_the_text_fails() -> None:
    note = TEXT.replace("problem,", "problem;") + "\n" + PETER_SIG
    with pytest.raises(InvalidSignatureError):
        open_note(note, [PETER])


@pytest.mark.parametrize("position", [4, 20, 40, 67])
def test_a_flipped_byte_in_the_signature_fails(position: int) -> None:
    prefix = "— PeterNeumann "
    raw = bytearray(base64.b64decode(PETER_SIG[len(prefix) : -1]))
    raw[position] ^= 0x01
    note = TEXT + "\n" + prefix + base64.b64encode(bytes(raw)).decode() + "\n"
    with pytest.raises(InvalidSignatureError):
        open_note(note, [PETER])


def test_a_flipped_key_id_makes_the_signature_unknown() -> None:
    prefix = "— PeterNeumann "
    raw = bytearray(base64.b64decode(PETER_SIG[len(prefix) : -1]))
    raw[0] ^= 0x01
    note = TEXT + "\n" + prefix + base64.b64encode(bytes(raw)).decode() + "\n"
    with pytest.raises(UnverifiedNoteError):
        open_note(note, [PETER])


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (TEXT, "blank line"),
        (TEXT + "\n", "at least one signature line"),
        (TEXT + "\n" + PETER_SIG[:-1], "must end with a newline"),
        ("\x01" + TEXT + "\n" + PETER_SIG, "control characters"),
        (b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), "valid UTF-8"),
        ("\ud800" + TEXT + "\n" + PETER_SIG, "lone surrogate"),
        (TEXT + "\n" + PETER_SIG.replace("Peter", "Bad ")[:-1], "newline"),
        (TEXT + "\n" + PETER_SIG.replace("Peter", "Bad "), "base64"),
        (TEXT + "\n" + PETER_SIG + "Unexpected line.\n", "line 2 must start with an em dash"),
        (TEXT + "\n" + PETER_SIG.replace("\u2014", "-"), "em dash"),
        (TEXT + "\n" + "— PeterNeumann\n", "4-byte key ID and a signature"),
        (TEXT + "\n" + "— PeterNeumann x08g\n", "4-byte key ID and a signature"),
        (TEXT + "\n" + "— Peter+Neumann x08go/ZJ\n", "must not contain '\\+'"),
        (TEXT + "\n" + "— PeterNeumann x08go/ZJkuBR==\n", "not canonical base64"),
        (TEXT + "\r\n" + PETER_SIG, "control characters"),
        (42, "must be text"),
    ],
)
def test_malformed_notes(note: str | bytes, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        open_note(note, [PETER])


def test_parse_note_does_not_verify() -> None:
    text, signatures = parse_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG)
    assert text == TEXT
    assert [(s.name, s.key_id.hex()) for s in signatures] == [("PeterNeumann", "c74f20a3"), ("EnochRoot", "af0cfe78")]
    assert signatures[0].line() == PETER_SIG


def test_text_may_hold_blank_lines() -> None:
    key = Ed25519PrivateKey.generate()
    verifier = Verifier("example.com/log", key.public_key())
    for text in ("a\n\nb\n", "a\n\n", "\n", "— looks like a signature\n\n"):
        assert open_note(sign(text, "example.com/log", key), [verifier]) == (text, ("example.com/log",))


def test_round_trip_with_a_fresh_key() -> None:
    key = Ed25519PrivateKey.generate()
    note = sign("hello\n", "accord.example/node-a", key)
    verifier = Verifier("accord.example/node-a", key.public_key())
    assert open_note(note, [verifier]) == ("hello\n", ("accord.example/node-a",))
    assert open_note(note, [Verifier.parse(verifier.encode())])[1] == ("accord.example/node-a",)
    with pytest.raises(UnverifiedNoteError):
        open_note(note, [Verifier("accord.example/node-a", Ed25519PrivateKey.generate().public_key())])


def test_cosign_adds_and_replaces() -> None:
    witness = Ed25519PrivateKey.generate()
    w = Verifier("witness.example", witness.public_key())
    once = cosign(TEXT + "\n" + PETER_SIG, "witness.example", witness)
    assert once.startswith(TEXT + "\n" + PETER_SIG)
    assert open_note(once, [PETER, w]) == (TEXT, ("PeterNeumann", "witness.example"))
    assert open_note(once, [w]) == (TEXT, ("witness.example",))
    twice = cosign(once, "witness.example", witness)
    assert len(parse_note(twice)[1]) == 2
    assert cosign(TEXT + "\n" + PETER_SIG, PETER_SIGNER.name, PETER_SIGNER.private_key) == TEXT + "\n" + PETER_SIG


def test_cosign_respects_the_signature_limit() -> None:
    key = Ed25519PrivateKey.generate()
    with pytest.raises(NoteError, match="at most 100"):
        cosign(TEXT + "\n" + PETER_SIG * MAX_SIGNATURES, "another", key)


class _FixedId(Verifier):
    """A verifier claiming Peter's key ID for another key: a 32-bit collision, built instead of searched for."""

    @property
    def key_id(self) -> bytes:
        return PETER.key_id


def test_two_known_keys_under_one_name_and_id_are_ambiguous() -> None:
    other = _FixedId("PeterNeumann", Ed25519PrivateKey.generate().public_key())
    with pytest.raises(NoteError, match="ambiguous key PeterNeumann\\+c74f20a3"):
        open_note(TEXT + "\n" + PETER_SIG, [PETER, other])
    # unused ambiguity does not matter
    assert open_note(TEXT + "\n" + ENOCH_SIG, [PETER, other, ENOCH])[1] == ("EnochRoot",)


@pytest.mark.parametrize("name", ["", "a+b", "a b", "a\tb", "a\u00a0b", "a\u2028b", "a\x00b", 7])
def test_bad_key_names(name: str) -> None:
    with pytest.raises(NoteError, match="key name"):
        check_key_name(name)
    with pytest.raises(NoteError, match="key name"):
        sign("text\n", name, Ed25519PrivateKey.generate())


def test_key_names_may_be_urls_and_unicode() -> None:
    assert check_key_name("example.com/log42") == "example.com/log42"
    assert check_key_name("quasimodo.example/salvatore—è") == "quasimodo.example/salvatore—è"
    with pytest.raises(NoteError, match="lone surrogate"):
        check_key_name("a\udc80")


@pytest.mark.parametrize(
    ("text", "message"),
    [("no newline", "end with a newline"), ("tab\there\n", "control characters"), (b"bytes\n", "must be a string")],
)
def test_bad_texts_cannot_be_signed(text: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        sign(text, "name", Ed25519PrivateKey.generate())


def manglings(key: str) -> list[str]:
    """Every proper substring and every one-character change, as Go's TestNewVerifier/TestNewSigner try."""
    out = [key[i:j] for i in range(len(key) + 1) for j in range(i + 1, len(key) + 1) if (i, j) != (0, len(key))]
    out += [key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :] for i in range(len(key))]
    return out


@pytest.mark.parametrize(("parse", "key"), [(Verifier.parse, PETER_VKEY), (Signer.parse, PETER_SKEY)])
def test_mangled_keys_are_rejected(parse: Callable[[str], object], key: str) -> None:
    for bad in manglings(key):
        with pytest.raises(NoteError):
            parse(bad)


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==", "base64"),
        ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "not an Ed25519 key"),
        ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "lower-case hex"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T=", "base64"),
        ("PeterNeumann+5e5e1ee8+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy", "holds 32 bytes"),
        ("PeterNeumann", "reads <name>"),
        (None, "reads <name>"),
    ],
)
def test_bad_verifier_keys(vkey: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        Verifier.parse(vkey)


@pytest.mark.parametrize(
    ("skey", "message"),
    [
        ("PRIVATE+KEY+PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("PRIVATE+KEY+PeterNeumann+c74f20a3+ZYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "32-byte Ed25519 seed"),
        ("PUBLIC+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "PRIVATE\\+KEY"),
        (PETER_VKEY, "PRIVATE\\+KEY"),
    ],
)
def test_bad_signer_keys(skey: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        Signer.parse(skey)


def test_signature_line_format() -> None:
    line = Signature("a", b"\x00\x01\x02\x03", b"\xff" * 64).line()
    assert line.startswith("\u2014 a AAECA///") and line.endswith("\n")
