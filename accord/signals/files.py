"""MD5 and SHA-256 of a file or stream in one pass: the exact-match hashes platforms and hotlines exchange.

Why both at once: hash lists still arrive as MD5 (NCMEC, older hotline exports) while newer ones use
SHA-256; reading a large video once for both halves the I/O, and hashlib releases the GIL on big chunks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO, NamedTuple

__all__ = ["CHUNK", "FileDigests", "digest_file", "digest_stream"]

CHUNK = 1 << 20


class FileDigests(NamedTuple):
    md5: str
    sha256: str
    size: int


def digest_stream(stream: BinaryIO, chunk: int = CHUNK) -> FileDigests:
    """Both digests (lowercase hex) and the byte count of what remains in ``stream``."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha256 = hashlib.sha256()
    size = 0
    while block := stream.read(chunk):
        md5.update(block)
        sha256.update(block)
        size += len(block)
    return FileDigests(md5.hexdigest(), sha256.hexdigest(), size)


def digest_file(path: Path, chunk: int = CHUNK) -> FileDigests:
    with path.open("rb") as fh:
        return digest_stream(fh, chunk)
