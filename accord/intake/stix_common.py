"""What the STIX 2.1 importer and exporter share: the TLP 2.0 marking definitions published by OASIS,
the names of Accord's custom properties, and how deterministic ids are made.

Why one module: the exporter writes these names and the importer reads them back; a rename on one side
only would silently break the round trip. The mapping is documented in docs/formats/stix.md.
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = [
    "CONTAINER_TYPES",
    "NAMESPACE",
    "PDQ_HASH",
    "TLP1_IDS",
    "TLP2_IDS",
    "TLP_EXTENSION",
    "TLP_ORDER",
    "X_COUNTRY",
    "X_EXTERNAL_ID",
    "X_INCIDENT_TYPE",
    "X_PDQ_QUALITY",
    "X_RECEIVED_AT",
    "X_SOURCE",
    "X_SUBJECTS",
    "X_TIMEZONE",
    "X_URGENCY",
    "agreement_statement",
    "stix_id",
    "tlp2_definition",
]

# Namespace of Accord's UUIDv5 ids (never the STIX SCO namespace 00abedb4-..., which the spec reserves
# for ids computed from an SCO's contributing properties).
NAMESPACE = uuid.UUID("e3e1e07f-a65e-4688-9e71-de21d4b27c46")

# TLP 2.0 as published by OASIS (cti-stix-common-objects, extension-definition-specifications/tlp-2.0):
# fixed ids, all created 2022-10-01, carrying the level in a property extension.
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_IDS = {
    "CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# TLP 1.0 (STIX 2.1 section 7.2.1.4), still common in partners' bundles; WHITE became CLEAR.
TLP1_IDS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "CLEAR",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "GREEN",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "AMBER",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "RED",
}
TLP_ORDER = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")  # least to most restricted

CONTAINER_TYPES = frozenset({"grouping", "report"})

# Custom properties (x_accord_ prefix) for what STIX cannot express; all on the container except the
# PDQ quality, which belongs to its file.
X_SOURCE = "x_accord_source"
X_INCIDENT_TYPE = "x_accord_incident_type"
X_URGENCY = "x_accord_urgency"
X_EXTERNAL_ID = "x_accord_external_id"
X_RECEIVED_AT = "x_accord_received_at"
X_COUNTRY = "x_accord_country"
X_TIMEZONE = "x_accord_timezone"
X_SUBJECTS = "x_accord_subjects"
X_PDQ_QUALITY = "x_accord_pdq_quality"
# PDQ is not in hash-algorithm-ov; the validator accepts custom hash names that start with "x_".
PDQ_HASH = "x_pdq"


def stix_id(kind: str, *parts: str) -> str:
    """A stable id: the same report exported twice gives the same objects with the same ids."""
    return f"{kind}--{uuid.uuid5(NAMESPACE, '/'.join((kind, *parts)))}"


def tlp2_definition(code: str) -> dict[str, Any]:
    """The OASIS TLP 2.0 marking-definition object for an Accord marking code, exactly as published."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_IDS[code],
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{code}",
        "extensions": {TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": code.lower()}},
    }


def agreement_statement(agreement_id: str) -> str:
    return f"accord-agreement:{agreement_id}"
