"""Base classes shared by the domain models."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

__all__ = ["Inbound", "Outbound", "UtcDatetime"]


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp needs a time zone (use Z or +hh:mm)")
    return value.astimezone(UTC)


_NUMERIC = re.compile(r"^\s*[+-]?\d+(\.\d+)?\s*$")


def _no_numbers(value: object) -> object:
    # pydantic would read 5 or "5" as 1970-01-01T00:00:05Z; a number from a partner is a bug, not a time
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMERIC.match(value)):
        raise ValueError("timestamp must be an ISO 8601 string with a time zone")
    return value


UtcDatetime = Annotated[datetime, BeforeValidator(_no_numbers), AfterValidator(_to_utc)]
"""A timestamp that must carry its zone and is stored in UTC: a naive time from a partner is ambiguous."""


class Inbound(BaseModel):
    """What a caller sends: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Outbound(BaseModel):
    """What Accord returns or stores."""

    model_config = ConfigDict(frozen=True)
