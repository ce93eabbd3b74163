"""The 64-bit lookup hash behind the identifier index."""

from __future__ import annotations

from functools import lru_cache
from hashlib import blake2b

__all__ = ["key_hash"]


@lru_cache(maxsize=1 << 16)
def key_hash(org_id: str, key: str) -> int:
    """A signed 64-bit hash of an organisation's identifier key (fits BIGINT on both backends).

    Only an index aid: lookups compare org_id and key on the row as well. Cached because bulk intake
    hashes every distinct key of every batch and most keys recur from batch to batch."""
    digest = blake2b(f"{org_id}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
