"""MD5 and SHA-256 in one pass equal hashlib's digests of the whole content, whatever the chunk size."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from accord.signals.files import digest_file, digest_stream

CONTENT = bytes(range(256)) * 5000 + b"tail"


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_stream_digests(chunk: int) -> None:
    data = CONTENT if chunk > 1 else CONTENT[:3000]
    digests = digest_stream(io.BytesIO(data), chunk)
    assert digests.md5 == hashlib.md5(data).hexdigest()
    assert digests.sha256 == hashlib.sha256(data).hexdigest()
    assert digests.size == len(data)


def test_file_digests(tmp_path: Path) -> None:
    path = tmp_path / "media.bin"
    path.write_bytes(CONTENT)
    assert digest_file(path) == (hashlib.md5(CONTENT).hexdigest(), hashlib.sha256(CONTENT).hexdigest(), len(CONTENT))


def test_empty_stream() -> None:
    assert digest_stream(io.BytesIO(b"")).sha256 == hashlib.sha256(b"").hexdigest()
