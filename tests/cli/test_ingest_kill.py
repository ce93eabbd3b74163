"""A bulk ingest killed with SIGKILL part-way loses no acknowledged report and leaves no half-written one.

A real ``accord ingest`` subprocess prints ``ack N`` after each committed batch; we kill it at random
points, then check the database: at least N reports, each with all of its identifier rows, its audit
event and its one "received" custody leaf, the audit chain and the custody log intact. Re-running the
same file completes the set with no duplicates.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from tests.cli.helpers import accord_cmd, run_sub, subprocess_env, token_in
from tests.conftest import report_json

N = 3000
KEYS_PER_REPORT = 3  # account, e-mail and phone in report_json


def write_reports(path: Path) -> None:
    with path.open("wb") as fh:
        for i in range(N):
            body = report_json(f"k{i}")
            body["subjects"][0]["identifiers"][1]["value"] = f"subject{i}@example.org"  # type: ignore[index]
            fh.write(orjson.dumps(body) + b"\n")


_SPAN = (
    "SELECT {f}(r.received_at) FROM report_observables l JOIN reports r ON r.id = l.report_id "
    "WHERE l.observable_id = o.id"
)
_PENDING = "SELECT {f}(p.{c}) FROM observable_pending p WHERE p.observable_id = o.id"


def check_store(url: str, schema: str | None) -> tuple[int, int]:
    """(reports stored, observable rows pending) after checking that the store is consistent."""
    args = {"options": f"-csearch_path={schema}"} if schema else {}
    engine = sa.create_engine(url, connect_args=args)
    with engine.connect() as conn:
        reports = conn.execute(sa.text("SELECT count(*) FROM reports")).scalar_one()
        partial = conn.execute(
            sa.text(
                "SELECT count(*) FROM reports r WHERE (SELECT count(*) FROM report_observables l "
                "JOIN observables o ON o.id = l.observable_id "
                "WHERE l.report_id = r.id AND o.kind = 'identifier') <> :k"
            ),
            {"k": KEYS_PER_REPORT},
        ).scalar_one()
        unaudited = conn.execute(
            sa.text(
                "SELECT count(*) FROM reports r WHERE NOT EXISTS (SELECT 1 FROM audit_events a "
                "WHERE a.object_id = r.id AND a.action = 'report.create')"
            )
        ).scalar_one()
        dup = conn.execute(
            sa.text("SELECT count(*) FROM (SELECT external_id FROM reports GROUP BY external_id HAVING count(*) > 1) d")
        ).scalar_one()
        # each report has exactly one "received" custody leaf, and the log holds nothing else
        unreceived = conn.execute(
            sa.text(
                "SELECT count(*) FROM reports r WHERE (SELECT count(*) FROM custody_leaves c "
                "WHERE c.object_id = r.id AND c.action = 'received') <> 1"
            )
        ).scalar_one()
        leaves = conn.execute(sa.text("SELECT count(*) FROM custody_leaves")).scalar_one()
        # each record's aggregates (its columns with what an unfinished import left pending: see
        # accord.store.observables) are those of the reports linked to it, however the import ended
        drifted = conn.execute(
            sa.text(
                "SELECT count(*) FROM observables o WHERE "
                "o.report_count + coalesce((SELECT sum(p.report_count) FROM observable_pending p "
                "WHERE p.observable_id = o.id), 0) <> (SELECT count(*) FROM report_observables l "
                "WHERE l.observable_id = o.id) "
                f"OR ({_SPAN.format(f='min')}) <> CASE WHEN ({_PENDING.format(f='min', c='first_seen')}) "
                f"< o.first_seen THEN ({_PENDING.format(f='min', c='first_seen')}) ELSE o.first_seen END "
                f"OR ({_SPAN.format(f='max')}) <> CASE WHEN ({_PENDING.format(f='max', c='last_seen')}) "
                f"> o.last_seen THEN ({_PENDING.format(f='max', c='last_seen')}) ELSE o.last_seen END"
            )
        ).scalar_one()
        pending = conn.execute(sa.text("SELECT count(*) FROM observable_pending")).scalar_one()
    engine.dispose()
    assert partial == 0 and unaudited == 0 and dup == 0 and unreceived == 0 and drifted == 0
    assert leaves == reports
    return int(reports), int(pending)


def children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        out.update(int(c) for c in (task / "children").read_text().split())
    return out


def gone(pids: set[int], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{p}").exists() and "Z" not in _state(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "Z"


@pytest.mark.parametrize(
    ("backend", "parse_workers"),
    [("sqlite", 0), ("sqlite", 1), ("postgresql", 0)],
    ids=["sqlite", "sqlite-helper", "postgresql"],
)
def test_sigkill_during_ingest(
    tmp_path: Path, backend: str, parse_workers: int, request: pytest.FixtureRequest
) -> None:
    """With a parse helper (parse_workers=1) the helper must also go when the ingest is killed."""
    from tests.conftest import SKIP_PG

    if backend == "postgresql" and SKIP_PG:
        pytest.skip("ACCORD_TEST_SKIP_PG=1")
    if backend == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'node' / 'accord.db'}", None
    else:
        pg = request.getfixturevalue("pg_schema")
        url, schema = f"{pg.url}?options=-csearch_path%3D{pg.name}", pg.name
    env = subprocess_env(ACCORD_DATA_DIR=str(tmp_path / "node"), ACCORD_DATABASE_URL=url)
    init = run_sub(["init"], env, tmp_path)
    assert init.returncode == 0, init.stderr
    org = init.stdout.split("operator organisation: ")[1].split()[0]
    key = token_in(
        run_sub(["key", "create", "--org", org, "--name", "bulk", "--role", "submitter"], env, tmp_path).stdout
    )
    data = tmp_path / "reports.ndjson"
    write_reports(data)
    plain_url = url.split("?")[0]
    rng = random.Random(1234)
    kills = 0
    killed_pending = False
    for _ in range(3):
        proc = subprocess.Popen(
            accord_cmd(
                "ingest", str(data), "--key", key, "--batch-size", "50", "--acks", "--parse-workers", str(parse_workers)
            ),
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        stop_after = rng.randint(3, 12)
        acked = 0
        for line in proc.stdout:
            if line.startswith("ack "):
                acked = int(line.split()[1])
                stop_after -= 1
                if stop_after == 0:
                    break
        helpers = children(proc.pid)
        assert len(helpers) >= parse_workers
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        if proc.returncode == -signal.SIGKILL:
            kills += 1
        assert gone(helpers), "a parse helper outlived the killed ingest"
        stored, pending = check_store(plain_url, schema)
        killed_pending = killed_pending or pending > 0
        assert stored >= acked, f"acknowledged {acked} reports but only {stored} are stored"
    assert kills >= 1
    # SQLite: a killed import left its batches' additions to earlier records pending, checked above
    assert killed_pending == (backend == "sqlite")
    final = run_sub(["ingest", str(data), "--key", key], env, tmp_path)
    assert final.returncode == 0, final.stderr
    assert check_store(plain_url, schema) == (N, 0)  # the finished import folded everything in
    verify = run_sub(["audit", "verify"], env, tmp_path)
    assert verify.returncode == 0, verify.stderr
    log = run_sub(["custody", "verify"], env, tmp_path)  # no bundle: the node's whole log
    assert log.returncode == 0, log.stderr + log.stdout
