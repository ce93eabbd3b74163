"""A simulated world's transfers as native reports, so a node can hold them: a financial-intelligence
partner's reports, each carrying up to ``per_report`` transfers in time order (``transfers.ndjson`` keeps
instruments as identifier keys; a report carries them as identifiers, as a submitter would send them).

Why here and not in the world's ``reports.ndjson``: that file must stay byte-identical for a seed
(``accord.simulate.transfers``); the demo and benchmarks add these reports after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["identifier_of", "transfer_reports"]

Json = dict[str, Any]


def identifier_of(key: str) -> Json:
    """The payment identifier an identifier key names (``payment:iban/...``, ``payment:wallet/CHAIN/...``,
    ``payment:card-token/...``)."""
    kind, _, rest = key.partition(":")
    instrument, _, value = rest.partition("/")
    if kind != "payment" or not value:
        raise ValueError(f"not a payment identifier key: {key!r}")
    if instrument == "wallet":
        chain, _, address = value.partition("/")
        return {"kind": "payment", "instrument": "wallet", "chain": chain, "value": address}
    return {"kind": "payment", "instrument": instrument, "value": value}


def transfer_reports(transfers: Iterable[Json], per_report: int = 25) -> Iterator[Json]:
    """Native report documents (source ``partner``, category ``other``) carrying the transfers in order."""
    batch: list[Json] = []
    n = 0

    def report() -> Json:
        carried = [
            {
                "reference": t["id"],
                "at": t["at"],
                "from": identifier_of(t["from"]),
                "to": identifier_of(t["to"]),
                "amount": t["amount"],
                "currency": t["currency"],
                **{k: t[k] for k in ("rail", "from_country", "to_country") if t.get(k)},
            }
            for t in batch
        ]
        return {
            "external_id": f"fin-{n:07d}",
            "source": "partner",
            "received_at": batch[-1]["at"],
            "incident_type": "other",
            "marking": "AMBER",
            "transfers": carried,
        }

    for t in transfers:
        batch.append(t)
        if len(batch) == per_report:
            n += 1
            yield report()
            batch = []
    if batch:
        n += 1
        yield report()
