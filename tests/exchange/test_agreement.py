from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import ValidationError

from accord.exchange.agreement import ObjectMeta, Refusal, SignedAgreement, check_incoming, check_outgoing
from accord.exchange.identity import IdentityDocument, NodeIdentity
from accord.model.agreement import Agreement, AgreementIn
from tests.exchange.conftest import T0, make_agreement

OK = ObjectMeta("node_platform", "node_hotline", "takedown", "GREEN", "csam")


@pytest.mark.parametrize("check", [check_outgoing, check_incoming])
def test_an_object_within_every_clause_passes(ph: Agreement, check: object) -> None:
    assert check(ph, OK, T0) is None  # type: ignore[operator]
    assert check(ph, replace(OK, marking="AMBER"), T0) is None  # type: ignore[operator]


@pytest.mark.parametrize("check", [check_outgoing, check_incoming])
@pytest.mark.parametrize(
    ("meta", "at", "clause", "detail"),
    [
        (replace(OK, marking="RED"), T0, "max_marking", "TLP:RED above TLP:AMBER"),
        (replace(OK, marking="AMBER+STRICT"), T0, "max_marking", "TLP:AMBER+STRICT above TLP:AMBER"),
        (replace(OK, marking="PURPLE"), T0, "max_marking", "unknown marking"),
        (replace(OK, category="extortion"), T0, "categories", "'extortion' is not allowed"),
        (replace(OK, purpose="marketing"), T0, "purposes", "'marketing' is not one of"),
        (OK, T0 - timedelta(days=2), "valid_from", "not valid before"),
        (OK, T0 + timedelta(days=366), "valid_until", "expired"),
        (replace(OK, sender="node_police"), T0, "parties", "sender node node_police"),
        (replace(OK, recipient="node_police"), T0, "parties", "recipient node node_police"),
        (replace(OK, recipient="node_platform"), T0, "parties", "both speak for org_platform"),
    ],
)
def test_each_refusal_names_its_clause(
    ph: Agreement, check: object, meta: ObjectMeta, at: object, clause: str, detail: str
) -> None:
    refusal = check(ph, meta, at)  # type: ignore[operator]
    assert isinstance(refusal, Refusal)
    assert refusal.clause == clause
    assert detail in refusal.detail
    assert str(refusal).startswith(f"{clause}: ")


def test_onward_sharing_follows_the_agreement_the_object_came_under(ph: Agreement, hp: Agreement) -> None:
    onward = ObjectMeta("node_hotline", "node_police", "takedown", "GREEN", "csam", received_under=hp)
    # the police received it under hp (no onward sharing) and pass it back to the hotline: not onward
    back = ObjectMeta("node_police", "node_hotline", "takedown", "GREEN", "csam", received_under=hp)
    assert check_outgoing(hp, back, T0) is None
    # the hotline received it under ph, which allows onward sharing
    assert check_outgoing(hp, replace(onward, received_under=ph), T0) is None
    strict = ph.model_copy(update={"onward_sharing": False})
    refusal = check_outgoing(hp, replace(onward, received_under=strict), T0)
    assert refusal == Refusal(
        "onward_sharing", "the object was received under agreement agr_ph, which forbids onward sharing"
    )


def test_both_parties_sign_and_each_can_verify(
    ph: Agreement, platform: NodeIdentity, hotline: NodeIdentity, peers: dict[str, IdentityDocument]
) -> None:
    signed = SignedAgreement(ph).sign(platform).sign(hotline)
    assert signed.verify(peers) == ph
    again = SignedAgreement.from_json(signed.to_json())
    assert again == signed and again.verify(peers) == ph
    with pytest.raises(ValueError, match="not signed for org_hotline"):
        SignedAgreement(ph).sign(platform).verify(peers)


def test_a_signature_over_other_terms_fails(
    ph: Agreement, platform: NodeIdentity, hotline: NodeIdentity, peers: dict[str, IdentityDocument]
) -> None:
    signed = SignedAgreement(ph).sign(platform).sign(hotline)
    widened = SignedAgreement(ph.model_copy(update={"max_marking": "RED"}), signed.signatures)
    with pytest.raises(ValueError, match="does not verify"):
        widened.verify(peers)


