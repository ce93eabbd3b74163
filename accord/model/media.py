"""Media are handled as hashes and metadata only: Accord never stores or fetches the content."""

from __future__ import annotations

from pydantic import Field, model_validator

from accord.model.base import Inbound

__all__ = ["Media"]


class Media(Inbound):
    md5: str | None = Field(default=None, pattern="^[0-9a-fA-F]{32}$")
    sha256: str | None = Field(default=None, pattern="^[0-9a-fA-F]{64}$")
    pdq: str | None = Field(default=None, pattern="^[0-9a-fA-F]{64}$", description="PDQ hash, 256 bits as hex")
    pdq_quality: int | None = Field(default=None, ge=0, le=100)
    size: int | None = Field(default=None, ge=0)
    mime: str | None = Field(default=None, pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=100)

    @model_validator(mode="after")
    def _needs_a_hash(self) -> Media:
        if not (self.md5 or self.sha256 or self.pdq):
            raise ValueError("media needs at least one of md5, sha256, pdq")
        for name in ("md5", "sha256", "pdq"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, value.lower())
        return self
