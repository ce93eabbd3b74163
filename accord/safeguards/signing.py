"""The node's Ed25519 signing key for custody checkpoints, kept in a file (``ACCORD_SIGNING_KEY_FILE``).

The file holds the 32-byte Ed25519 private key (the seed), nothing else, mode 0600, like the sealing key
beside it. It is created on first use. Why a raw seed and not a C2SP ``PRIVATE+KEY+name+...`` string:
the key's note name is the log's origin, which names the operator organisation and exists only once
the node is initialised; the name is added when a checkpoint is signed (``accord.custody.note.Signer``).

Rotation writes the next key beside the current one (``<file>.next``) before the database learns of
it, and only then moves it into place, so a crash at any point leaves either the old key in use or a
next key that the service finishes installing (``accord.services.custody``). ``load`` re-reads the file
when it changes on disk, so a server keeps signing with the current key after ``accord custody
rotate-key`` ran in another process.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

__all__ = ["SigningKeyFile"]

_SEED = 32


def _seed(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def _read(path: Path) -> Ed25519PrivateKey:
    data = path.read_bytes()
    if len(data) != _SEED:
        raise ValueError(f"{path}: a signing key file holds exactly 32 bytes (an Ed25519 seed), found {len(data)}")
    return Ed25519PrivateKey.from_private_bytes(data)


def _write_new(path: Path, key: Ed25519PrivateKey) -> None:
    """Write ``key`` to ``path`` only if nothing is there: a partly written file is never visible under the
    final name (written beside it, then hard-linked, which fails if another process won the race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_seed(key))
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _sync_dir(path.parent)


def _sync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class SigningKeyFile:
    """The key file and its pending successor. Thread-safe; caches the key until the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cached: tuple[tuple[int, int, int], Ed25519PrivateKey] | None = None

    @property
    def next_path(self) -> Path:
        return self.path.with_name(self.path.name + ".next")

    def load(self) -> Ed25519PrivateKey:
        """The current key, created (mode 0600) if there is none yet."""
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                with contextlib.suppress(FileExistsError):  # another process created it first: read theirs
                    _write_new(self.path, Ed25519PrivateKey.generate())
                st = self.path.stat()
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            if self._cached is None or self._cached[0] != stamp:
                self._cached = (stamp, _read(self.path))
            return self._cached[1]

    def write_next(self) -> Ed25519PrivateKey:
        """A fresh key, written durably to ``next_path`` (replacing an abandoned one)."""
        key = Ed25519PrivateKey.generate()
        self.next_path.unlink(missing_ok=True)
        _write_new(self.next_path, key)
        return key

    def read_next(self) -> Ed25519PrivateKey | None:
        try:
            return _read(self.next_path)
        except FileNotFoundError:
            return None

    def promote_next(self) -> None:
        """Make the pending key the current one (atomic rename); the old key's file is gone afterwards."""
        with self._lock:
            os.replace(self.next_path, self.path)
            _sync_dir(self.path.parent)
            self._cached = None
