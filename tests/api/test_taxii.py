"""The TAXII 2.1 server and the pull client (docs/federation.md, "TAXII 2.1").

taxii2-client reads and writes against the app served by a real uvicorn server on a loopback port (SQLite);
the pull client pulls from it into a second node's bank, twice; the refusals run on both backends.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from accord.api.app import create_app
from accord.cli.taxii import BearerAuth
from accord.clock import FixedClock
from accord.model.bank import BankIn, EntriesIn
from accord.model.organisation import OrganisationIn, OrgKind, Role
from accord.services import admin, banks
from accord.services.node import open_node
from accord.settings import Settings
from accord.store import schema
from tests.cli.helpers import run
from tests.conftest import World, auth

TAXII = "application/taxii+json;version=2.1"
SHA = [f"{i:064x}" for i in range(1, 6)]


def agreement(
    world: World, *orgs: str, max_marking: str = "AMBER", categories: tuple[str, ...] = ("csam", "grooming", "other")
) -> str:
    node = world.node
    agr = node.ids("agr")
    with node.db.write() as conn:
        conn.execute(
            sa.insert(schema.agreements).values(
                id=agr,
                parties=list(orgs),
                purposes=["investigation"],
                legal_bases=["consent"],
                max_marking=max_marking,
                categories=list(categories),
                retention_days=365,
                onward_sharing=False,
                valid_from=node.clock.now(),
                created_at=node.clock.now(),
            )
        )
        conn.execute(sa.insert(schema.agreement_parties), [{"agreement_id": agr, "org_id": o} for o in orgs])
    return agr


def grouping(n: int, marking: str = "TLP:AMBER") -> list[dict[str, Any]]:
    """A partner's grouping around one file-hash indicator (neutral hashes only)."""
    tlp = {
        "TLP:AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        "TLP:RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }[marking]
    ind = f"indicator--00000000-0000-4000-8000-{n:012d}"
    return [
        {
            "type": "grouping",
            "spec_version": "2.1",
            "id": f"grouping--00000000-0000-4000-8000-{n:012d}",
            "created": "2026-11-20T10:00:00.000Z",
            "modified": "2026-11-20T10:00:00.000Z",
            "context": "suspicious-activity",
            "object_refs": [ind],
            "object_marking_refs": [tlp],
        },
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": ind,
            "created": "2026-11-20T10:00:00.000Z",
            "modified": "2026-11-20T10:00:00.000Z",
            "pattern": f"[file:hashes.'SHA-256' = '{SHA[n % len(SHA)]}']",
            "pattern_type": "stix",
            "valid_from": "2026-11-20T10:00:00Z",
            "object_marking_refs": [tlp],
        },
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(world: World) -> Iterator[str]:
    """The app on a loopback port, served by uvicorn in a thread."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(world.node, run_jobs=False), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/taxii2/"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_taxii2_client_reads_writes_and_the_pull_is_idempotent(world: World, served: str, tmp_path: Path) -> None:
    node = world.node
    platform, p_token = world.org("Platform", [Role.analyst])
    hotline, h_token = world.org("Hotline", [Role.analyst])
    outsider, o_token = world.org("Outsider", [Role.analyst])
    agr = agreement(world, platform, hotline)
    # the platform's bank bound to the agreement: its entries are the collection's indicators
    bank = banks.create_local(node, platform, BankIn(name="shared", type="sha256", marking="GREEN", agreement_id=agr))
    banks.add_entries_local(
        node, platform, bank.id, EntriesIn.model_validate({"entries": [{"value": v} for v in SHA[:3]]})
    )

    # the platform adds two groupings through taxii2-client and polls the status
    server = Server(served, auth=BearerAuth(p_token))
    assert len(server.api_roots) == 1
    root: ApiRoot = server.api_roots[0]
    assert root.versions == [TAXII]
    (coll,) = root.collections
    assert (coll.id, coll.can_read, coll.can_write) == (agr, True, True)
    status = coll.add_objects({"objects": [*grouping(1), *grouping(2)]}, wait_for_completion=True)
    assert (status.status, status.success_count, status.failure_count) == ("complete", 4, 0)
    status.refresh()
    assert status.success_count == 4

    # the hotline reads: everything at once, then in pages of 3 that add up to the same
    hotline_coll = Collection(coll.url, auth=BearerAuth(h_token))
    whole = hotline_coll.get_objects()["objects"]
    types = {o["type"] for o in whole}
    assert {"grouping", "indicator", "identity", "marking-definition"} <= types
    assert sum(o["type"] == "indicator" and "x_accord_bank" in o for o in whole) == 3
    paged = [o for page in as_pages(hotline_coll.get_objects, per_request=3) for o in page.get("objects", [])]
    assert [o["id"] for o in paged] == [o["id"] for o in whole] and len(whole) > 6
    manifest = hotline_coll.get_manifest()["objects"]
    assert [m["id"] for m in manifest] == [o["id"] for o in whole]
    only = hotline_coll.get_objects(type="indicator")["objects"]
    assert only and {o["type"] for o in only} == {"indicator"}
    one = hotline_coll.get_object(only[0]["id"])["objects"]
    assert one == [only[0]]

    # an organisation that is no party: the collection is not found, not forbidden
    r = requests.get(coll.url, headers={"Accept": TAXII, **auth(o_token)}, timeout=10)
    assert r.status_code == 404 and r.headers["content-type"] == TAXII and r.json()["http_status"] == "404"
    assert Server(served, auth=BearerAuth(o_token)).api_roots[0].collections == []
    assert outsider

    # the pull client: a second node's bank, twice: the same entries, nothing added the second time
    other = Settings(data_dir=tmp_path / "second")
    second = open_node(other)
    try:
        org = admin.bootstrap(second, OrganisationIn(name="Police", kind=OrgKind.law_enforcement, jurisdiction="FR"))[
            0
        ].id
        target = banks.create_local(second, org, BankIn(name="pulled", type="sha256", marking="AMBER"))
    finally:
        second.close()
    args = ["--data-dir", str(tmp_path / "second"), "taxii", "pull", "--url", served, "--api-root", "accord"]
    args += ["--collection", agr, "--org", org, "--bank", "pulled", "--limit", "4"]
    env = {"ACCORD_TAXII_TOKEN": h_token}
    code, out, err = run(args, env=env)
    assert code == 0, err
    assert "3 added" in out and "0 invalid" in out, out
    code, out, err = run(args, env=env)
    assert code == 0 and "0 objects" in out, out  # resumed after the cursor: nothing new
    second = open_node(other)
    try:
        values = sorted(e.value for e in banks.export_local(second, org, target.id).entries)
    finally:
        second.close()
    assert values == sorted(SHA[:3])
    # the platform adds more, later: the next pull takes only those
    assert isinstance(node.clock, FixedClock)
    node.clock.advance(timedelta(seconds=1))
    coll.add_objects({"objects": grouping(3)})
    banks.add_entries_local(node, platform, bank.id, EntriesIn.model_validate({"entries": [{"value": SHA[4]}]}))
    code, out, err = run(args, env=env)
    # the new report's indicator (SHA[3]) and the bank's new entry (SHA[4]), nothing pulled before
    assert code == 0 and "2 added, 0 already held" in out, out


def test_refusals_are_taxii_errors_and_store_nothing(client: TestClient, world: World) -> None:
    platform, p_token = world.org("Platform", [Role.analyst])
    hotline, _ = world.org("Hotline", [Role.analyst])
    _, o_token = world.org("Outsider", [Role.analyst])
    agr = agreement(world, platform, hotline)
    url = f"/taxii2/accord/collections/{agr}/objects/"
    headers = auth(p_token, Accept=TAXII, **{"Content-Type": TAXII})

    def reports() -> int:
        with world.node.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(schema.reports)).scalar_one())

    def taxii_error(r: Any, status: int) -> dict[str, Any]:
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == TAXII
        body: dict[str, Any] = r.json()
        assert body["http_status"] == str(status) and body["title"] and body["description"]
        return body

    taxii_error(client.post(url, content=b"not json", headers=headers), 400)
    taxii_error(client.post(url, json={"objects": [{"no": "type"}]}, headers=headers), 400)
    taxii_error(client.post(url, content=b'{"type": "bundle", "objects": 3}', headers=headers), 400)
    taxii_error(client.post(url, json={"objects": grouping(1)}, headers=auth(p_token)), 415)
    taxii_error(client.get(url, headers=auth(p_token, Accept="application/xml")), 406)
    taxii_error(client.get(url, headers=auth(o_token, Accept=TAXII)), 404)
    taxii_error(client.post(url, json={"objects": grouping(1)}, headers=auth(o_token, **{"Content-Type": TAXII})), 404)
    taxii_error(client.get(url, headers={"Accept": TAXII}), 401)
    taxii_error(client.get(url, params={"next": "???"}, headers=auth(p_token)), 400)
    taxii_error(client.get("/taxii2/accord/status/txs_nothing/", headers=auth(p_token)), 404)

    bad = grouping(1)
    bad[1]["pattern"] = "[file:hashes.'SHA-256' = ]"
    status = client.post(url, json={"objects": bad}, headers=headers)
    assert status.status_code == 202, status.text
    failed = status.json()
    assert failed["failure_count"] == 1 and "pattern" in failed["failures"][0]["message"]
    red = client.post(url, json={"objects": grouping(2, "TLP:RED")}, headers=headers).json()
    assert red["failure_count"] == 1 and "max_marking" in red["failures"][0]["message"]
    assert reports() == 0
    # the status is the adding organisation's own
    sid = red["id"]
    assert client.get(f"/taxii2/accord/status/{sid}/", headers=auth(p_token)).json() == red
    taxii_error(client.get(f"/taxii2/accord/status/{sid}/", headers=auth(o_token)), 404)

    ok = client.post(url, json={"objects": grouping(3)}, headers=headers).json()
    assert (ok["success_count"], ok["failure_count"]) == (2, 0) and reports() == 1
    again = client.post(url, json={"objects": grouping(3)}, headers=headers).json()
    assert again["success_count"] == 2 and reports() == 1  # the same objects again: the same report


def _count(world: World, table: sa.Table) -> int:
    with world.node.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _taxii_events(world: World, action: str) -> list[Any]:
    with world.node.db.read() as conn:
        t = schema.audit_events
        return list(conn.execute(sa.select(t).where(t.c.action == action).order_by(t.c.seq)))


def test_objects_of_a_category_outside_the_agreement_are_neither_accepted_nor_served(
    client: TestClient, world: World
) -> None:
    """The agreement's ``categories`` clause (``check_content``, the clause the federation checks judge
    too): an added report of another category fails naming the clause, one already held under the agreement
    is withheld from every read once the agreement no longer allows its category; both audited."""
    platform, p_token = world.org("Platform", [Role.analyst])
    hotline, h_token = world.org("Hotline", [Role.analyst])
    agr = agreement(world, platform, hotline, categories=("csam",))
    url = f"/taxii2/accord/collections/{agr}/objects/"
    headers = auth(p_token, Accept=TAXII, **{"Content-Type": TAXII})

    refused = client.post(url, json={"objects": grouping(1)}, headers=headers).json()  # a partner's: "other"
    assert (refused["success_count"], refused["failure_count"]) == (1, 1), refused
    (failure,) = refused["failures"]
    assert failure["id"] == grouping(1)[0]["id"]
    assert failure["message"] == "categories: category 'other' is not allowed (allowed: csam)"
    assert _count(world, schema.reports) == 0
    (event,) = _taxii_events(world, "taxii.add")
    assert (event.outcome, event.detail["refused"], event.detail["reports"]) == ("success", {"categories": 1}, [])

    # the parties allow "other" for a while: the report is added; then they narrow the agreement again
    with world.node.db.write() as conn:
        t = schema.agreements
        conn.execute(sa.update(t).where(t.c.id == agr).values(categories=["csam", "other"]))
    added = client.post(url, json={"objects": grouping(1)}, headers=headers).json()
    assert added["failure_count"] == 0 and _count(world, schema.reports) == 1
    read = auth(h_token, Accept=TAXII)
    served = {o["id"] for o in client.get(url, headers=read).json()["objects"]}
    (report_grouping,) = [i for i in served if i.startswith("grouping--")]  # the exporter's, for the report
    with world.node.db.write() as conn:
        conn.execute(sa.update(t).where(t.c.id == agr).values(categories=["csam"]))
    for path in (url, f"/taxii2/accord/collections/{agr}/manifest/"):
        listed = {o["id"] for o in client.get(path, headers=read).json().get("objects", [])}
        assert listed and not any(i.startswith(("grouping--", "indicator--", "file--")) for i in listed), listed
    one = client.get(f"{url}{report_grouping}/", headers=read)
    assert one.status_code == 404, one.text
    withheld = [e.detail.get("withheld") for e in _taxii_events(world, "taxii.objects")]
    assert withheld[0] is None and withheld[1:] == [{"categories": 1}] * (len(withheld) - 1), withheld


def test_a_taxii_add_is_one_transaction(client: TestClient, world: World) -> None:
    """The reports an add stores, their publication under the agreement, the status resource and the audit
    event commit together: a failure at the last write (the status row) leaves none of them."""
    platform, p_token = world.org("Platform", [Role.analyst])
    hotline, _ = world.org("Hotline", [Role.analyst])
    agr = agreement(world, platform, hotline)
    url = f"/taxii2/accord/collections/{agr}/objects/"
    headers = auth(p_token, Accept=TAXII, **{"Content-Type": TAXII})
    before = (_count(world, schema.audit_events), _count(world, schema.custody_leaves))

    def fail_on_status(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO TAXII_STATUSES"):
            raise RuntimeError("synthetic fault: the disk is full")

    engine = world.node.db.writer
    sa.event.listen(engine, "before_cursor_execute", fail_on_status)
    try:
        r = client.post(url, json={"objects": grouping(1) + grouping(2)}, headers=headers)
    finally:
        sa.event.remove(engine, "before_cursor_execute", fail_on_status)
    assert r.status_code == 500 and r.headers["content-type"] == TAXII, r.text
    assert (_count(world, schema.reports), _count(world, schema.taxii_statuses)) == (0, 0)
    assert _count(world, schema.custody_leaves) == before[1]
    assert _taxii_events(world, "report.create") == [] and _taxii_events(world, "taxii.add") == []
    ok = client.post(url, json={"objects": grouping(1) + grouping(2)}, headers=headers)  # the retry stores all
    assert ok.status_code == 202 and ok.json()["success_count"] == 4, ok.text
    assert (_count(world, schema.reports), _count(world, schema.taxii_statuses)) == (2, 1)
    with world.node.db.read() as conn:
        held = conn.execute(sa.select(schema.reports.c.agreement_id)).scalars().all()
    assert held == [agr, agr]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_collection_opened_through_the_api_works_with_taxii2_client(world: World, served: str) -> None:
    """No direct insert: the operator makes the agreement over HTTP (POST /v1/agreements), and then
    taxii2-client lists the collection, adds objects and reads them back; once the operator ends the
    agreement the collection is gone."""
    platform, p_token = world.org("Platform", [Role.analyst])
    hotline, h_token = world.org("Hotline", [Role.analyst])
    base = served.removesuffix("/taxii2/")
    op = auth(world.operator_token)
    body = {
        "parties": [platform, hotline],
        "purposes": ["investigation"],
        "legal_bases": ["mou"],
        "categories": ["csam", "other"],  # the importer files a grouping without a category as "other"
        "max_marking": "AMBER",
        "retention_days": 365,
    }
    made = requests.post(f"{base}/v1/agreements", json=body, headers=op, timeout=10)
    assert made.status_code == 201, made.text
    agr = made.json()["id"]

    (coll,) = Server(served, auth=BearerAuth(p_token)).api_roots[0].collections
    assert (coll.id, coll.can_read, coll.can_write) == (agr, True, True)
    status = coll.add_objects({"objects": [*grouping(1), *grouping(2)]}, wait_for_completion=True)
    assert (status.status, status.success_count, status.failure_count) == ("complete", 4, 0), status.failures
    theirs = Collection(coll.url, auth=BearerAuth(h_token))
    got = theirs.get_objects()["objects"]
    assert sum(o["type"] == "grouping" for o in got) == 2  # one report each, as Accord's exporter writes it
    indicators = {o["pattern"] for o in got if o["type"] == "indicator"}
    assert indicators == {f"[file:hashes.'SHA-256' = '{SHA[n]}']" for n in (1, 2)}

    ended = requests.post(f"{base}/v1/agreements/{agr}:end", headers=op, timeout=10)
    assert ended.status_code == 200 and ended.json()["in_force"] is False, ended.text
    assert Server(served, auth=BearerAuth(h_token)).api_roots[0].collections == []
    r = requests.get(coll.url, headers={"Accept": TAXII, **auth(h_token)}, timeout=10)
    assert r.status_code == 404
