"""C2SP tlog checkpoints (``accord/custody/checkpoint.py``): the format, signing, rotation and witnesses."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.custody.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from accord.custody.merkle import SubtreeCache, leaf_hash, verify_consistency
from accord.custody.note import (
    InvalidSignatureError,
    NoteError,
    UnverifiedNoteError,
    Verifier,
    cosign,
    parse_note,
    sign,
)

ORIGIN = "accord.example/node-a/custody"
ROOT = bytes(range(32))

# A checkpoint published by sum.golang.org (the Go checksum database), with its well-known key.
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_NOTE = (
    "go.sum database tree\n49189689\nftjbAOzaupaIvaPo/G+Dk63nxOZ2s1OPOKIaPtXs7S4=\n\n"
    "— sum.golang.org Az3grlKZssqRoMNPpZfKt0TphbbcF+pzXqElURJKRNFKfaUAgqeI5k2AORH0QAhg/ebRwyIqD/OqP4oLtLnNumvOBAM=\n"
)


def test_a_published_checkpoint_verifies() -> None:
    checkpoint = verify_checkpoint(SUMDB_NOTE, [Verifier.parse(SUMDB_VKEY)], origin="go.sum database tree")
    assert checkpoint.origin == "go.sum database tree"
    assert checkpoint.size == 49189689
    assert checkpoint.root_hash == base64.b64decode("ftjbAOzaupaIvaPo/G+Dk63nxOZ2s1OPOKIaPtXs7S4=")
    assert checkpoint.extensions == ()
    assert checkpoint.body() == parse_note(SUMDB_NOTE)[0]


def test_the_spec_example_body_parses() -> None:
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    checkpoint = Checkpoint.parse(body)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.body() == body


def test_body_layout() -> None:
    checkpoint = Checkpoint(ORIGIN, 7, ROOT, ("ext one", "ext two"))
    encoded = base64.b64encode(ROOT).decode()
    assert checkpoint.body() == f"{ORIGIN}\n7\n{encoded}\next one\next two\n"
    assert Checkpoint.parse(checkpoint.body()) == checkpoint
    assert Checkpoint(ORIGIN, 0, ROOT).body() == f"{ORIGIN}\n0\n{encoded}\n"


origins = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FFF, exclude_categories=["Cs"]), min_size=1
)


@settings(max_examples=100, deadline=None)
@given(
    origin=origins,
    size=st.integers(min_value=0, max_value=2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(origins, max_size=3),
)
def test_round_trip(origin: str, size: int, root: bytes, extensions: list[str]) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


ENC = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"{ORIGIN}\n7\n{ENC}", "end with a newline"),
        (f"{ORIGIN}\n7\n", "at least 3 lines"),
        (f"\n7\n{ENC}\n", "origin must be a non-empty line"),
        (f"{ORIGIN}\n007\n{ENC}\n", "without leading zeros"),
        (f"{ORIGIN}\n-34\n{ENC}\n", "without leading zeros"),
        (f"{ORIGIN}\n+5\n{ENC}\n", "without leading zeros"),
        (f"{ORIGIN}\n 5\n{ENC}\n", "without leading zeros"),
        (f"{ORIGIN}\n1_000\n{ENC}\n", "without leading zeros"),
        (f"{ORIGIN}\n\u0661\u0662\n{ENC}\n", "without leading zeros"),
        (f"{ORIGIN}\nbananas\n{ENC}\n", "without leading zeros"),
        (f"{ORIGIN}\n18446744073709551616\n{ENC}\n", "does not fit in 64 bits"),
        (f"{ORIGIN}\n3438945738945739845734895735\n{ENC}\n", "does not fit in 64 bits"),
        (f"{ORIGIN}\n123\nThisIsn'tBase64\n", "standard base64"),
        (f"{ORIGIN}\n123\n{ENC[:-1]}\n", "standard base64"),
        (f"{ORIGIN}\n123\n{ENC[:-2]}9=\n", "not canonical base64"),
        (f"{ORIGIN}\n123\nYmFuYW5hcw==\n", "must be 32 bytes, got 7"),
        (f"{ORIGIN}\n123\n{ENC}\n\n", "extension line 1 must be a non-empty line"),
        (f"{ORIGIN}\n123\n{ENC}\nok\n\n", "extension line 2 must be a non-empty line"),
        (f"{ORIGIN}\n123\n{ENC}\nbad\tline\n", "control characters"),
        (b"bytes\n1\n", "must be text"),
    ],
)
def test_malformed_bodies(body: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Checkpoint.parse(body)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"origin": ""}, "origin must be a non-empty line"),
        ({"origin": "two\nlines"}, "origin must not contain newlines"),
        ({"size": -1}, "integer from 0"),
        ({"size": 2**64}, "integer from 0"),
        ({"size": True}, "integer from 0"),
        ({"root_hash": ROOT[:31]}, "32 bytes"),
        ({"root_hash": ROOT.hex()}, "32 bytes"),
        ({"extensions": ["a"]}, "tuple of lines"),
        ({"extensions": ("a", "")}, "extension line 2"),
    ],
)
def test_invalid_checkpoints(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"origin": ORIGIN, "size": 1, "root_hash": ROOT} | kwargs
    with pytest.raises(ValueError, match=message):
        Checkpoint(**fields)  # type: ignore[arg-type]


def test_sign_and_verify() -> None:
    key = Ed25519PrivateKey.generate()
    log = Verifier(ORIGIN, key.public_key())
    checkpoint = Checkpoint(ORIGIN, 5, ROOT)
    note = sign_checkpoint(checkpoint, ORIGIN, key)
    assert note.startswith(checkpoint.body() + "\n\u2014 " + ORIGIN + " ")
    assert verify_checkpoint(note, [log]) == checkpoint
    assert verify_checkpoint(note, [log], origin=ORIGIN) == checkpoint


def test_a_flipped_byte_fails() -> None:
    key = Ed25519PrivateKey.generate()
    log = Verifier(ORIGIN, key.public_key())
    note = sign_checkpoint(Checkpoint(ORIGIN, 5, ROOT), ORIGIN, key)
    with pytest.raises(InvalidSignatureError):
        verify_checkpoint(note.replace("\n5\n", "\n6\n"), [log])
    body, _, line = note.rpartition("\u2014 ")
    name, b64 = line.split(" ")
    raw = bytearray(base64.b64decode(b64))
    raw[10] ^= 0x80
    with pytest.raises(InvalidSignatureError):
        verify_checkpoint(f"{body}\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n", [log])


def test_a_wrong_key_fails() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 5, ROOT), ORIGIN, Ed25519PrivateKey.generate())
    other = Verifier(ORIGIN, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(UnverifiedNoteError):
        verify_checkpoint(note, [other])


def test_another_logs_checkpoint_is_refused() -> None:
    key = Ed25519PrivateKey.generate()
    note = sign_checkpoint(Checkpoint("other.example/log", 5, ROOT), ORIGIN, key)
    with pytest.raises(NoteError, match=r"for log 'other\.example/log', expected"):
        verify_checkpoint(note, [Verifier(ORIGIN, key.public_key())], origin=ORIGIN)


def test_a_signed_note_that_is_not_a_checkpoint_is_refused() -> None:
    key = Ed25519PrivateKey.generate()
    with pytest.raises(ValueError, match="at least 3 lines"):
        verify_checkpoint(sign("hello\n", ORIGIN, key), [Verifier(ORIGIN, key.public_key())])


def test_key_rotation_keeps_old_checkpoints_verifiable() -> None:
    """The node rotates its key: old checkpoints verify with the old key kept in the set, new ones with
    the new key, and a consistency proof links them."""
    old_key, new_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    old_v, new_v = Verifier(ORIGIN, old_key.public_key()), Verifier(ORIGIN, new_key.public_key())
    assert old_v.key_id != new_v.key_id
    log = SubtreeCache(leaf_hash(bytes([i])) for i in range(5))
    old_note = sign_checkpoint(Checkpoint(ORIGIN, log.size, log.root()), ORIGIN, old_key)
    log.extend(leaf_hash(bytes([i])) for i in range(5, 12))
    new_note = sign_checkpoint(Checkpoint(ORIGIN, log.size, log.root()), ORIGIN, new_key)

    keys = [new_v, old_v]
    old = verify_checkpoint(old_note, keys, origin=ORIGIN)
    new = verify_checkpoint(new_note, keys, origin=ORIGIN)
    assert verify_consistency(old.size, new.size, old.root_hash, new.root_hash, log.consistency_proof(old.size))
    with pytest.raises(UnverifiedNoteError):
        verify_checkpoint(old_note, [new_v])
    # during the changeover the log signs with both keys, so clients with either key accept it
    both = cosign(new_note, ORIGIN, old_key)
    assert verify_checkpoint(both, [old_v]) == verify_checkpoint(both, [new_v]) == new


def test_a_witness_cosignature() -> None:
    log_key, witness_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    witness = Verifier("witness.example/w1", witness_key.public_key())
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, ROOT), ORIGIN, log_key)
    witnessed = cosign(note, "witness.example/w1", witness_key)
    assert verify_checkpoint(witnessed, [witness], origin=ORIGIN).size == 3
