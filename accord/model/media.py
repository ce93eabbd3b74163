"""Media are handled as hashes and metadata only: Accord never stores or fetches the content."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from accord.model.base import Inbound

__all__ = ["HASHES", "Media"]

Hex32 = Annotated[str, StringConstraints(pattern="^[0-9a-fA-F]{32}$", to_lower=True)]
Hex64 = Annotated[str, StringConstraints(pattern="^[0-9a-fA-F]{64}$", to_lower=True)]

HASHES = ("md5", "sha256", "pdq")
"""The hashes a medium is known by, in the order ``Media.keys`` lists them."""


class Media(Inbound):
    md5: Hex32 | None = None
    sha256: Hex64 | None = None
    pdq: Hex64 | None = Field(default=None, description="PDQ hash, 256 bits as hex")
    pdq_quality: int | None = Field(default=None, ge=0, le=100)
    size: int | None = Field(default=None, ge=0)
    mime: str | None = Field(default=None, pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=100)

    @model_validator(mode="after")
    def _needs_a_hash(self) -> Media:
        if not (self.md5 or self.sha256 or self.pdq):
            raise ValueError("media needs at least one of md5, sha256, pdq")
        return self

    @property
    def keys(self) -> tuple[str, ...]:
        """``md5:<hex>``, ``sha256:<hex>``, ``pdq:<hex>`` for the hashes it has: the form that links and
        search compare, as ``Identifier.key`` is for identifiers (hex is lower-cased on the way in). PDQ is
        compared exactly here; near matches are the matcher's work, not the index's."""
        keys = []
        if self.md5:
            keys.append(f"md5:{self.md5}")
        if self.sha256:
            keys.append(f"sha256:{self.sha256}")
        if self.pdq:
            keys.append(f"pdq:{self.pdq}")
        return tuple(keys)