def test_only_party_nodes_sign(ph: Agreement, police: NodeIdentity, peers: dict[str, IdentityDocument]) -> None:
    with pytest.raises(ValueError, match="speaks for no party"):
        SignedAgreement(ph).sign(police)
    forged = SignedAgreement(ph).sign(_as("node_platform", police))
    with pytest.raises(ValueError, match="not by a known party node key"):
        forged.verify(peers)


def _as(node_id: str, identity: NodeIdentity) -> NodeIdentity:
    """The police's key under the platform's node id: a signature peers cannot tie to the platform."""
    return NodeIdentity(replace(identity.document, node_id=node_id), identity.private_key)


def test_a_signature_by_a_key_since_retired_still_verifies(ph: Agreement) -> None:
    platform = NodeIdentity.generate(T0 - timedelta(days=30), "node_platform")
    hotline = NodeIdentity.generate(T0 - timedelta(days=30), "node_hotline")
    signed = SignedAgreement(ph).sign(platform).sign(hotline)
    retired = replace(platform.document.current, not_after=T0)
    rotated = replace(platform.document, keys=(retired, *NodeIdentity.generate(T0).document.keys))
    assert signed.verify({"node_platform": rotated, "node_hotline": hotline.document}) == ph
    # a key retired before the agreement existed cannot have signed it
    early = replace(platform.document.current, not_after=ph.created_at - timedelta(days=1))
    stale = replace(platform.document, keys=(early, *NodeIdentity.generate(T0).document.keys))
    with pytest.raises(ValueError, match="not current while the agreement was"):
        signed.verify({"node_platform": stale, "node_hotline": hotline.document})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_marking": "PURPLE"}, "unknown markings code 'PURPLE'"),
        ({"categories": ["csam", "nope"]}, "unknown categories code 'nope'"),
        ({"legal_bases": ["whim"]}, "unknown legal_bases code 'whim'"),
        ({"jurisdictions": ["XX"]}, "unknown jurisdictions code 'XX'"),
        ({"nodes": {"org_other": ["node_x"]}}, "not a party"),
        ({"nodes": {"org_platform": ["node_x"], "org_hotline": ["node_x"]}}, "more than one party"),
        ({"valid_until": "2025-01-01T00:00:00Z"}, "valid_until must be after valid_from"),
        ({"parties": ["org_platform", "org_platform"]}, "parties must not repeat"),
    ],
)
def test_agreement_terms_are_checked_against_the_vocabularies(change: dict[str, object], message: str) -> None:
    terms = {
        "parties": ["org_platform", "org_hotline"],
        "purposes": ["takedown"],
        "legal_bases": ["mou"],
        "max_marking": "AMBER",
        "retention_days": 30,
        "valid_from": "2026-01-01T00:00:00Z",
        **change,
    }
    with pytest.raises(ValidationError, match=message):
        AgreementIn.model_validate(terms)


def test_a_signed_agreement_from_a_peer_is_validated_too(ph: Agreement, platform: NodeIdentity) -> None:
    data = json.loads(SignedAgreement(ph).sign(platform).to_json())
    data["agreement"]["max_marking"] = "PURPLE"
    with pytest.raises(ValueError, match="unknown markings code"):
        SignedAgreement.from_json(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
    with pytest.raises(ValueError, match="canonical form"):
        SignedAgreement.from_json(json.dumps(data).encode())


def test_the_existing_fields_keep_their_shape() -> None:
    """Existing callers (the agreements table's columns) still build an agreement without the new fields."""
    old = make_agreement("agr_old", {"org_a": "node_a", "org_b": "node_b"})
    bare = Agreement.model_validate(old.model_dump(exclude={"nodes", "categories", "jurisdictions"}))
    assert bare.nodes == {} and bare.categories == [] and bare.jurisdictions == []
    # fail closed: an agreement that lists no category or node lets nothing through
    assert check_outgoing(bare, ObjectMeta("node_a", "node_b", "takedown", "GREEN", "csam"), T0) == Refusal(
        "parties", "sender node node_a speaks for no party to agreement agr_old"
    )
