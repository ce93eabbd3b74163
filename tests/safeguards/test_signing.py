"""The checkpoint signing key file (``accord/safeguards/signing.py``)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from accord.safeguards.signing import SigningKeyFile


def public(key: object) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)  # type: ignore[attr-defined, no-any-return]


def test_created_on_first_use_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing.key"
    keys = SigningKeyFile(path)
    assert not path.exists()
    first = keys.load()
    assert path.stat().st_size == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public(keys.load()) == public(first)
    assert public(SigningKeyFile(path).load()) == public(first)  # another process reads the same key
    assert [p.name for p in path.parent.iterdir()] == ["signing.key"]  # no temporary file left behind


def test_many_threads_creating_at_once_agree(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    found: list[bytes] = []
    files = [SigningKeyFile(path) for _ in range(8)]
    threads = [threading.Thread(target=lambda f=f: found.append(public(f.load()))) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(found)) == 1 and len(found) == 8


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    keys = SigningKeyFile(path)
    old = public(keys.load())
    other = SigningKeyFile(path)
    other.write_next()
    other.promote_next()
    assert public(keys.load()) != old


def test_rotation_files(tmp_path: Path) -> None:
    keys = SigningKeyFile(tmp_path / "signing.key")
    current = public(keys.load())
    assert keys.read_next() is None
    pending = keys.write_next()
    again = keys.write_next()  # an abandoned pending key is replaced
    assert public(again) != public(pending)
    assert keys.read_next() is not None and public(keys.read_next()) == public(again)
    assert public(keys.load()) == current  # nothing changes until promoted
    keys.promote_next()
    assert public(keys.load()) == public(again)
    assert not keys.next_path.exists()
    assert stat.S_IMODE(keys.path.stat().st_mode) == 0o600


def test_a_file_of_the_wrong_length_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    path.write_bytes(os.urandom(31))
    with pytest.raises(ValueError, match="exactly 32 bytes"):
        SigningKeyFile(path).load()
