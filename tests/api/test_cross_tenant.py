"""Every route, every method, with another organisation's ids (RELIABILITY I1, reduced).

Organisations B and C store reports, cases and keys over HTTP. Then organisation A's analyst,
investigator, admin and auditor keys call every route the app serves (enumerated from the app, so a new
route is swept without editing this file), once with each of B's and C's ids of the kind the path needs,
once with an id that names nothing, and once with A's own id as a control. A body that can carry report
ids carries foreign ones too (linking B's report to A's case, creating a case around C's report). The
whole sweep runs twice: with A's API keys, and with sessions of A's people holding the same roles.

What must hold: no 2xx answer contains a foreign id, organisation name or credential, and every refusal of a foreign
id is exactly what a missing id gets: 404 when the key's roles allow the action, 403 when they do not
(the role table decides, and the own-id control must agree with it). Afterwards every row of B and C,
their audit trail included, is unchanged, and no case links reports across organisations.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi.testclient import TestClient

from accord.clock import FixedClock
from accord.exchange.agreement import SignedAgreement
from accord.exchange.identity import NodeIdentity
from accord.intake.stix_common import agreement_statement, stix_id
from accord.model.agreement import Agreement
from accord.model.case_ref import CaseReference
from accord.model.organisation import Actor, Role
from accord.model.request import Request, RequestEvent
from accord.safeguards import approvals
from accord.safeguards.policy import OPERATOR_ONLY, Action, allowed
from accord.services import peers, retention, sync
from accord.store import case_refs as case_store
from accord.store import custody as custody_store
from accord.store import deconfliction as dstore
from accord.store import requests as request_store
from accord.store import schema
from tests.conftest import World, auth, report_json
from tests.federation.conftest import agreement_between
from tests.sealing import CustodianKey, approval, review, sealed_report, warrant_body
from tests.signin import STEP, Enrolled, code, enrol

# The permission each route needs; None: public. A route missing here is still swept, and the own-id
# control then tells whether the key may use it.
ROUTE_ACTION: dict[tuple[str, str], Action | None] = {
    ("GET", "/openapi.json"): None,
    ("GET", "/docs"): None,
    ("GET", "/docs/oauth2-redirect"): None,
    ("GET", "/redoc"): None,
    ("GET", "/healthz"): None,
    ("GET", "/v1/vocabularies"): None,
    ("GET", "/v1/schemas/report.json"): None,
    ("POST", "/v1/import"): Action.report_create,
    ("GET", "/v1/jobs/{job_id}"): Action.job_read,
    ("GET", "/v1/export"): Action.report_export,
    ("POST", "/v1/reports"): Action.report_create,
    ("POST", "/v1/reports:bulk"): Action.report_create,
    ("GET", "/v1/reports"): Action.report_read,
    ("GET", "/v1/reports/{report_id}"): Action.report_read,
    ("POST", "/v1/cases"): Action.case_create,
    ("GET", "/v1/cases"): Action.case_read,
    ("GET", "/v1/cases/{case_id}"): Action.case_read,
    ("PATCH", "/v1/cases/{case_id}"): Action.case_update,
    ("POST", "/v1/cases/{case_id}/reports"): Action.case_update,
    ("GET", "/v1/identifiers"): Action.identifier_search,
    ("GET", "/v1/media"): Action.media_search,
    ("GET", "/v1/organisations"): Action.org_read,
    ("POST", "/v1/organisations"): Action.org_create,
    ("GET", "/v1/organisations/{org_id}"): Action.org_read,
    ("GET", "/v1/credentials"): Action.credential_manage,
    ("POST", "/v1/credentials"): Action.credential_manage,
    ("DELETE", "/v1/credentials/{key_id}"): Action.credential_manage,
    ("GET", "/v1/audit"): Action.audit_read,
    ("GET", "/v1/custody/checkpoint"): None,
    ("GET", "/v1/custody/proof/inclusion"): Action.custody_proof,
    ("GET", "/v1/custody/proof/consistency"): Action.custody_proof,
    ("GET", "/v1/custody/entries/{seq}"): Action.custody_entry_read,
    ("POST", "/v1/sessions"): None,
    ("DELETE", "/v1/sessions/current"): None,
    ("GET", "/v1/people"): Action.credential_manage,
    ("POST", "/v1/people"): Action.credential_manage,
    ("POST", "/v1/people/{actor_id}/unlock"): Action.credential_manage,
    ("POST", "/v1/people/{actor_id}/disable"): Action.credential_manage,
    ("POST", "/v1/people/{actor_id}/enable"): Action.credential_manage,
    ("POST", "/v1/people/{actor_id}/password-reset"): Action.credential_manage,
    ("POST", "/v1/people/{actor_id}/totp-reset"): Action.credential_manage,
    ("POST", "/v1/sessions/current/password"): None,
    ("GET", "/v1/audit/export"): Action.audit_export,
    ("POST", "/v1/custodians"): Action.custodian_manage,
    ("GET", "/v1/custodians"): Action.custodian_read,
    ("GET", "/v1/custodians/{custodian_id}"): Action.custodian_read,
    ("DELETE", "/v1/custodians/{custodian_id}"): Action.custodian_manage,
    ("POST", "/v1/warrants"): Action.warrant_record,
    ("GET", "/v1/warrants"): Action.warrant_read,
    ("GET", "/v1/warrants/{warrant_id}"): Action.warrant_read,
    ("POST", "/v1/unseal-requests"): Action.unseal_request,
    ("GET", "/v1/unseal-requests"): Action.unseal_read,
    ("GET", "/v1/unseal-requests/{request_id}"): Action.unseal_read,
    ("POST", "/v1/unseal-requests/{request_id}/approvals"): Action.unseal_approve,
    ("POST", "/v1/unseal-requests/{request_id}/open"): Action.unseal_open,
    ("POST", "/v1/unseal-requests/{request_id}/review"): Action.unseal_review,
    ("GET", "/v1/reports/{report_id}/flags"): Action.report_read,
    ("GET", "/v1/retention/rules"): Action.retention_read,
    ("PUT", "/v1/retention/rules"): Action.retention_manage,
    ("POST", "/v1/banks"): Action.bank_manage,
    ("GET", "/v1/banks"): Action.bank_read,
    ("GET", "/v1/banks/{bank_id}"): Action.bank_read,
    ("POST", "/v1/banks/{bank_id}/entries"): Action.bank_manage,
    ("GET", "/v1/banks/{bank_id}/entries"): Action.bank_read,
    ("DELETE", "/v1/banks/{bank_id}/entries/{entry_id}"): Action.bank_manage,
    ("POST", "/v1/banks/{bank_id}/entries/{entry_id}:retract"): Action.bank_manage,
    ("GET", "/v1/banks/{bank_id}/export"): Action.bank_read,
    ("POST", "/v1/match"): Action.match_run,
    ("GET", "/v1/banks/{bank_id}/flags"): Action.bank_read,
    ("GET", "/v1/reports/{report_id}/matches"): Action.report_read,
    ("POST", "/v1/matches/{match_id}/verdict"): Action.match_verdict,
    ("GET", "/v1/reviews"): Action.review_read,
    ("POST", "/v1/reviews/{review_id}:resolve"): Action.review_resolve,
    ("POST", "/v1/analytics/runs"): Action.analytics_run,
    ("GET", "/v1/analytics/runs"): Action.analytics_read,
    ("GET", "/v1/analytics/runs/{run_id}"): Action.analytics_read,
    ("GET", "/v1/analytics/runs/{run_id}/result"): Action.analytics_read,
    ("GET", "/v1/analytics/runs/{run_id}/view"): Action.analytics_read,
    ("GET", "/v1/analytics/static/cytoscape.min.js"): None,
    ("GET", "/taxii2/"): None,
    ("GET", "/taxii2/accord/"): None,
    ("GET", "/taxii2/accord/collections/"): Action.report_read,
    ("GET", "/taxii2/accord/collections/{collection_id}/"): Action.report_read,
    ("GET", "/taxii2/accord/collections/{collection_id}/objects/"): Action.report_read,
    ("POST", "/taxii2/accord/collections/{collection_id}/objects/"): Action.report_create,
    ("GET", "/taxii2/accord/collections/{collection_id}/objects/{object_id}/"): Action.report_read,
    ("GET", "/taxii2/accord/collections/{collection_id}/manifest/"): Action.report_read,
    ("GET", "/taxii2/accord/status/{status_id}/"): Action.report_create,
    # federation: the identity document is public; the inbox takes no key (the envelope's signature is its
    # credential), so the sweep posts an envelope no peer signed, which every caller gets refused
    ("GET", "/v1/federation/identity"): None,
    ("POST", "/v1/federation/envelopes"): None,
    # sync: the pull request is a signed envelope (its signature is the credential) and so is a receipt
    ("POST", "/v1/federation/feed"): None,
    ("POST", "/v1/federation/receipts"): None,
    # deconfliction: runs and alerts are the organisation's; the peer-facing PSI endpoint takes no key, as the inbox
    ("POST", "/v1/deconfliction/runs"): Action.deconfliction_run,
    ("GET", "/v1/deconfliction/runs"): Action.deconfliction_read,
    ("GET", "/v1/deconfliction/runs/{deconfliction_id}"): Action.deconfliction_read,
    ("GET", "/v1/deconfliction/alerts"): Action.deconfliction_read,
    ("POST", "/v1/deconfliction/envelopes"): None,
    # case references: sharing one of the organisation's cases with a peer, and the references received
    ("POST", "/v1/cases/{case_id}/shares"): Action.case_share,
    ("DELETE", "/v1/cases/{case_id}/shares/{agreement_id}"): Action.case_share,
    ("GET", "/v1/federation/case-references"): Action.case_read,
    # cross-border requests: the organisation's own, sent and received
    ("POST", "/v1/requests"): Action.request_send,
    ("GET", "/v1/requests"): Action.request_read,
    ("GET", "/v1/requests/{req_id}"): Action.request_read,
    ("POST", "/v1/requests/{req_id}:send"): Action.request_send,
    ("POST", "/v1/requests/{req_id}:withdraw"): Action.request_send,
    ("POST", "/v1/requests/{req_id}:extend"): Action.request_send,
    ("POST", "/v1/requests/{req_id}:acknowledge"): Action.request_answer,
    ("POST", "/v1/requests/{req_id}:answer"): Action.request_answer,
    ("POST", "/v1/requests/{req_id}:refuse"): Action.request_answer,
    # the peer registry, stored signed agreements and share rules: an operator admin's (peer.manage), so every
    # key and session of A's is refused whatever the id (the operator's own use, with another organisation's
    # share ids, is in tests/api/test_federation_api.py and at the end of this test)
    ("GET", "/v1/federation/peers"): Action.peer_manage,
    ("POST", "/v1/federation/peers"): Action.peer_manage,
    ("GET", "/v1/federation/peers/{node_id}"): Action.peer_manage,
    ("PATCH", "/v1/federation/peers/{node_id}"): Action.peer_manage,
    ("DELETE", "/v1/federation/peers/{node_id}"): Action.peer_manage,
    ("GET", "/v1/federation/agreements"): Action.peer_manage,
    ("POST", "/v1/federation/agreements"): Action.peer_manage,
    ("GET", "/v1/federation/agreements/{agreement_id}"): Action.peer_manage,
    ("GET", "/v1/federation/shares"): Action.peer_manage,
    ("POST", "/v1/federation/shares"): Action.peer_manage,
    ("DELETE", "/v1/federation/shares/{share_id}"): Action.peer_manage,
    # local agreements: made and ended by the operator's admins only (refused for A whatever the id); an
    # organisation reads those it is party to, another's is not found
    ("POST", "/v1/agreements"): Action.agreement_manage,
    ("GET", "/v1/agreements"): Action.agreement_read,
    ("GET", "/v1/agreements/{agreement_id}"): Action.agreement_read,
    ("POST", "/v1/agreements/{agreement_id}:end"): Action.agreement_manage,
}

# Path parameter name -> the kind of object it names (and the prefix of a made-up id of that kind).
PARAM_KIND = {
    "report_id": "rpt",
    "case_id": "case",
    "key_id": "key",
    "org_id": "org",
    "job_id": "job",
    "seq": "leaf",
    "actor_id": "act",
    "warrant_id": "wrt",
    "request_id": "unr",
    "custodian_id": "cus",
    "bank_id": "bnk",
    "entry_id": "ent",
    "match_id": "mtc",
    "review_id": "rvw",
    "run_id": "run",
    "collection_id": "agr",  # a TAXII collection is an agreement
    "object_id": "stx",
    "status_id": "txs",
    "deconfliction_id": "dcf",
    "node_id": "node",  # a peer node (the registry is the node's, not an organisation's)
    "agreement_id": "agr",
    "share_id": "shr",
    "req_id": "req",
}
KINDS = (
    "rpt",
    "case",
    "key",
    "org",
    "job",
    "leaf",
    "act",
    "wrt",
    "unr",
    "cus",
    "agr",
    "bnk",
    "ent",
    "mtc",
    "rvw",
    "run",
    "stx",
    "txs",
    "dcf",
    "node",
    "shr",
    "req",
)
NO_SUCH_LEAF = str(10**12)  # custody entries are numbered, not named: a number far beyond the log

# Each role's routes are swept twice: with an API key, and with a person's session of the same roles.
CREDENTIALS = ["key", "session"]

SWEEP_ROLES = [Role.analyst, Role.investigator, Role.admin, Role.auditor, Role.custodian]
SHARED_IDEM = "shared-idem-1"  # the same Idempotency-Key in every organisation


@dataclass
class Org:
    letter: str
    name: str
    id: str = ""
    tokens: dict[Role, str] = field(default_factory=dict)
    actors: dict[Role, Actor] = field(default_factory=dict)
    key_ids: list[str] = field(default_factory=list)
    actor_ids: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    leaves: list[str] = field(default_factory=list)  # custody sequence numbers (numbers: not in ids())
    people: dict[Role, Enrolled] = field(default_factory=dict)
    sessions: dict[Role, str] = field(default_factory=dict)
    session_ids: list[str] = field(default_factory=list)
    spare_person: str = ""  # A's person that the people routes' controls disable, reset and unlock
    seal: SealFixtures | None = None
    agreements: list[str] = field(default_factory=list)  # named in retention rules' bodies
    banks: list[str] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)  # bank entry numbers (numbers: not in ids())
    matches: list[str] = field(default_factory=list)  # recorded match numbers (numbers: not in ids())
    reviews: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)  # analytics runs (a network run: the view draws it)
    statuses: list[str] = field(default_factory=list)  # TAXII add-objects status resources
    deconflictions: list[str] = field(default_factory=list)  # deconfliction runs (stored as a peer's answer)
    case_refs: list[str] = field(default_factory=list)  # origin case ids of case references received for it
    signed_peer: tuple[str, str] = ("", "")  # that agreement's peer node and party
    signed_agreement: str = ""  # a signed agreement with a (made-up) peer: its cases can be shared under it
    shares: list[str] = field(default_factory=list)  # a bank shared into a signed agreement's feed
    requests: list[str] = field(default_factory=list)  # cross-border requests received for it

    @property
    def stix_ids(self) -> list[str]:
        """The agreement statement markings of the organisation's collections (objects every one holds)."""
        return [stix_id("marking-definition", agreement_statement(a)) for a in self.agreements]

    def ids(self) -> set[str]:
        sealing = self.seal.ids() if self.seal else set()
        return {
            self.id,
            *self.key_ids,
            *self.actor_ids,
            *self.reports,
            *self.cases,
            *self.jobs,
            *self.session_ids,
            *self.agreements,
            *self.banks,
            *self.reviews,
            *self.runs,
            *self.statuses,
            *self.deconflictions,
            *self.case_refs,
            *self.shares,
            *self.requests,
            *self.stix_ids,
            *sealing,
        }

    def secrets(self) -> list[str]:
        """What must never appear anywhere else: people's passwords and TOTP secrets, session tokens."""
        return [s for p in self.people.values() for s in (p.password, p.secret)] + list(self.sessions.values())

    def of_kind(self, prefix: str) -> list[str]:
        kinds = {
            "rpt": self.reports,
            "case": self.cases,
            "key": self.key_ids,
            "org": [self.id],
            "job": self.jobs,
            "leaf": self.leaves,
            "act": [p.actor_id for p in self.people.values()],
            "agr": self.agreements,
            "bnk": self.banks,
            "ent": self.entries,
            "mtc": self.matches,
            "rvw": self.reviews,
            "run": self.runs,
            "stx": self.stix_ids,
            "txs": self.statuses,
            "dcf": self.deconflictions,
            "node": [],  # peers are the node's: no organisation has one of its own
            "shr": self.shares,
            "req": self.requests,
        }
        if self.seal is not None:
            kinds |= {"wrt": self.seal.warrants, "unr": self.seal.requests, "cus": self.seal.custodians}
        return kinds[prefix]


