"""A bank as a STIX 2.1 bundle: the owner's identity, the bank's TLP 2.0 marking, and one indicator per
entry with an equality pattern (file hashes, URLs) or, for a URL prefix, a LIKE pattern on both schemes.

PDQ entries use the custom hash name ``x_pdq`` (``accord.intake.stix_common.PDQ_HASH``), and say in
``x_accord_pdq_threshold`` that they match by distance within the bank's threshold, not by equality: a
consumer that reads the pattern literally finds only identical images, which is never wrong, only narrow.
Ids are deterministic (UUIDv5 of bank and entry), so exporting twice gives the same objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from accord.intake.stix_common import PDQ_HASH, TLP2_IDS, stix_id, tlp2_definition
from accord.model.bank import Bank, Entry

__all__ = ["X_BANK", "X_PDQ_THRESHOLD", "bundle", "pattern"]

X_BANK = "x_accord_bank"
X_PDQ_THRESHOLD = "x_accord_pdq_threshold"


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pattern(bank_type: str, value: str) -> str:
    if bank_type == "md5":
        return f"[file:hashes.MD5 = {_quoted(value)}]"
    if bank_type == "sha256":
        return f"[file:hashes.'SHA-256' = {_quoted(value)}]"
    if bank_type == "pdq":
        return f"[file:hashes.{PDQ_HASH} = {_quoted(value)}]"
    if bank_type == "url":
        if "://" in value:
            return f"[url:value = {_quoted(value)}]"
        like = value.replace("%", "\\%").replace("_", "\\_")
        return (
            f"[url:value LIKE {_quoted('http://' + like + '%')} OR url:value LIKE {_quoted('https://' + like + '%')}]"
        )
    raise ValueError(f"no STIX pattern for signal type {bank_type!r}")


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def bundle(bank: Bank, entries: Sequence[Entry]) -> dict[str, Any]:
    marks = [TLP2_IDS[bank.marking]]
    identity_id = stix_id("identity", "org", bank.org_id)
    created = _stamp(bank.created_at)
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id,
        "created": created,
        "modified": created,
        "name": bank.org_id,
        "identity_class": "organization",
    }
    indicators = []
    for e in entries:
        at = _stamp(e.added_at)
        ind: dict[str, Any] = {
            "type": "indicator",
            "spec_version": "2.1",
            "id": stix_id("indicator", bank.id, str(e.id)),
            "created_by_ref": identity_id,
            "created": at,
            "modified": at,
            "name": f"{bank.name} entry {e.id}",
            "indicator_types": ["malicious-activity"],
            "pattern": pattern(bank.type, e.value),
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": at,
            "object_marking_refs": marks,
            X_BANK: bank.id,
        }
        if bank.type == "pdq":
            ind[X_PDQ_THRESHOLD] = bank.threshold
        indicators.append(ind)
    return {
        "type": "bundle",
        "id": stix_id("bundle", bank.id, str(bank.version)),
        "objects": [tlp2_definition(bank.marking), identity, *indicators],
    }
