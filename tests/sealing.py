"""An organisation set up for unsealing over HTTP: roles, registered custodians, a sealed report, a warrant.

Shared by the API tests, the canary scan and the cross-tenant sweep, so each builds the same world
through the same routes a real deployment uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from accord.model.organisation import Role
from accord.safeguards import approvals
from tests.conftest import World, auth, report_json

NARRATIVE = "CANARY-UNSEAL-NARRATIVE-4b71c0"
VICTIM = "canary-unseal-victim-93d2@example.org"
SUSPECT = "suspect-unseal@example.org"
DOCUMENT_SHA256 = "ab" * 32


@dataclass
class CustodianKey:
    token: str
    actor_id: str
    custodian_id: str
    private: Ed25519PrivateKey


@dataclass
class SealOrg:
    org_id: str
    admin: str
    analyst: str
    investigator: str
    supervisor: str
    auditor: str
    custodians: list[CustodianKey] = field(default_factory=list)
    report_id: str = ""
    warrant_id: str = ""


def sealed_report(ext: str, narrative: str = NARRATIVE, victim: str = VICTIM, suspect: str = SUSPECT) -> dict[str, Any]:
    return report_json(
        ext,
        narrative=narrative,
        subjects=[
            {"role": "suspect", "identifiers": [{"kind": "email", "value": suspect}]},
            {"role": "victim", "identifiers": [{"kind": "email", "value": victim}]},
        ],
    )


def warrant_body(
    report_ids: list[str] | None = None,
    fields: list[str] | None = None,
    *,
    identifiers: list[dict[str, str]] | None = None,
    valid_from: str = "2026-11-01T00:00:00Z",
    valid_until: str = "2026-12-31T00:00:00Z",
) -> dict[str, Any]:
    return {
        "issuing_authority": "District Court (synthetic)",
        "reference": "W-2026-0042",
        "scope": {
            "report_ids": report_ids or [],
            "identifiers": identifiers or [],
            "fields": fields or ["/narrative", "/subjects"],
        },
        "valid_from": valid_from,
        "valid_until": valid_until,
        "document_sha256": DOCUMENT_SHA256,
    }


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:400]}"
    return r.json()


def add_custodian(client: TestClient, world: World, org: SealOrg) -> CustodianKey:
    token = world.key(org.org_id, [Role.custodian])
    actor_id = world.actor(token).id
    pem, public = approvals.new_signing_key()
    reg = ok(
        client.post("/v1/custodians", json={"actor_id": actor_id, "public_key": public}, headers=auth(org.admin)), 201
    )
    key = CustodianKey(token, actor_id, reg["id"], approvals.load_signing_key(pem))
    org.custodians.append(key)
    return key


def setup_org(client: TestClient, world: World, name: str, custodians: int = 3, ext: str = "sealed-1") -> SealOrg:
    org_id, admin = world.org(name, [Role.admin])
    org = SealOrg(
        org_id=org_id,
        admin=admin,
        analyst=world.key(org_id, [Role.analyst]),
        investigator=world.key(org_id, [Role.investigator]),
        supervisor=world.key(org_id, [Role.supervisor]),
        auditor=world.key(org_id, [Role.auditor]),
    )
    for _ in range(custodians):
        add_custodian(client, world, org)
    org.report_id = ok(client.post("/v1/reports", json=sealed_report(ext), headers=auth(org.analyst)), 201)["id"]
    org.warrant_id = ok(
        client.post("/v1/warrants", json=warrant_body([org.report_id]), headers=auth(org.investigator)), 201
    )["id"]
    return org


def approval(req: dict[str, Any], who: CustodianKey, signer: Ed25519PrivateKey | None = None) -> dict[str, str]:
    """The body a custodian posts: their registration and a signature of the request's approval message."""
    message = approvals.approval_message(
        request_id=req["id"],
        nonce=req["nonce"],
        warrant_id=req["warrant_id"],
        report_id=req["report_id"],
        fields=req["fields"],
        custodian_id=who.custodian_id,
        approver_id=who.actor_id,
    )
    return {"custodian_id": who.custodian_id, "signature": approvals.sign(signer or who.private, message)}


def review(req: dict[str, Any], who: CustodianKey, outcome: str = "upheld") -> dict[str, str]:
    message = approvals.review_message(
        request_id=req["id"],
        nonce=req["nonce"],
        outcome=outcome,
        custodian_id=who.custodian_id,
        approver_id=who.actor_id,
    )
    return {"custodian_id": who.custodian_id, "outcome": outcome, "signature": approvals.sign(who.private, message)}


def ask(client: TestClient, org: SealOrg, fields: list[str] | None = None, token: str | None = None) -> dict[str, Any]:
    body = {"warrant_id": org.warrant_id, "report_id": org.report_id, "fields": fields or ["/narrative", "/subjects/1"]}
    out: dict[str, Any] = ok(
        client.post("/v1/unseal-requests", json=body, headers=auth(token or org.investigator)), 201
    )
    return out


def approve_by(client: TestClient, req: dict[str, Any], *who: CustodianKey) -> dict[str, Any]:
    out: dict[str, Any] = req
    for c in who:
        out = ok(
            client.post(f"/v1/unseal-requests/{req['id']}/approvals", json=approval(req, c), headers=auth(c.token)), 201
        )
    return out