@dataclass
class SealFixtures:
    """An organisation's sealing objects: a sealed report, a warrant, custodians' keys, an approved request
    (R1, which A's investigator opens in the sweep) and an emergency disclosure (R2, which A's sweep
    custodian reviews), and the signed bodies those two controls post."""

    sealed_report: str
    warrants: list[str]
    requests: list[str]
    custodians: list[str]  # registrations; the last is a spare that the DELETE control revokes
    custodian_actors: list[str]
    approval_body: dict[str, str]
    review_body: dict[str, str]

    def ids(self) -> set[str]:
        return {self.sealed_report, *self.warrants, *self.requests, *self.custodians, *self.custodian_actors}


def ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}"
    out: dict[str, Any] = r.json()
    return out


def ndjson(bodies: list[dict[str, object]]) -> bytes:
    return b"\n".join(orjson.dumps(b) for b in bodies) + b"\n"


def only_org_body(letter: str, ext: str) -> dict[str, object]:
    """A report with an identifier and a medium that no other organisation holds."""
    return report_json(
        ext,
        subjects=[{"role": "suspect", "identifiers": [{"kind": "email", "value": f"only-{letter}@example.org"}]}],
        media=[{"sha256": only_org_sha256(letter)}],
    )


def only_org_sha256(letter: str) -> str:
    return hashlib.sha256(f"only-{letter}".encode()).hexdigest()


