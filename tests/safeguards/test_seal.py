"""Sealing at rest with per-record data keys (``accord/safeguards/seal.py``)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from accord.safeguards.seal import Sealer, load_or_create_key

KEY = bytes(range(32))
PLAIN = b'{"narrative": "CANARY-SEAL-4471", "subjects": {"1": {"value": "canary@example.org"}}}'


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(KEY)


def test_round_trip(sealer: Sealer) -> None:
    blob = sealer.seal(PLAIN, "rpt_1")
    assert sealer._open(blob, "rpt_1") == PLAIN
    assert Sealer(KEY)._open(blob, "rpt_1") == PLAIN  # a new Sealer with the same node key


@pytest.mark.parametrize("plain", [b"", b"x", os.urandom(5000)])
def test_round_trip_sizes(sealer: Sealer, plain: bytes) -> None:
    blob = sealer.seal(plain, "rpt_2")
    assert len(blob) == 1 + 12 + 48 + 12 + len(plain) + 16
    assert sealer._open(blob, "rpt_2") == plain


def test_blob_does_not_contain_the_plaintext(sealer: Sealer) -> None:
    blob = sealer.seal(PLAIN, "rpt_1")
    assert PLAIN not in blob
    assert b"CANARY" not in blob and b"canary@example.org" not in blob
    assert KEY not in blob


def test_other_record_id_fails_to_open(sealer: Sealer) -> None:
    blob = sealer.seal(PLAIN, "rpt_1")
    with pytest.raises(InvalidTag):
        sealer._open(blob, "rpt_2")
    with pytest.raises(InvalidTag):
        sealer._open(blob, "")


def test_other_node_key_fails_to_open(sealer: Sealer) -> None:
    blob = sealer.seal(PLAIN, "rpt_1")
    with pytest.raises(InvalidTag):
        Sealer(bytes(32))._open(blob, "rpt_1")


@pytest.mark.parametrize("where", [1, 20, 65, 80, -1])
def test_tampered_blob_fails_to_open(sealer: Sealer, where: int) -> None:
    blob = bytearray(sealer.seal(PLAIN, "rpt_1"))
    blob[where] ^= 0x01
    with pytest.raises(InvalidTag):
        sealer._open(bytes(blob), "rpt_1")


def test_unknown_version_is_refused(sealer: Sealer) -> None:
    blob = sealer.seal(PLAIN, "rpt_1")
    with pytest.raises(ValueError, match="version"):
        sealer._open(b"\x02" + blob[1:], "rpt_1")


def test_each_seal_uses_a_fresh_data_key(sealer: Sealer) -> None:
    a, b = sealer.seal(PLAIN, "rpt_1"), sealer.seal(PLAIN, "rpt_1")
    assert a != b
    # wrap nonce, wrapped data key, body nonce and body all differ
    assert a[1:13] != b[1:13]
    assert a[13:61] != b[13:61]
    assert a[61:73] != b[61:73]
    assert a[73:] != b[73:]
    assert sealer._open(a, "rpt_1") == sealer._open(b, "rpt_1") == PLAIN


def test_data_key_cannot_be_moved_between_blobs(sealer: Sealer) -> None:
    a, b = sealer.seal(PLAIN, "rpt_1"), sealer.seal(PLAIN, "rpt_1")
    spliced = a[:61] + b[61:]  # a's wrapped key, b's body
    with pytest.raises(InvalidTag):
        sealer._open(spliced, "rpt_1")


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_sealer_needs_a_32_byte_key(size: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Sealer(bytes(size))


def test_load_or_create_key_creates_a_private_32_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "keys" / "seal.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key  # reloaded, not replaced
    assert path.read_bytes() == key
    blob = Sealer(key).seal(PLAIN, "rpt_1")
    assert Sealer(load_or_create_key(path))._open(blob, "rpt_1") == PLAIN


def test_two_nodes_get_different_keys(tmp_path: Path) -> None:
    assert load_or_create_key(tmp_path / "a.key") != load_or_create_key(tmp_path / "b.key")


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_wrong_size_key_file_raises(tmp_path: Path, size: int) -> None:
    path = tmp_path / "seal.key"
    path.write_bytes(b"k" * size)
    with pytest.raises(ValueError, match="32 bytes"):
        load_or_create_key(path)
    assert path.read_bytes() == b"k" * size  # left alone, never overwritten


def test_credentials_open_only_under_cred_ids(sealer: Sealer) -> None:
    """The node reads TOTP secrets back at every sign-in; that path must not open evidence."""
    blob = sealer.seal(b"JBSWY3DPEHPK3PXP", "cred:totp:act_1")
    assert sealer.open_credential(blob, "cred:totp:act_1") == b"JBSWY3DPEHPK3PXP"
    with pytest.raises(InvalidTag):  # bound to its person: not openable as another's
        sealer.open_credential(blob, "cred:totp:act_2")
    report_blob = sealer.seal(PLAIN, "rpt_1")
    with pytest.raises(ValueError, match="without a warrant"):
        sealer.open_credential(report_blob, "rpt_1")
    with pytest.raises(InvalidTag):  # nor by claiming a credential id for it
        sealer.open_credential(report_blob, "cred:rpt_1")


def test_open_is_the_public_name_and_refuses_truncated_blobs(sealer: Sealer) -> None:
    blob = sealer.seal(PLAIN, "rpt_1")
    assert sealer.open(blob, "rpt_1") == PLAIN
    for size in (1, 13, 72, 88):
        with pytest.raises(ValueError, match="truncated"):
            sealer.open(blob[:size], "rpt_1")
    assert sealer.open(sealer.seal(b"", "rpt_1"), "rpt_1") == b""  # the shortest valid blob


# The modules of the application allowed to open sealed data. A new caller is a reviewed decision:
# add it here with the reason. (Reports: only the warrant-and-custodians path.)
OPENERS = {"accord/services/unsealing.py"}


def test_only_reviewed_modules_open_sealed_data() -> None:
    import re

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"\.\s*_?open\s*\(")
    callers = set()
    for path in (root / "accord").rglob("*.py"):
        text = path.read_text()
        if "sealer" not in text.lower():
            continue
        for line in text.splitlines():
            if "sealer" in line.lower() and pattern.search(line):
                callers.add(str(path.relative_to(root)))
    assert callers == OPENERS
