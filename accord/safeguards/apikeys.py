"""API keys: ``accord_<key id>_<secret>``. Only an argon2id hash of the secret is stored.

Why a key id in the token: the server finds the one credential row by id instead of trying a slow
argon2 verification against every stored hash. Why a verified-secret cache: argon2 is deliberately
slow (tens of ms); re-verifying it on every request would cap the API far below what intake needs.
The cache holds a SHA-256 of secrets already verified, never the secret, and revocation or expiry is
still checked against the stored row on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["KeyVerifier", "ParsedKey", "format_key", "new_secret", "parse_key"]

PREFIX = "accord"


@dataclass(frozen=True)
class ParsedKey:
    key_id: str
    secret: str


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def format_key(key_id: str, secret: str) -> str:
    return f"{PREFIX}_{key_id}_{secret}"


def parse_key(token: str) -> ParsedKey | None:
    parts = token.split("_", 3)
    # key ids look like key_<ULID>, so the token is accord_key_<ULID>_<secret>
    if len(parts) != 4 or parts[0] != PREFIX or parts[1] != "key" or not parts[2] or not parts[3]:
        return None
    return ParsedKey(f"key_{parts[2]}", parts[3])


class KeyVerifier:
    """Hashes new secrets and verifies presented ones. The hasher is injected so that a node's argon2
    cost is a deployment choice (and tests can run with a cheap one) instead of a module global."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._verified: dict[str, bytes] = {}
        self._key_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._decoy: str | None = None

    def hash(self, secret: str) -> str:
        return self._hasher.hash(secret)

    def verify(self, key_id: str, secret: str, stored_hash: str) -> bool:
        digest = hashlib.sha256(f"{key_id}\0{secret}\0{stored_hash}".encode()).digest()
        if self._known(key_id, digest):
            return True
        # One argon2 run per key at a time: when 200 connections arrive with the same new key, the others
        # wait for the first verification instead of each burning half a second of CPU (measured: a
        # cold server answered nothing for 10 s under that herd).
        with self._lock:
            key_lock = self._key_locks.setdefault(key_id, threading.Lock())
        with key_lock:
            if self._known(key_id, digest):
                return True
            try:
                self._hasher.verify(stored_hash, secret)
            except (VerificationError, InvalidHashError):
                return False
            with self._lock:
                self._verified[key_id] = digest
        return True

    def _known(self, key_id: str, digest: bytes) -> bool:
        with self._lock:
            known = self._verified.get(key_id)
        return known is not None and hmac.compare_digest(known, digest)

    def forget(self, key_id: str) -> None:
        with self._lock:
            self._verified.pop(key_id, None)

    def check(self, secret: str, stored_hash: str) -> bool:
        """Verify a person's password: no cache, so every sign-in attempt pays the full argon2 cost
        (which is what slows a guesser down; sign-ins are rare, API requests are not)."""
        try:
            return self._hasher.verify(stored_hash, secret)
        except (VerificationError, InvalidHashError):
            return False

    def check_nothing(self, secret: str) -> None:
        """Spend what ``check`` would for an account that does not exist, so the answer's timing does
        not tell a valid identifier from an invalid one."""
        with self._lock:
            if self._decoy is None:
                self._decoy = self._hasher.hash(secrets.token_urlsafe(16))
            decoy = self._decoy
        self.check(secret, decoy)
