"""A payment transfer a report carries: money moving from one payment instrument to another, as the
sender saw it (a bank's or a payment platform's report of a payment, for example).

Why instruments are ``Identifier``s and not free strings: the same IBAN, card token or wallet address must
compare equal whoever reported it, and a money trace follows an instrument from one report's transfers to
another's, so both ends are normalised as every identifier is (``Identifier.key``).

Amounts are kept as sent, in their currency; a money run prices them in euros at the rate of the
transfer's date (``accord.graph.money``), so a transfer in a currency the rates table does not know is
stored and only counted as unpriced there.
"""

from __future__ import annotations

import math

from pydantic import Field, field_validator

from accord.model.base import Inbound, UtcDatetime
from accord.model.identifier import Identifier, IdentifierKind

__all__ = ["TransferIn"]


class TransferIn(Inbound):
    reference: str | None = Field(
        default=None, min_length=1, max_length=200, description="the sender's own id of the transfer"
    )
    at: UtcDatetime = Field(description="when the money moved")
    from_: Identifier = Field(alias="from", description="the paying instrument (a payment identifier)")
    to: Identifier = Field(description="the receiving instrument (a payment identifier)")
    amount: float = Field(gt=0, description="in ``currency``, as sent")
    currency: str = Field(pattern="^[A-Z0-9]{3,10}$", description="ISO 4217 code, or a crypto-asset code (BTC, ETH)")
    rail: str | None = Field(default=None, max_length=40, description="bank, card, crypto, ...")
    from_country: str | None = Field(default=None, pattern="^[A-Z]{2}$")
    to_country: str | None = Field(default=None, pattern="^[A-Z]{2}$")

    model_config = {**Inbound.model_config, "populate_by_name": True}

    @field_validator("from_", "to")
    @classmethod
    def _payment(cls, value: Identifier) -> Identifier:
        if value.kind is not IdentifierKind.payment:
            raise ValueError(f"a transfer's instrument is a payment identifier, not {value.kind.value}")
        return value

    @field_validator("amount")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("amount must be a finite number")
        return value
