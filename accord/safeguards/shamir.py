"""k-of-n splitting of the node sealing key among custodians (Shamir secret sharing over GF(2^8)).

Why ``pyshamir`` for the arithmetic: it is a maintained port of HashiCorp Vault's ``shamir`` package
(per byte, GF(2^8) with the AES polynomial, distinct random non-zero x-coordinates, coefficients from
``secrets``), tested against Vault's own vectors. What it does not give, this module adds: a share
format that a custodian can keep as a file, and refusals that say what is wrong. Each share carries

- ``set``: a random id common to the shares of one split, so shares of two splits are never mixed;
- ``k``, ``n`` and ``index`` (1..n), so "2 shares given, 3 needed" is a sentence, not a wrong key;
- ``checksum``: SHA-256 over the share's other fields, so a corrupted or mistyped share is refused by
  name. It covers the share only, never the secret: k-1 shares must reveal nothing, and a hash of
  the key in every share would be one more thing to guess against.

Whether the restored key is the right one is answered by ``fingerprint`` (printed at split time and
checked at join time) and, when more than k shares are given, by checking that every share lies on
the polynomial the first k define. The checksum detects accidents, not a custodian who forges a
share: the fingerprint comparison does.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
import pyshamir

from accord.errors import Invalid

__all__ = ["FORMAT", "Share", "combine", "fingerprint", "split"]

FORMAT = "accord-seal-share"
_VERSION = 1


@dataclass(frozen=True)
class Share:
    """One custodian's part. ``data`` is pyshamir's part: one byte per secret byte, then the x-coordinate."""

    set_id: str
    k: int
    n: int
    index: int
    data: bytes

    def _fields(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": _VERSION,
            "set": self.set_id,
            "k": self.k,
            "n": self.n,
            "index": self.index,
            "share": self.data.hex(),
        }

    @property
    def checksum(self) -> str:
        return hashlib.sha256(orjson.dumps(self._fields(), option=orjson.OPT_SORT_KEYS)).hexdigest()

    def dumps(self) -> bytes:
        """The share file: one JSON object, keys sorted, with its checksum."""
        return orjson.dumps({**self._fields(), "checksum": self.checksum}, option=orjson.OPT_SORT_KEYS) + b"\n"

    @classmethod
    def loads(cls, text: bytes | str) -> Share:
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise Invalid.at("", "not a share file (not JSON)") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise Invalid.at("", f'not a share file (no "format": "{FORMAT}")')
        if doc.get("version") != _VERSION:
            raise Invalid.at("/version", f"share format version {doc.get('version')!r} is not supported")
        try:
            share = cls(
                set_id=_str(doc, "set"),
                k=_int(doc, "k"),
                n=_int(doc, "n"),
                index=_int(doc, "index"),
                data=bytes.fromhex(_str(doc, "share")),
            )
        except ValueError:
            raise Invalid.at("/share", "not hexadecimal") from None
        if doc.get("checksum") != share.checksum:
            raise Invalid.at("/checksum", "checksum mismatch: this share is damaged or was altered")
        if not 2 <= share.k <= share.n <= 255 or not 1 <= share.index <= share.n or len(share.data) < 2:
            raise Invalid.at("", "inconsistent share (k, n, index or length out of range)")
        return share


def _str(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str):
        raise Invalid.at(f"/{name}", "missing or not a string")
    return value


def _int(doc: dict[str, Any], name: str) -> int:
    value = doc.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid.at(f"/{name}", "missing or not an integer")
    return value


def split(secret: bytes, k: int, n: int) -> list[Share]:
    """n shares of ``secret``, any k of which restore it and any k-1 of which say nothing about it."""
    if not 2 <= k <= n <= 255:
        raise Invalid("need 2 <= k <= n <= 255", {"?k": f"k={k}, n={n}: need 2 <= k <= n <= 255"})
    if not secret:
        raise Invalid.at("", "nothing to split: the secret is empty")
    set_id = secrets.token_hex(8)
    parts = pyshamir.split(secret, n, k)
    return [Share(set_id, k, n, i + 1, bytes(p)) for i, p in enumerate(parts)]


def combine(shares: list[Share]) -> bytes:
    """The secret, from at least k shares of one split; refuses anything else with the reason."""
    if not shares:
        raise Invalid.at("", "no shares given")
    first = shares[0]
    for s in shares[1:]:
        if (s.set_id, s.k, s.n) != (first.set_id, first.k, first.n):
            raise Invalid.at(
                "", f"share {s.index} of set {s.set_id} does not belong with share {first.index} of set {first.set_id}"
            )
        if len(s.data) != len(first.data):
            raise Invalid.at("", f"share {s.index} has another length than share {first.index}")
    indexes = [s.index for s in shares]
    if len(set(indexes)) != len(indexes):
        raise Invalid.at("", f"the same share was given twice (index {_dup(indexes)})")
    xs = [s.data[-1] for s in shares]
    if len(set(xs)) != len(xs):
        raise Invalid.at("", "two shares have the same x-coordinate: one of them was altered")
    if len(shares) < first.k:
        raise Invalid.at("", f"{first.k} shares are needed to restore the key, {len(shares)} given")
    base = shares[: first.k]
    secret = bytes(pyshamir.combine([bytearray(s.data) for s in base]))
    for extra in shares[first.k :]:
        # every further share must lie on the same polynomial: swap it in for one of the first k
        again = bytes(pyshamir.combine([bytearray(s.data) for s in [*base[1:], extra]]))
        if again != secret:
            names = ", ".join(str(s.index) for s in base)
            raise Invalid.at(
                "", f"share {extra.index} disagrees with shares {names}: one of them was altered or forged"
            )
    return secret


def _dup(values: list[int]) -> int:
    seen: set[int] = set()
    for v in values:
        if v in seen:
            return v
        seen.add(v)
    raise AssertionError("no duplicate")  # pragma: no cover - only called when there is one


def fingerprint(key: bytes) -> str:
    """A short public name for a key (first 16 bytes of a domain-separated SHA-256), to compare a
    restored key with the one that was split without showing either."""
    return hashlib.sha256(b"accord seal key fingerprint\x00" + key).hexdigest()[:32]
