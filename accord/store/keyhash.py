"""The 64-bit lookup hash behind the identifier index."""

from __future__ import annotations

from hashlib import blake2b

__all__ = ["key_hash"]


def key_hash(org_id: str, key: str) -> int:
    """A signed 64-bit hash of an organisation's identifier key (fits BIGINT on both backends).

    Only an index aid: lookups compare org_id and key on the row as well."""
    digest = blake2b(f"{org_id}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