def populate(client: TestClient, world: World, letter: str, idem: str) -> Org:
    """An organisation with keys, reports (shared identifiers, a shared Idempotency-Key), cases and a trail."""
    org = Org(letter, f"Org-{letter}-{secrets.token_hex(4)}")
    created = ok(
        client.post(
            "/v1/organisations",
            json={
                "organisation": {"name": org.name, "kind": "hotline", "jurisdiction": "DE"},
                "admin": {"name": f"{org.name} admin", "roles": ["admin"]},
            },
            headers=auth(world.operator_token),
        ),
        201,
    )
    org.id = created["organisation"]["id"]
    admin = created["admin"]
    org.tokens[Role.admin] = admin["token"]
    org.key_ids.append(admin["credential"]["id"])
    org.actor_ids.append(admin["credential"]["actor_id"])
    for role in (Role.analyst, Role.investigator, Role.auditor, Role.custodian):
        issued = ok(
            client.post(
                "/v1/credentials",
                json={"name": f"{org.name} {role}", "roles": [role]},
                headers=auth(org.tokens[Role.admin]),
            ),
            201,
        )
        org.tokens[role] = issued["token"]
        org.key_ids.append(issued["credential"]["id"])
        org.actor_ids.append(issued["credential"]["actor_id"])
    for role in SWEEP_ROLES:
        org.actors[role] = world.actor(org.tokens[role])
    # A person of each swept role, signed in: their sessions sweep the routes as the keys do.
    for role in SWEEP_ROLES:
        person = enrol(client, org.tokens[Role.admin], [role], name=f"{org.name} {role} person")
        org.people[role] = person
        org.actor_ids.append(person.actor_id)
        signed = ok(client.post("/v1/sessions", json=sign_in_body(world, person)), 201)
        org.sessions[role] = signed["token"]
        org.session_ids.append(signed["session"]["id"])

    analyst = auth(org.tokens[Role.analyst])
    ok(client.post("/v1/reports", json=report_json(f"{letter}-1"), headers={**analyst, "Idempotency-Key": idem}), 201)
    ok(client.post("/v1/reports", json=report_json(f"{letter}-2", incident_type="grooming"), headers=analyst), 201)
    bulk = ndjson([report_json(f"{letter}-3"), report_json(f"{letter}-4"), only_org_body(letter, f"{letter}-5")])
    out = ok(client.post("/v1/reports:bulk", content=bulk, headers={**analyst, "content-type": "application/x-ndjson"}))
    assert out["accepted"] == 3, out
    org.reports = [r["id"] for r in ok(client.get("/v1/reports", headers=analyst))["items"]]
    assert len(org.reports) == 5

    inv = auth(org.tokens[Role.investigator])
    case = {"title": f"{letter} case", "jurisdiction": "DE"}
    org.cases.append(ok(client.post("/v1/cases", json={**case, "report_ids": org.reports[:2]}, headers=inv), 201)["id"])
    second = ok(client.post("/v1/cases", json=case, headers=inv), 201)["id"]
    org.cases.append(second)
    ok(client.patch(f"/v1/cases/{second}", json={"status": "suspended"}, headers=inv))
    ok(client.post(f"/v1/cases/{second}/reports", json={"report_ids": [org.reports[2]]}, headers=inv))
    ok(client.get("/v1/audit", headers=auth(org.tokens[Role.auditor])))
    job = ok(
        client.post("/v1/import?name=sweep.ndjson", content=ndjson([report_json(f"{letter}-6")]), headers=analyst), 202
    )
    org.jobs.append(job["id"])
    for _ in range(600):
        if ok(client.get(f"/v1/jobs/{job['id']}", headers=analyst))["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    org.reports.append(ok(client.get("/v1/reports", headers=analyst))["items"][-1]["id"])
    run = ok(client.post("/v1/analytics/runs", json={"kind": "network"}, headers=analyst), 202)
    org.runs.append(run["id"])
    for _ in range(600):
        if ok(client.get(f"/v1/analytics/runs/{run['id']}", headers=analyst))["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    # the reports' "received" custody leaves, recorded by intake
    with world.node.db.read() as conn:
        leaves = custody_store.leaves_for_objects(conn, org.actors[Role.analyst], "report", org.reports, below=2**62)
    org.leaves = [str(leaf.seq) for leaf in leaves if leaf.action == "received"]
    org.seal = populate_sealing(client, org)
    rules = {"rules": [{"category": "report", "days": 365}, {"category": "sealed", "days": 90}]}
    ok(client.put("/v1/retention/rules", json=rules, headers=auth(org.tokens[Role.admin])))
    # a PDQ bank holding the canary (every organisation's reports carry it): no other organisation's match
    # of that exact hash may find it
    bank = ok(client.post("/v1/banks", json={"name": f"{letter} bank", "type": "pdq"}, headers=analyst), 201)
    values = [{"value": CANARY_PDQ}, {"value": "0" * 63 + "1"}, {"value": "0" * 63 + "3"}]
    added = ok(client.post(f"/v1/banks/{bank['id']}/entries", json={"entries": values}, headers=analyst))
    org.banks.append(bank["id"])
    org.entries = [str(e["id"]) for e in added["added"]]
    # a report matching the two near-zero entries (not the canary), then the last entry retracted: the
    # organisation holds matches to give verdicts on and a review to resolve
    body = report_json(f"{letter}-matched", media=[{"pdq": "0" * 64}])
    matched = ok(client.post("/v1/reports", json=body, headers=analyst), 201)["id"]
    org.reports.append(matched)
    org.matches = [str(m["id"]) for m in ok(client.get(f"/v1/reports/{matched}/matches", headers=analyst))]
    assert len(org.matches) == 2
    retract = {"reason": "populate"}
    ok(client.post(f"/v1/banks/{bank['id']}/entries/{org.entries[-1]}:retract", json=retract, headers=analyst))
    org.reviews = [r["id"] for r in ok(client.get("/v1/reviews", headers=analyst))["items"]]
    assert len(org.reviews) == 1
    return org


CANARY_PDQ = "f" * 64  # the PDQ of report_json's medium


def populate_retention(client: TestClient, world: World, a: Org, b: Org, c: Org) -> None:
    """Agreements (A-B, and B-C which A is no party to) and a report of B's purged under B's rules: A's
    sweep asks for it (404, never 410) and names B-C's agreement in its own rules (404)."""
    node = world.node
    for org, other in ((a, b), (b, c)):
        agr = node.ids("agr")
        with node.db.write() as conn:
            conn.execute(
                sa.insert(schema.agreements).values(
                    id=agr,
                    parties=[org.id, other.id],
                    purposes=["investigation"],
                    legal_bases=["consent"],
                    max_marking="AMBER",
                    categories=["csam", "grooming", "other"],
                    retention_days=3650,
                    onward_sharing=False,
                    valid_from=node.clock.now(),
                    created_at=node.clock.now(),
                )
            )
            conn.execute(
                sa.insert(schema.agreement_parties), [{"agreement_id": agr, "org_id": o.id} for o in (org, other)]
            )
        org.agreements.append(agr)
    c.agreements.append(b.agreements[0])
    old = ok(client.post("/v1/reports", json=report_json("B-old"), headers=auth(b.tokens[Role.analyst])), 201)["id"]
    with node.db.write() as conn:
        t = schema.reports
        conn.execute(sa.update(t).where(t.c.id == old).values(ingested_at=node.clock.now() - timedelta(days=400)))
    assert retention.run(node, org_id=b.id).total == 1
    assert client.get(f"/v1/reports/{old}", headers=auth(b.tokens[Role.analyst])).status_code == 410
    b.reports.append(old)


def populate_federation(world: World, *orgs: Org) -> str:
    """A peer on file, and for each organisation a signed agreement with it and the organisation's bank
    shared into that agreement's feed: share ids (B's and C's) for A's sweep to name. Returns the peer."""
    node = world.node
    assert isinstance(node.clock, FixedClock)
    peer = NodeIdentity.generate(node.clock.now())
    peers.add_peer(node, None, "http://peer.test", peer.document.to_json())
    for org in orgs:
        parties = {org.id: node.me.node_id, "org_peer": peer.node_id}
        terms = agreement_between(parties, node.clock, node.ids("agr"))
        peers.store_agreement(node, None, SignedAgreement(terms).sign(node.me).sign(peer).to_json())
        org.shares.append(sync.share_bank(node, None, org.id, org.banks[0], terms.id, "csam").id)
    return peer.node_id


def populate_deconfliction(world: World, *orgs: Org) -> None:
    """A finished deconfliction run and its alert for each organisation, as answering a peer stores them
    (a run needs a second node; tests/federation/test_deconfliction.py runs real ones). B's and C's hold
    their own only-B/only-C identifier as an overlap, which A must never see."""
    node = world.node
    for org in orgs:
        run_id, ref, now = node.ids("dcf"), node.ids("dcr"), node.clock.now()
        members = [f"email:only-{org.letter}@example.org"]
        run = dstore.Run(
            run_id, org.id, ref, "responder", "node_peer", "org_peer", "agr_peer", "identifiers", "members",
            secrets.token_hex(16), "done", 5, 5, 1, members, None, now, now,
        )  # fmt: skip
        with node.db.write() as conn:
            dstore.insert_run(conn, run)
            alert = dstore.Alert(node.ids("dca"), org.id, ref, "node_peer", "org_peer", "agr_peer", 1, now)
            dstore.insert_alert(conn, alert)
        org.deconflictions.append(run_id)


def populate_case_refs(world: World, *orgs: Org) -> None:
    """A case reference received from a peer for each organisation (as sync stores one; two real nodes:
    tests/federation/test_case_refs.py), and for A a signed agreement with that peer, under which A's sweep
    shares its own case."""
    node, now = world.node, world.node.clock.now()
    peer = NodeIdentity.generate(now - timedelta(days=1))
    peer_org = node.ids("org")
    peers.trust_peer(
        node, None, peers.add_peer(node, None, "http://peer.test", peer.document.to_json(), [peer_org]).node_id
    )
    a = orgs[0]
    agreement = Agreement.model_validate(
        {
            "id": node.ids("agr"),
            "parties": [a.id, peer_org],
            "nodes": {a.id: [node.me.node_id], peer_org: [peer.node_id]},
            "purposes": ["investigation", "mutual-legal-assistance"],
            "legal_bases": ["mou"],
            "categories": ["csam"],
            "jurisdictions": ["DE"],
            "max_marking": "AMBER",
            "retention_days": 365,
            "onward_sharing": False,
            "valid_from": now - timedelta(hours=1),
            "valid_until": None,
            "created_at": now - timedelta(hours=1),
        }
    )
    peers.store_agreement(node, None, SignedAgreement(agreement).sign(node.me).sign(peer).to_json())
    a.signed_agreement = agreement.id
    for org in orgs:
        origin = node.ids("case")
        ref = CaseReference(
            peer=peer.node_id, origin_case=origin, org_id=org.id, agreement_id=agreement.id, category="csam",
            marking="GREEN", version=1, status="open", jurisdiction="NL", lead_org_id=peer_org,
            lead_org_name="Peer platform", linked_reports=1, created_at=now, updated_at=now, received_at=now,
            changed_at=now,
        )  # fmt: skip
        with node.db.write() as conn:
            case_store.put_received(conn, ref, known=False)
        org.case_refs.append(origin)
        org.requests.append(a_request(world, org, agreement.id, "addressee", peer.node_id, peer_org))
    a.signed_peer = (peer.node_id, peer_org)


def a_request(world: World, org: Org, agreement_id: str, role: str, peer: str, peer_org: str) -> str:
    """A request held for the organisation, as sync stores a received one (role addressee, state sent) or
    as ``requests.create`` and a send store one (role requester, state draft or sent)."""
    node, now = world.node, world.node.clock.now()
    rid = node.ids("req")
    events = [RequestEvent(side="requester", n=1, transition="create", at=now)]
    state = "draft"
    if role == "addressee" or (org.letter == "A" and role == "sent"):
        events.append(RequestEvent(side="requester", n=2, transition="send", at=now))
        state = "sent"
    role = "addressee" if role == "addressee" else "requester"
    req = Request(
        id=rid, origin_node=peer if role == "addressee" else node.me.node_id, role=role, org_id=org.id, peer=peer,
        agreement_id=agreement_id, kind="preservation", legal_basis="mou", case_id=node.ids("case"),
        keys=[f"email:only-{org.letter}@example.org"], reference=f"REF-{org.letter}",
        from_org=peer_org if role == "addressee" else org.id, to_org=org.id if role == "addressee" else peer_org,
        category="csam", marking="GREEN", state=state, deadline=now + timedelta(days=90),
        initial_deadline=now + timedelta(days=90), answer_code=None, answered_at=None, created_at=now,
        changed_at=now, escalated_at=None, events=events,
    )  # fmt: skip
    with node.db.write() as conn:
        request_store.insert_request(conn, req)
        request_store.put_events(conn, req.origin_node, rid, events)
    return rid


TAXII = "application/taxii+json;version=2.1"


def taxii_envelope(name: str) -> dict[str, Any]:
    """One observed-data over an email address, named by ``name`` (a TAXII add's body)."""
    sco = f"email-addr--{uuid.uuid5(uuid.NAMESPACE_URL, name)}"
    at = "2026-11-20T10:00:00.000Z"
    return {
        "objects": [
            {
                "type": "observed-data",
                "spec_version": "2.1",
                "id": f"observed-data--{uuid.uuid5(uuid.NAMESPACE_DNS, name)}",
                "created": at,
                "modified": at,
                "first_observed": at,
                "last_observed": at,
                "number_observed": 1,
                "object_refs": [sco],
            },
            {"type": "email-addr", "spec_version": "2.1", "id": sco, "value": f"{name}@example.org"},
        ]
    }


def populate_taxii(client: TestClient, a: Org, b: Org, c: Org) -> None:
    """Each organisation adds to its first collection (A to A-B; B and C to B-C, which A is no party to)."""
    for org in (a, b, c):
        url = f"/taxii2/accord/collections/{org.agreements[0]}/objects/"
        headers = auth(org.tokens[Role.analyst], **{"content-type": TAXII})
        status = ok(client.post(url, json=taxii_envelope(f"{org.letter}-taxii"), headers=headers), 202)
        assert status["success_count"] == 2, status
        org.statuses.append(status["id"])


def populate_sealing(client: TestClient, org: Org) -> SealFixtures:
    admin = auth(org.tokens[Role.admin])

    def credential(role: Role) -> tuple[str, str]:
        issued = ok(
            client.post("/v1/credentials", json={"name": f"{org.name} {role}", "roles": [role]}, headers=admin), 201
        )
        org.key_ids.append(issued["credential"]["id"])
        org.actor_ids.append(issued["credential"]["actor_id"])
        return issued["token"], issued["credential"]["actor_id"]

    supervisor, _ = credential(Role.supervisor)
    sweep_custodian = world_actor_id(org, Role.custodian)
    people = [(org.tokens[Role.custodian], sweep_custodian), credential(Role.custodian), credential(Role.custodian)]
    keys: list[CustodianKey] = []
    for token, actor_id in [*people, people[1]]:  # the second custodian gets a spare key, revoked in the sweep
        pem, public = approvals.new_signing_key()
        reg = ok(client.post("/v1/custodians", json={"actor_id": actor_id, "public_key": public}, headers=admin), 201)
        keys.append(CustodianKey(token, actor_id, reg["id"], approvals.load_signing_key(pem)))
    inv = auth(org.tokens[Role.investigator])
    rpt = ok(
        client.post("/v1/reports", json=sealed_report(f"{org.letter}-sealed"), headers=auth(org.tokens[Role.analyst])),
        201,
    )["id"]
    org.reports.append(rpt)
    wrt = ok(client.post("/v1/warrants", json=warrant_body([rpt]), headers=inv), 201)["id"]
    r1 = ok(
        client.post(
            "/v1/unseal-requests", json={"warrant_id": wrt, "report_id": rpt, "fields": ["/narrative"]}, headers=inv
        ),
        201,
    )
    for k in keys[1:3]:
        ok(client.post(f"/v1/unseal-requests/{r1['id']}/approvals", json=approval(r1, k), headers=auth(k.token)), 201)
    r2 = ok(
        client.post("/v1/unseal-requests", json={"report_id": rpt, "fields": ["/narrative"]}, headers=auth(supervisor)),
        201,
    )
    ok(
        client.post(
            f"/v1/unseal-requests/{r2['id']}/open",
            json={"emergency": True, "reason": "imminent danger (synthetic sweep)"},
            headers=auth(supervisor),
        )
    )
    return SealFixtures(
        sealed_report=rpt,
        warrants=[wrt],
        requests=[r1["id"], r2["id"]],
        custodians=[k.custodian_id for k in keys],
        custodian_actors=[a for _, a in people],
        approval_body=approval(r1, keys[0]),
        review_body=review(r2, keys[0]),
    )


def world_actor_id(org: Org, role: Role) -> str:
    """The actor id behind one of the organisation's role keys (issued in that order in ``populate``)."""
    order = [Role.admin, Role.analyst, Role.investigator, Role.auditor, Role.custodian]
    return org.actor_ids[order.index(role)]


# ----------------------------------------------------------------------------- the routes


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    params: tuple[str, ...]


def endpoints(client: TestClient) -> list[Endpoint]:
    """Every (method, path) the app serves, from its routing table (included routers flattened)."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI keeps included routers unflattened

        routes: list[Any] = list(iter_route_contexts(client.app.routes))  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - older FastAPI lists the routes themselves
        routes = list(client.app.routes)  # type: ignore[attr-defined]
    out = []
    for route in routes:
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if not path or not methods:  # mounts, websockets
            continue
        params = tuple(re.findall(r"\{(\w+)(?::\w+)?\}", path))
        out.extend(Endpoint(m, path, params) for m in sorted(methods) if m != "HEAD")
    # The schema is another view of the same table: if the enumeration missed a route, say so.
    schema_ops = {(m.upper(), p) for p, ops in client.app.openapi()["paths"].items() for m in ops}  # type: ignore[attr-defined]
    missing = schema_ops - {(e.method, e.path) for e in out}
    assert not missing, f"routes in the OpenAPI schema that the sweep did not find: {missing}"
    return out


@dataclass
class Call:
    """One request of the sweep. ``target``: foreign (another org's id), missing (no such id), own, or none."""

    values: dict[str, str]
    target: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    check: Callable[[dict[str, Any]], None] | None = None
    # the exact status expected with each kind of credential, for the session routes (see calls_for)
    expect: dict[str, int] | None = None


def sign_in_body(world: World, person: Enrolled, clock_step: bool = False) -> dict[str, str]:
    clock = world.node.clock
    assert isinstance(clock, FixedClock)
    if clock_step:  # a code is accepted once: a second sign-in of the same person needs the next step
        clock.advance(STEP)
    return {"actor": person.actor_id, "password": person.password, "totp": code(person.secret, clock.now())}


class Sweep:
    def __init__(self, client: TestClient, world: World, a: Org, others: list[Org], operator_org: str) -> None:
        self.client, self.world, self.a, self.others = client, world, a, others
        self.foreign_by_kind: dict[str, list[str]] = {k: [i for o in others for i in o.of_kind(k)] for k in KINDS}
        self.foreign_by_kind["org"].append(operator_org)
        self.foreign = {i for o in others for i in o.ids()} | {operator_org}
        self.foreign_names = [o.name for o in others] + [s for o in others for s in o.secrets()]
        with world.node.db.read() as conn:  # A's partners: the other parties to A's own agreements
            t = schema.agreements
            parties = conn.execute(sa.select(t.c.parties).where(t.c.id.in_(a.agreements))).scalars()
            self.partners = {p for ps in parties for p in ps} - {a.id}
        # A's own objects for the controls: a report, a case, and a spare key that only the controls revoke.
        assert a.seal is not None
        self.seal = a.seal
        self.own = {
            "rpt": a.reports[0],
            "case": a.cases[0],
            "key": a.key_ids[-1],
            "org": a.id,
            "job": a.jobs[0],
            "leaf": a.leaves[0],
            "act": a.spare_person,
            "wrt": a.seal.warrants[0],
            "unr": a.seal.requests[0],
            "cus": a.seal.custodians[-1],
            "agr": a.agreements[0],
            "bnk": a.banks[0],
            "ent": a.entries[-1],
            "mtc": a.matches[0],
            "rvw": a.reviews[0],
            "run": a.runs[0],
            "stx": a.stix_ids[0],
            "txs": a.statuses[0],
            "dcf": a.deconflictions[0],
            "node": "",  # set by the test: the peer on file
            "shr": a.shares[0],
            "req": a.requests[0],
        }
        self.foreign_seal = [o.seal for o in others if o.seal is not None]
        self.calls: Counter[tuple[str, str]] = Counter()
        self.targets: Counter[str] = Counter()
        self.by_cred: Counter[str] = Counter()
        self.bank_names = 0
        self.once_only = 0  # own controls of steps that happen once (opening, review): the key pass takes them
        self.foreign_hit: set[tuple[str, str, str]] = set()
        self.own_2xx: set[tuple[str, str]] = set()
        self.own_2xx_by_role: set[tuple[str, str, Role]] = set()

    def missing(self, prefix: str) -> str:
        return NO_SUCH_LEAF if prefix in ("leaf", "ent", "mtc") else self.world.node.ids(prefix)

    # Which ids a path parameter gets: own (the control, first), each foreign one, one that names nothing.
    def path_values(self, ep: Endpoint) -> Iterator[tuple[dict[str, str], str]]:
        for p in ep.params:
            assert p in PARAM_KIND, f"{ep.method} {ep.path}: add {p!r} to PARAM_KIND so the sweep knows its ids"
        own = {p: self.own[PARAM_KIND[p]] for p in ep.params}
        yield own, "own"
        for p in ep.params:
            for fid in self.foreign_by_kind[PARAM_KIND[p]]:
                yield {**own, p: fid}, "foreign"
            yield {**own, p: self.missing(PARAM_KIND[p])}, "missing"

    def calls_for(self, ep: Endpoint, cred: str = "key") -> Iterator[Call]:
        key = (ep.method, ep.path)
        own_r = self.own["rpt"]
        foreign_r = self.foreign_by_kind["rpt"]
        if key == ("POST", "/v1/sessions"):
            # A's person signs in (the body is built as the call is made: the clock moves for a new code),
            # and an id that names nobody fails like any failed sign-in. Sign-in is not tried with B's or
            # C's people: it needs no credential, so anyone may fail one for any id (tests/api/
            # test_sessions_api.py), and each failure counts on that person's row, which the sweep checks
            # stays unchanged.
            yield Call({}, "none", json=sign_in_body(self.world, self.a.people[Role.analyst], clock_step=True))
            missing = {**sign_in_body(self.world, self.a.people[Role.analyst]), "actor": self.missing("act")}
            yield Call({}, "none", json=missing, expect={"key": 401, "session": 401})
            return
        if key == ("DELETE", "/v1/sessions/current"):
            # With a key there is no session to end; with a session, run() signs in a spare one to end.
            yield Call({}, "none", expect={"key": 404, "session": 204})
            return
        if key == ("POST", "/v1/sessions/current/password"):
            # A person changes their own password: with a key there is none to change; run() builds the body
            # for the session's own person, whose password then changes.
            yield Call({}, "none", expect={"key": 404, "session": 204})
            return
        if key == ("POST", "/v1/cases/{case_id}/reports"):
            for values, target in self.path_values(ep):
                yield Call(values, target, json={"report_ids": [own_r]})
            own = {"case_id": self.own["case"]}
            for rid in foreign_r:  # foreign reports into A's own case, alone and next to A's own
                yield Call(own, "foreign", json={"report_ids": [rid]})
                yield Call(own, "foreign", json={"report_ids": [own_r, rid]})
            yield Call(own, "missing", json={"report_ids": [self.missing("rpt")]})
            return
        if key == ("POST", "/v1/cases"):
            case = {"title": "sweep case", "jurisdiction": "DE"}
            yield Call({}, "own", json={**case, "report_ids": [own_r]})
            for rid in foreign_r:
                yield Call({}, "foreign", json={**case, "report_ids": [own_r, rid]})
            yield Call({}, "missing", json={**case, "report_ids": [self.missing("rpt")]})
            return
        if key == ("POST", "/v1/reports"):
            b, c = self.others[0].letter, self.others[1].letter
            # B's exact body under the Idempotency-Key B used: a new report of A's, never B's replayed.
            yield Call({}, "none", json=report_json(f"{b}-1"), headers={"Idempotency-Key": SHARED_IDEM})
            # C's exact body and external id: new for A, not a replay of C's report.
            yield Call({}, "none", json=report_json(f"{c}-2", incident_type="grooming"))
            # B's external id with other content: new for A, not a 409.
            yield Call({}, "none", json=report_json(f"{b}-2"))
            return
        if key == ("PUT", "/v1/retention/rules"):  # a rule may name an agreement: A's, B-C's, or none
            rules = [{"category": "sealed", "days": 30}]
            own = {"category": "report", "days": 400, "agreement_id": self.a.agreements[0]}
            yield Call({}, "own", json={"rules": [*rules, own]})
            for agr in self.foreign_by_kind["agr"]:
                yield Call({}, "foreign", json={"rules": [*rules, {**own, "agreement_id": agr}]})
            yield Call({}, "missing", json={"rules": [{**own, "agreement_id": self.missing("agr")}]})
            return
        if key == ("POST", "/v1/banks"):  # a new name each time (a name is unique per organisation)
            self.bank_names += 1
            bank = {"name": f"sweep bank {self.bank_names}", "type": "pdq"}
            yield Call({}, "own", json={**bank, "agreement_id": self.a.agreements[0]})
            for agr in self.foreign_by_kind["agr"]:
                yield Call({}, "foreign", json={**bank, "name": f"{bank['name']} {agr}", "agreement_id": agr})
            yield Call({}, "missing", json={**bank, "agreement_id": self.missing("agr")})
            return
        if key == ("POST", "/v1/match"):  # the canary is in every organisation's bank: A finds only its own

            def own_only(out: dict[str, Any]) -> None:
                hits = out["results"][0]["matches"]
                assert hits and {m["bank"] for m in hits} == {self.a.banks[0]}, out

            yield Call({}, "none", json={"hashes": [CANARY_PDQ]}, check=own_only)
            yield Call({}, "own", json={"hashes": [CANARY_PDQ], "banks": [self.a.banks[0]]})
            for bid in self.foreign_by_kind["bnk"]:
                yield Call({}, "foreign", json={"hashes": [CANARY_PDQ], "banks": [self.a.banks[0], bid]})
            yield Call({}, "missing", json={"hashes": [CANARY_PDQ], "banks": [self.missing("bnk")]})
            return
        if key in (("POST", "/v1/federation/envelopes"), ("POST", "/v1/federation/feed")):
            envelope = {  # no peer signed it: refused (unknown-key) for anyone
                "payload": "e30=",
                "payloadType": "application/vnd.accord.envelope.v1+json",
                "signatures": [{"keyid": "0" * 64, "sig": "AAAA"}],
            }
            yield Call({}, "none", content=orjson.dumps(envelope), expect={"key": 403, "session": 403})
            return
        if key == ("POST", "/v1/federation/receipts"):  # no peer signed it: 422 for anyone, nothing kept
            receipt = {
                "payload": "e30=",
                "payloadType": "application/vnd.accord.receipt.v1+json",
                "signatures": [{"keyid": "0" * 64, "sig": "AAAA"}],
            }
            yield Call({}, "none", content=orjson.dumps(receipt), expect={"key": 422, "session": 422})
            return
        if key == ("POST", "/v1/deconfliction/envelopes"):  # as the federation inbox: no peer signed it
            envelope = {
                "payload": "e30=",
                "payloadType": "application/vnd.accord.envelope.v1+json",
                "signatures": [{"keyid": "0" * 64, "sig": "AAAA"}],
            }
            yield Call({}, "none", content=orjson.dumps(envelope), expect={"key": 403, "session": 403})
            return
        if key == ("POST", "/v1/cases/{case_id}/shares"):  # into A's signed agreement; other agreements too
            share = {"agreement_id": self.a.signed_agreement, "category": "csam"}
            for values, target in self.path_values(ep):
                yield Call(values, target, json=share)
            own = {"case_id": self.own["case"]}
            for agr in self.foreign_by_kind["agr"]:
                yield Call(own, "foreign", json={**share, "agreement_id": agr})
            yield Call(own, "missing", json={**share, "agreement_id": self.missing("agr")})
            return
        if key == ("DELETE", "/v1/cases/{case_id}/shares/{agreement_id}"):  # the share the POST made (or did)
            for values, target in self.path_values(ep):
                own = {**values, "agreement_id": self.a.signed_agreement} if target == "own" else values
                yield Call(own, target)
            return
        if key == ("GET", "/v1/federation/case-references"):  # A's own reference only

            def own_refs(out: Any) -> None:
                assert [r["origin_case"] for r in out] == self.a.case_refs, out

            yield Call({}, "none", check=own_refs)
            yield Call({}, "none", query={"withdrawn": "true"}, check=own_refs)
            return
        if key == ("POST", "/v1/requests"):  # under A's agreement: another organisation's case is missing
            body = {
                "agreement_id": self.a.signed_agreement, "kind": "disclosure", "legal_basis": "mou",
                "case_id": self.own["case"], "keys": ["email:a@example.org"], "reference": "SWEEP-1",
                "deadline": "2099-01-01T00:00:00Z",
            }  # fmt: skip
            yield Call({}, "none", json=body)
            for cid in self.foreign_by_kind["case"]:
                yield Call({}, "foreign", json={**body, "case_id": cid})
            for agr in self.foreign_by_kind["agr"]:
                yield Call({}, "foreign", json={**body, "agreement_id": agr})
            return
        if key == ("GET", "/v1/requests"):  # A's own only

            def own_requests(out: Any) -> None:
                assert {r["org_id"] for r in out} <= {self.a.id} and self.a.requests[0] in [r["id"] for r in out]

            yield Call({}, "none", check=own_requests)
            return
        if key[1].startswith("/v1/requests/{req_id}:"):  # the own control: a fresh request in the state it needs
            step = key[1].rsplit(":", 1)[1]
            role = "addressee" if step in ("acknowledge", "answer", "refuse") else "draft" if step == "send" else "sent"
            fresh = a_request(self.world, self.a, self.a.signed_agreement, role, *self.a.signed_peer)
            body = {
                "answer": {"code": "preserved"},
                "refuse": {"code": "refused-legal"},
                "extend": {"deadline": "2099-01-01T00:00:00Z"},
            }.get(step)
            for values, target in self.path_values(ep):
                yield Call({"req_id": fresh} if target == "own" else values, target, json=body)
            return
        if key == ("POST", "/v1/deconfliction/runs"):  # the peer registry is the node's: no such peer is missing
            yield Call({}, "missing", json={"peer": self.missing("node"), "set": "identifiers"})
            return
        if ROUTE_ACTION.get(key) == Action.agreement_manage:  # the operator's admins only, as peer.manage
            terms = {
                "parties": [self.a.id, self.others[0].id],
                "purposes": ["investigation"],
                "legal_bases": ["mou"],
                "categories": ["csam"],
                "max_marking": "AMBER",
                "retention_days": 30,
            }
            if ep.params:
                for values, target in self.path_values(ep):
                    yield Call(values, target, expect={"key": 403, "session": 403})
            else:  # with A as a party, and between B and C alone
                yield Call({}, "none", json=terms, expect={"key": 403, "session": 403})
                foreign = {**terms, "parties": [o.id for o in self.others]}
                yield Call({}, "foreign", json=foreign, expect={"key": 403, "session": 403})
            return
        if key == ("GET", "/v1/agreements"):  # A's own agreement only, in force or not

            def own_agreements(out: Any) -> None:
                assert [x["id"] for x in out] == self.a.agreements, out

            yield Call({}, "none", check=own_agreements)
            yield Call({}, "none", query={"in_force": "true"}, check=own_agreements)
            return
        if ROUTE_ACTION.get(key) == Action.peer_manage:  # the operator's admins only: refused for A whatever the id
            bodies: dict[tuple[str, str], Any] = {
                ("POST", "/v1/federation/peers"): {"base_url": "http://sweep.test", "identity": {}},
                ("PATCH", "/v1/federation/peers/{node_id}"): {"state": "trusted"},
                ("POST", "/v1/federation/agreements"): {"signed": {}},
                ("POST", "/v1/federation/shares"): {
                    "kind": "bank",
                    "agreement_id": self.a.agreements[0],
                    "category": "csam",
                    "bank": self.a.banks[0],
                },
            }
            for values, target in self.path_values(ep):
                yield Call(values, target, json=bodies.get(key), expect={"key": 403, "session": 403})
            if key == ("POST", "/v1/federation/shares"):  # another organisation's bank, by id
                for bid in self.foreign_by_kind["bnk"]:
                    with_bank = {**bodies[key], "bank": bid}
                    yield Call({}, "foreign", json=with_bank, expect={"key": 403, "session": 403})
            return
        if key == ("POST", "/v1/import"):  # other organisations' bodies become A's job, never touch theirs
            lines = [report_json(f"{o.letter}-{i}") for o in self.others for i in (3, 6)]
            yield Call({}, "none", content=ndjson(lines), query={"name": "sweep.ndjson"})
            return
        if key == ("POST", "/v1/reports:bulk"):
            lines = [report_json(f"{o.letter}-{i}") for o in self.others for i in (3, 4)]

            def all_new(out: dict[str, Any], n: int = len(lines)) -> None:
                assert (out["accepted"], out["duplicates"], out["rejected"]) == (n, 0, []), out

            headers = {"content-type": "application/x-ndjson"}
            # the session pass sends the same lines again: A's own duplicates by then, so no count check
            yield Call({}, "none", content=ndjson(lines), headers=headers, check=all_new if cred == "key" else None)
            return
        if key == ("POST", "/taxii2/accord/collections/{collection_id}/objects/"):
            for values, target in self.path_values(ep):
                yield Call(values, target, json=taxii_envelope("A-sweep"), headers={"content-type": TAXII})
            return
        if key[1].startswith(("/v1/custodians", "/v1/warrants", "/v1/unseal-requests")) and ep.method == "POST":
            yield from self.sealing_calls(ep, cred)
            return
        body = {
            ("PATCH", "/v1/cases/{case_id}"): {"status": "active"},
            ("POST", "/v1/credentials"): {"name": "sweep key", "roles": ["custodian"]},
            ("POST", "/v1/organisations"): {"organisation": {"name": "sweep", "kind": "hotline", "jurisdiction": "DE"}},
            ("POST", "/v1/people"): {"name": "sweep person", "roles": ["custodian"]},
            ("POST", "/v1/banks/{bank_id}/entries"): {"entries": [{"value": CANARY_PDQ}]},
            ("POST", "/v1/banks/{bank_id}/entries/{entry_id}:retract"): {"reason": "sweep"},
            ("POST", "/v1/matches/{match_id}/verdict"): {"verdict": "confirmed", "note": "sweep"},
            ("POST", "/v1/analytics/runs"): {"kind": "network"},
        }.get(key)
        for values, target in self.path_values(ep):
            if target == "own" and not ep.params:
                target = "none"
            for query in self.queries(ep):
                yield Call(values, target, json=body, query=query, check=self.unseen_check(query))

    def unseen_check(self, query: dict[str, str]) -> Callable[[dict[str, Any]], None] | None:
        """A key only another organisation holds: A's answer is that of a key never seen, not a count."""
        foreign_only = {f"only-{o.letter}@example.org" for o in self.others} | {
            only_org_sha256(o.letter) for o in self.others
        }
        if not foreign_only & set(query.values()):
            return None

        def unseen(out: dict[str, Any]) -> None:
            assert (out["items"], out["report_count"], out["first_seen"], out["last_seen"]) == ([], 0, None, None), out

        return unseen

    def sealing_calls(self, ep: Endpoint, cred: str) -> Iterator[Call]:
        """Sealing's POST routes: bodies that carry ids (custodian actors, reports, warrants) carry foreign
        ones too, and the approval and review controls post bodies signed for A's own requests. Those are
        signed as A's registered custodian: a person's session is another actor, so there the own control
        is refused whatever the role (a custodian signs only as itself)."""
        key, seal = (ep.method, ep.path), self.seal
        signed = {"session": 403} if cred == "session" else None

        def fresh() -> str:  # a new public key per call, so only the role decides the answer
            return approvals.new_signing_key()[1]

        if key == ("POST", "/v1/custodians"):
            yield Call({}, "own", json={"actor_id": seal.custodian_actors[0], "public_key": fresh()})
            for other in self.foreign_seal:
                for actor_id in other.custodian_actors:
                    yield Call({}, "foreign", json={"actor_id": actor_id, "public_key": fresh()})
            yield Call({}, "missing", json={"actor_id": self.missing("act"), "public_key": fresh()})
        elif key == ("POST", "/v1/warrants"):
            yield Call({}, "own", json=warrant_body([seal.sealed_report]))
            for rid in self.foreign_by_kind["rpt"]:
                yield Call({}, "foreign", json=warrant_body([seal.sealed_report, rid]))
            yield Call({}, "missing", json=warrant_body([self.missing("rpt")]))
        elif key == ("POST", "/v1/unseal-requests"):
            own = {"warrant_id": seal.warrants[0], "report_id": seal.sealed_report, "fields": ["/narrative"]}
            yield Call({}, "own", json=own)
            for other in self.foreign_seal:
                yield Call({}, "foreign", json={**own, "report_id": other.sealed_report})
                yield Call({}, "foreign", json={**own, "warrant_id": other.warrants[0]})
            yield Call({}, "missing", json={**own, "report_id": self.missing("rpt")})
            yield Call({}, "missing", json={**own, "warrant_id": self.missing("wrt")})
        elif key == ("POST", "/v1/unseal-requests/{request_id}/approvals"):
            for values, target in self.path_values(ep):
                yield Call(values, target, json=seal.approval_body, expect=signed if target == "own" else None)
            for cid in self.foreign_by_kind["cus"]:  # A's own request, another organisation's custodian key
                yield Call(
                    {"request_id": seal.requests[0]}, "foreign", json={**seal.approval_body, "custodian_id": cid}
                )
        elif key == ("POST", "/v1/unseal-requests/{request_id}/review"):
            own_values = {"request_id": seal.requests[1]}
            for values, target in self.path_values(ep):
                if target == "own" and cred == "session":
                    self.once_only += 1  # a disclosure is reviewed once: the key pass did
                    continue
                yield Call(own_values if target == "own" else values, target, json=seal.review_body)
        else:  # the opening: no body (an ordinary opening by its requester, once: the key pass opens it)
            for values, target in self.path_values(ep):
                if target == "own" and cred == "session":
                    self.once_only += 1
                    continue
                yield Call(values, target)

    def queries(self, ep: Endpoint) -> list[dict[str, str]]:
        if ep.method != "GET":
            return [{}]
        if ep.path == "/v1/identifiers":
            return [
                {"kind": "email", "value": "subject.a@example.org"},  # every organisation holds it
                {"kind": "phone", "value": "+49 30 901820"},
                {"kind": "account", "service": "platform-01", "value": "u-100"},
                *({"kind": "email", "value": f"only-{o.letter}@example.org"} for o in self.others),
            ]
        if ep.path == "/v1/media":
            return [
                {"md5": "0" * 31 + "1"},  # every organisation holds it
                {"pdq": "f" * 64},
                *({"sha256": only_org_sha256(o.letter)} for o in self.others),
            ]
        if ep.path == "/v1/unseal-requests":
            return [{}, {"overdue": "true"}, *({"report_id": i} for i in self.foreign_by_kind["rpt"][-2:])]
        if ep.path == "/v1/audit/export":
            return [{}, *({"object_id": i} for i in self.foreign_by_kind["unr"])]
        if ep.path == "/v1/audit":
            probes = sorted(i for i in self.foreign if len(i) <= 40)  # STIX ids are no audit object ids
            return [
                {},
                *({"object_id": i} for i in probes),
                *({"actor_id": i} for o in self.others for i in o.actor_ids),
            ]
        if ep.path == "/v1/reports":
            return [{}, *({"cursor": i} for i in self.foreign_by_kind["rpt"][:2])]
        if ep.path == "/v1/export":  # the file must hold A's reports only (the leak check reads its text)
            return [{"format": "native"}, {"format": "native", "source": "platform"}]
        if ep.path == "/v1/cases":
            return [{}, *({"cursor": i} for i in self.foreign_by_kind["case"][:2])]
        if ep.path == "/v1/custody/proof/inclusion":  # proofs are hashes: another organisation's leaf is fine
            own, foreign = self.own["leaf"], self.foreign_by_kind["leaf"]
            return [{"seq": own}, {"seq": own, "size": str(int(own) + 1)}, *({"seq": s} for s in foreign)]
        if ep.path == "/v1/custody/proof/consistency":
            return [{"first": "0"}, {"first": "1", "second": self.foreign_by_kind["leaf"][-1]}]
        return [{}]

    # ------------------------------------------------------------------------- one request

    def run(self, ep: Endpoint, role: Role, call: Call, cred: str = "key") -> None:
        path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: call.values[m.group(1)], ep.path)
        token = self.a.tokens[role] if cred == "key" else self.a.sessions[role]
        if cred == "session" and (ep.method, ep.path) == ("DELETE", "/v1/sessions/current"):
            spare = sign_in_body(self.world, self.a.people[role], clock_step=True)
            token = ok(self.client.post("/v1/sessions", json=spare), 201)["token"]
        headers = {**auth(token), **call.headers}
        body = call.json
        changing = (ep.method, ep.path) == ("POST", "/v1/sessions/current/password")
        if changing:
            person = self.a.people[role]
            factors = sign_in_body(self.world, person, clock_step=True)
            new = f"{person.password}-changed"
            body = {"current_password": person.password, "totp": factors["totp"], "new_password": new}
        r = self.client.request(
            ep.method, path, headers=headers, params=call.query or None, json=body, content=call.content
        )
        if changing and r.status_code == 204:
            person.password = new
        self.calls[(ep.method, ep.path)] += 1
        self.targets[call.target] += 1
        self.by_cred[cred] += 1
        where = f"{cred} {role} {ep.method} {path} {call.query or ''} {call.json or ''}"
        assert r.status_code < 500, f"{where}: {r.status_code} {r.text[:300]}"

        # A refusal may repeat the id it was asked about, and nothing else of another organisation's.
        answer = r.text + " ".join(f"{k}: {v}" for k, v in r.headers.items())
        asked = "" if 200 <= r.status_code < 300 else f"{path} {call.query} {call.json} {call.content!r}"
        # A's own agreements name its partners (parties): their org ids, and nothing else of theirs
        partners = self.partners if ep.path.startswith("/v1/agreements") else set()
        leaked = [
            x for x in (*self.foreign, *self.foreign_names) if x in answer and x not in asked and x not in partners
        ]
        assert not leaked, f"{where}: {r.status_code} answer carries another organisation's {leaked}"
        if 200 <= r.status_code < 300 and r.headers.get("content-type", "").startswith("application/json"):
            orgs = set(org_ids(r.json()))
            assert orgs <= {self.a.id}, f"{where}: answer holds objects of {orgs - {self.a.id}}"

        if call.expect is not None:
            assert r.status_code == call.expect[cred], f"{where}: {r.status_code}, not {call.expect[cred]}: {r.text}"
            return
        action = ROUTE_ACTION.get((ep.method, ep.path), "unknown")
        actor = self.a.actors[role]
        if action == "unknown":  # a new route: the own-id control (run first) says whether the key may use it
            permitted = (ep.method, ep.path, role) in self.own_2xx_by_role
        else:
            permitted = action is None or allowed(actor, action)  # type: ignore[arg-type]

        if call.target == "own":
            if action == "unknown" and r.status_code != 403:
                assert 200 <= r.status_code < 300, f"{where}: the control answers {r.status_code} {r.text[:300]}"
            else:
                expected_own = {200, 201, 202} if permitted else {403}
                assert r.status_code in expected_own, f"{where}: own id answered {r.status_code} {r.text[:300]}"
            if 200 <= r.status_code < 300:
                self.own_2xx.add((ep.method, ep.path))
                self.own_2xx_by_role.add((ep.method, ep.path, role))
        elif call.target in ("foreign", "missing"):
            expected = 404 if permitted else 403
            assert r.status_code == expected, f"{where}: {call.target} id answered {r.status_code}, not {expected}"
            if call.target == "foreign":
                self.foreign_hit.add((ep.method, ep.path, role))
        elif action != "unknown":  # no foreign id in the request: allowed or refused by the role alone
            if permitted:
                assert 200 <= r.status_code < 300, f"{where}: {r.status_code} {r.text[:300]}"
                if call.check is not None:
                    call.check(r.json())
            else:
                assert r.status_code == 403, f"{where}: {r.status_code} {r.text[:300]}"

    def sweep(self) -> None:
        for ep in endpoints(self.client):
            for cred in CREDENTIALS:
                for role in SWEEP_ROLES:
                    for call in self.calls_for(ep, cred):
                        self.run(ep, role, call, cred)


def org_ids(value: Any) -> Iterator[str]:
    """Every string under an ``org_id`` key, anywhere in a JSON answer."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "org_id" and isinstance(v, str):
                yield v
            else:
                yield from org_ids(v)
    elif isinstance(value, list):
        for v in value:
            yield from org_ids(v)


# ----------------------------------------------------------------------------- the database


def snapshot(world: World, org_ids: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of these organisations, table by table."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with world.node.db.read() as conn:
        for table in schema.metadata.sorted_tables:
            col = table.c.get("org_id")
            if table is schema.organisations:
                col = table.c.id
            if col is None:  # tables without an owner column are checked through their parents
                continue
            rows = conn.execute(sa.select(table).where(col.in_(org_ids))).all()
            out[table.name] = sorted((tuple(str(v) for v in r) for r in rows), key=repr)
    return out


def cross_links(world: World) -> list[tuple[Any, ...]]:
    """case_reports rows whose case, report and row owner are not one organisation."""
    cr, c, r = schema.case_reports, schema.cases, schema.reports
    q = (
        sa.select(cr.c.case_id, cr.c.report_id, cr.c.org_id, c.c.org_id, r.c.org_id)
        .join(c, c.c.id == cr.c.case_id)
        .join(r, r.c.id == cr.c.report_id)
        .where(sa.or_(cr.c.org_id != c.c.org_id, cr.c.org_id != r.c.org_id))
    )
    with world.node.db.read() as conn:
        return [tuple(row) for row in conn.execute(q)]


# ----------------------------------------------------------------------------- the test


def test_foreign_ids_on_every_route(client: TestClient, world: World) -> None:
    # B and C use the same Idempotency-Key; A's sweep sends it too, with B's body.
    a = populate(client, world, "A", "a-own-key")
    b, c = (populate(client, world, letter, SHARED_IDEM) for letter in "BC")
    populate_retention(client, world, a, b, c)
    populate_taxii(client, a, b, c)
    populate_deconfliction(world, a, b, c)
    populate_case_refs(world, a, b, c)
    peer_node = populate_federation(world, a, b, c)
    # A's spare key, the one the DELETE control revokes.
    spare = ok(
        client.post(
            "/v1/credentials", json={"name": "spare", "roles": ["custodian"]}, headers=auth(a.tokens[Role.admin])
        ),
        201,
    )
    a.key_ids.append(spare["credential"]["id"])
    # A's spare person, whom the controls of the people routes disable, enable, reset and unlock.
    a.spare_person = enrol(client, a.tokens[Role.admin], ["analyst"], name="spare person").actor_id
    a.actor_ids.append(a.spare_person)
    operator = ok(client.get("/v1/organisations", headers=auth(world.operator_token)))
    operator_org = next(o["id"] for o in operator if o["operator"])

    before = snapshot(world, [b.id, c.id])
    assert sum(map(len, before.values())) > 40  # the snapshot does see B's and C's rows
    sweep = Sweep(client, world, a, [b, c], operator_org)
    sweep.own["node"] = peer_node
    sweep.sweep()
    # the operator's admin may use the federation routes, for the operator organisation's shares only
    op = auth(world.operator_token)
    assert client.get("/v1/federation/shares", headers=op).json() == []
    for share_id in (*b.shares, *c.shares):
        assert client.delete(f"/v1/federation/shares/{share_id}", headers=op).status_code == 404
    # and reads every local agreement, A's and B-C's
    everyone = client.get("/v1/agreements", headers=op).json()
    assert {x["id"] for x in everyone} == {*a.agreements, *b.agreements}
    after = snapshot(world, [b.id, c.id])

    changed = {
        t: {"gone or changed": sorted(set(before[t]) - set(after[t])), "new": sorted(set(after[t]) - set(before[t]))}
        for t in before
        if before[t] != after[t]
    }
    assert not changed, f"rows of B or C changed during A's sweep: {changed}"
    assert cross_links(world) == []

    # A's auditor reads A's whole trail afterwards: it records A's actions and never names B's or C's objects.
    events: list[dict[str, Any]] = []
    after_seq: int | None = None
    while True:
        params = {"limit": "1000", **({"after": str(after_seq)} if after_seq is not None else {})}
        page = ok(client.get("/v1/audit", params=params, headers=auth(a.tokens[Role.auditor])))
        events += page["items"]
        if page["next_cursor"] is None:
            break
        after_seq = page["next_cursor"]
    assert len(events) > 100 and {e["org_id"] for e in events} == {a.id}
    text = orjson.dumps(events).decode()
    assert not [x for x in sweep.foreign if x in text], "A's audit trail names another organisation's object"

    # The sweep did run: every route with each key, every foreign id, controls that succeeded.
    eps = endpoints(client)
    assert {(e.method, e.path) for e in eps} >= set(ROUTE_ACTION), "a route of the role table is no longer served"
    for e in eps:
        assert sweep.calls[(e.method, e.path)] >= len(SWEEP_ROLES), (e, sweep.calls[(e.method, e.path)])
        if e.params and ROUTE_ACTION.get((e.method, e.path)) not in OPERATOR_ONLY:  # none for A: operator-only
            assert (e.method, e.path) in sweep.own_2xx, f"{e.method} {e.path}: no key succeeded on A's own id"
            assert any(k[:2] == (e.method, e.path) for k in sweep.foreign_hit)
    total = sum(sweep.calls.values())
    assert total > 300 and sweep.targets["foreign"] > 150, (total, sweep.targets)
    assert sweep.by_cred["session"] + sweep.once_only == sweep.by_cred["key"], (sweep.by_cred, sweep.once_only)
