"""Media are handled as hashes and metadata only: Accord never stores or fetches the content."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from accord.model.base import Inbound

__all__ = ["Media"]

Hex32 = Annotated[str, StringConstraints(pattern="^[0-9a-fA-F]{32}$", to_lower=True)]
Hex64 = Annotated[str, StringConstraints(pattern="^[0-9a-fA-F]{64}$", to_lower=True)]


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
