"""Three nodes (a platform, a hotline, a police agency) and the agreements between them, all in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accord.exchange.identity import IdentityDocument, NodeIdentity
from accord.ids import OrgId
from accord.model.agreement import Agreement

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def make_agreement(
    agreement_id: str, parties: dict[str, str], *, onward_sharing: bool = False, **terms: object
) -> Agreement:
    """An agreement between ``parties`` (org id -> its node id), valid for a year from a day before T0."""
    fields: dict[str, object] = {
        "id": agreement_id,
        "parties": [OrgId(o) for o in parties],
        "nodes": {OrgId(o): [n] for o, n in parties.items()},
        "purposes": ["victim-identification", "takedown"],
        "legal_bases": ["eu-dsa-18", "mou"],
        "categories": ["csam", "grooming"],
        "jurisdictions": ["NL", "DE"],
        "max_marking": "AMBER",
        "retention_days": 365,
        "onward_sharing": onward_sharing,
        "valid_from": T0 - timedelta(days=1),
        "valid_until": T0 + timedelta(days=365),
        "created_at": T0 - timedelta(days=2),
    }
    fields.update(terms)
    return Agreement.model_validate(fields)


@pytest.fixture
def platform() -> NodeIdentity:
    return NodeIdentity.generate(T0 - timedelta(days=30), "node_platform")


@pytest.fixture
def hotline() -> NodeIdentity:
    return NodeIdentity.generate(T0 - timedelta(days=30), "node_hotline")


@pytest.fixture
def police() -> NodeIdentity:
    return NodeIdentity.generate(T0 - timedelta(days=30), "node_police")


@pytest.fixture
def peers(platform: NodeIdentity, hotline: NodeIdentity, police: NodeIdentity) -> dict[str, IdentityDocument]:
    return {i.node_id: i.document for i in (platform, hotline, police)}


@pytest.fixture
def ph() -> Agreement:
    """Platform to hotline; the hotline may pass objects on."""
    return make_agreement(
        "agr_ph", {"org_platform": "node_platform", "org_hotline": "node_hotline"}, onward_sharing=True
    )


@pytest.fixture
def hp() -> Agreement:
    """Hotline to police."""
    return make_agreement("agr_hp", {"org_hotline": "node_hotline", "org_police": "node_police"})
