"""/v1/import jobs, /v1/jobs/{id}, /v1/export, on both backends, through a real job runner."""

from __future__ import annotations

import gzip
import time

import orjson
from fastapi.testclient import TestClient

from accord.model.organisation import Role
from tests.conftest import World, auth, report_json


def ndjson(*docs: dict[str, object]) -> bytes:
    return b"".join(orjson.dumps(d) + b"\n" for d in docs)


def wait_for(client: TestClient, token: str, location: str, timeout: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(location, headers=auth(token)).json()
        if job["status"] in ("succeeded", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"job at {location} did not finish")


def test_import_job_runs_and_reports_progress_and_rejections(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    body = ndjson(report_json("j1"), report_json("j2")) + b"not json\n" + ndjson(report_json("j1"))
    res = client.post("/v1/import?name=batch.ndjson", content=gzip.compress(body), headers=auth(token))
    assert res.status_code == 202, res.text
    assert res.json()["status"] == "queued"
    job = wait_for(client, token, res.headers["Location"])
    assert job["status"] == "succeeded" and job["format"] is None
    assert job["progress"] == {
        "bytes_total": len(gzip.compress(body)),
        "bytes_done": len(gzip.compress(body)),
        "lines": 4,
        "accepted": 2,
        "duplicates": 1,
        "rejected": 1,
    }
    assert [(r["line"], r["pointer"]) for r in job["rejections"]] == [(3, "")]  # type: ignore[union-attr]
    listed = client.get("/v1/reports", headers=auth(token)).json()["items"]
    assert sorted(r["external_id"] for r in listed) == ["j1", "j2"]


def test_a_file_level_fault_fails_the_job_with_the_reason(client: TestClient, world: World) -> None:
    _, token = world.org("A", [Role.analyst])
    wide = '{"a": 1}\n'.encode("utf-16")
    res = client.post("/v1/import?name=wide.ndjson&format=native", content=wide, headers=auth(token))
    job = wait_for(client, token, res.headers["Location"])
    assert job["status"] == "failed" and "not UTF-8" in str(job["error"])


def test_jobs_are_scoped_to_their_organisation(client: TestClient, world: World) -> None:
    _, a = world.org("A", [Role.analyst])
    _, b = world.org("B", [Role.analyst])
    res = client.post("/v1/import", content=ndjson(report_json("s1")), headers=auth(a))
    wait_for(client, a, res.headers["Location"])
    other = client.get(res.headers["Location"], headers=auth(b))
    assert other.status_code == 404 and other.headers["content-type"] == "application/problem+json"


def test_import_refuses_unknown_format_and_role_without_writing(client: TestClient, world: World) -> None:
    _, analyst = world.org("A", [Role.analyst])
    _, auditor = world.org("B", [Role.auditor])
    bad = client.post("/v1/import?format=docx", content=b"x", headers=auth(analyst))
    assert bad.status_code == 422 and "unknown import format" in bad.json()["detail"]
    denied = client.post("/v1/import", content=ndjson(report_json("x")), headers=auth(auditor))
    assert denied.status_code == 403
    spool = world.node.settings.data_dir / "spool"
    assert not spool.exists() or list(spool.iterdir()) == []


def test_export_native_round_trips_through_import(client: TestClient, world: World) -> None:
    _, a = world.org("A", [Role.analyst])
    _, b = world.org("B", [Role.analyst])
    client.post(
        "/v1/reports:bulk",
        content=ndjson(report_json("e1"), report_json("e2", incident_type="grooming")),
        headers=auth(a),
    )
    out = client.get("/v1/export?format=native", headers=auth(a))
    assert out.status_code == 200 and out.headers["content-type"].startswith("application/x-ndjson")
    assert len(out.content.splitlines()) == 2
    only = client.get("/v1/export?format=native&incident_type=grooming", headers=auth(a))
    assert [orjson.loads(x)["external_id"] for x in only.content.splitlines()] == ["e2"]
    res = client.post("/v1/import", content=out.content, headers=auth(b))
    assert wait_for(client, b, res.headers["Location"])["progress"]["accepted"] == 2  # type: ignore[index]
    assert client.get("/v1/export?format=native", headers=auth(b)).content == out.content
    audit = client.get("/v1/audit?action=report.export", headers=auth(world.org("A2", [Role.auditor])[1]))
    assert audit.status_code == 200


def test_export_unknown_format_is_a_problem(client: TestClient, world: World) -> None:
    _, a = world.org("A", [Role.analyst])
    res = client.get("/v1/export?format=pdf", headers=auth(a))
    assert res.status_code == 422 and res.headers["content-type"] == "application/problem+json"
