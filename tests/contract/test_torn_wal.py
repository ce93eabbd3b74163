"""RELIABILITY D5, torn WAL: a SQLite node's write-ahead log cut at a random byte still opens as a whole
prefix of what was committed.

A real node directory takes a few thousand reports through bulk intake (``reports.ingest_lines``, one
committed batch at a time, each report with its "received" custody leaf in the same transaction).
Part-way the WAL is checkpointed into the database file, as a running node's is; the rest
stays in the WAL (the node checkpoints only every 20,000 pages). The database file and its ``-wal`` are
copied while the node still holds them open, then for each random offset the ``-wal`` copy is cut
there (a torn write, or a disk that kept only part of the log) and the copy is opened as a node. It must
open; ``PRAGMA integrity_check`` says ok; the custody log verifies and its leaves are the first leaves
of the original log; the audit chain verifies; every report has its ``report.create`` event and all
its identifier links; the reports are whole batches (a batch is one transaction: all of it or none).

CI form: 10 offsets. ``-m slow``: 50. Figures in docs/reliability.md (``-s`` prints them).
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from accord.clock import FixedClock
from accord.model.organisation import CredentialIn, OrganisationIn, OrgKind, Role
from accord.safeguards.apikeys import KeyVerifier
from accord.services import admin, audit, custody, reports
from accord.services.node import Node, open_node
from accord.settings import Settings
from accord.store.schema import custody_leaves
from tests.conftest import report_json

REPORTS = 3000
BATCH = 100
CHECKPOINTED = 10  # batches in the database file before the copy; the other 20 are only in the WAL
IDENTIFIERS = 3  # account, e-mail and phone in report_json


def _open(data_dir: Path, clock: FixedClock) -> Node:
    cheap = KeyVerifier(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    return open_node(Settings(data_dir=data_dir), clock=clock, keys=cheap)


def _checkpoint(node: Node) -> None:
    raw = node.db.writer.raw_connection()  # outside a transaction: the engine would BEGIN IMMEDIATE
    try:
        busy, _, _ = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        raw.close()
    assert busy == 0


def _leaf_hashes(node: Node) -> list[bytes]:
    with node.db.read() as conn:
        return [bytes(h) for (h,) in conn.execute(sa.select(custody_leaves.c.leaf_hash).order_by(custody_leaves.c.seq))]


def _build(data_dir: Path, clock: FixedClock) -> tuple[Node, list[list[str]]]:
    """A node with REPORTS reports in batches of BATCH, its WAL holding all but the first CHECKPOINTED
    batches; returns the open node and the external ids of each batch, in commit order."""
    node = _open(data_dir, clock)
    admin.bootstrap(node, OrganisationIn(name="Operator", kind=OrgKind.hotline, jurisdiction="NL"))
    org = admin.create_org_local(node, OrganisationIn(name="A", kind=OrgKind.hotline, jurisdiction="DE"))
    token = admin.create_credential_local(node, org.id, CredentialIn(name="bulk", roles=[Role.submitter])).token
    actor = admin.authenticate(node, token)
    batches: list[list[str]] = []
    for b in range(REPORTS // BATCH):
        if b == CHECKPOINTED:
            _checkpoint(node)
        lines = []
        for i in range(b * BATCH, (b + 1) * BATCH):
            body = report_json(f"x{i}")
            body["subjects"][0]["identifiers"][1]["value"] = f"subject{i}@example.org"  # type: ignore[index]
            lines.append((i + 1, orjson.dumps(body)))
        result = reports.ingest_lines(node, actor, lines, batch_size=BATCH)
        assert result.accepted == BATCH, result.rejected[:3]
        batches.append([f"x{i}" for i in range(b * BATCH, (b + 1) * BATCH)])
    return node, batches


def _check_copy(node: Node, batches: list[list[str]], original: list[bytes]) -> dict[str, int]:
    with node.db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        rows = conn.exec_driver_sql("SELECT id, external_id FROM reports").all()
        unaudited = conn.exec_driver_sql(
            "SELECT count(*) FROM reports r WHERE NOT EXISTS (SELECT 1 FROM audit_events a "
            "WHERE a.object_id = r.id AND a.action = 'report.create')"
        ).scalar()
        partial = conn.exec_driver_sql(
            "SELECT count(*) FROM reports r WHERE (SELECT count(*) FROM report_observables l "
            "JOIN observables o ON o.id = l.observable_id WHERE l.report_id = r.id AND o.kind = 'identifier') <> ?",
            (IDENTIFIERS,),
        ).scalar()
        received = {
            oid
            for (oid,) in conn.exec_driver_sql("SELECT object_id FROM custody_leaves WHERE action = 'received'").all()
        }
    assert unaudited == 0 and partial == 0
    present = {ext for _, ext in rows}
    whole = 0
    while whole < len(batches) and set(batches[whole]) <= present:
        whole += 1
    assert present == {e for batch in batches[:whole] for e in batch}, "a batch was stored in part"
    ids = {rid for rid, _ in rows}
    assert received == ids, "a report without its received leaf, or a leaf about a report not stored"
    log = custody.verify_log(node)
    assert log.ok, log.faults[:3]
    assert _leaf_hashes(node) == original[: log.size], "the log is not a prefix of the original"
    trail = audit.verify(node)
    assert trail.ok, trail.breaks[:3]
    return {"reports": len(ids), "batches": whole, "leaves": log.size, "audit": trail.checked}


def run_d5(tmp_path: Path, clock: FixedClock, offsets: int, seed: int) -> list[dict[str, int]]:
    node, batches = _build(tmp_path / "node", clock)
    try:
        original = _leaf_hashes(node)
        golden = tmp_path / "golden"
        golden.mkdir()
        # copied while the node holds them open, nothing being written: no -shm, the copy rebuilds it
        for name in ("accord.db", "accord.db-wal"):
            shutil.copyfile(tmp_path / "node" / name, golden / name)
        full = _check_copy_at(tmp_path, golden, None, clock, batches, original)
        assert full["reports"] == REPORTS and full["leaves"] == len(original)
    finally:
        node.close()
    wal_size = (golden / "accord.db-wal").stat().st_size
    assert 32 < wal_size < 20000 * 4096, wal_size  # one WAL, never checkpointed by the node meanwhile
    rng = random.Random(seed)
    cuts = sorted(rng.randrange(0, wal_size) for _ in range(offsets))
    figures = [{"offset": cut, **_check_copy_at(tmp_path, golden, cut, clock, batches, original)} for cut in cuts]
    assert figures[0]["batches"] >= CHECKPOINTED  # the database file alone holds the checkpointed batches
    print(f"\nD5 torn WAL: WAL {wal_size:,} bytes, {len(original):,} leaves, {REPORTS:,} reports")
    for f in figures:
        print(f"  cut at {f['offset']:>10,}: opens, integrity ok, {f['batches']} whole batches, {f['leaves']} leaves")
    behind = sum(f["leaves"] < f["reports"] for f in figures)
    print(
        f"  {len(figures)}/{len(figures)} open with integrity ok and a verified custody prefix; "
        f"{len({f['batches'] for f in figures})} distinct prefixes ({min(f['batches'] for f in figures)}-"
        f"{max(f['batches'] for f in figures)} batches); last batch without its received leaves: {behind}"
    )
    return figures


def _check_copy_at(
    tmp_path: Path,
    golden: Path,
    cut: int | None,
    clock: FixedClock,
    batches: list[list[str]],
    original: list[bytes],
) -> dict[str, int]:
    trial = tmp_path / "trial"
    shutil.rmtree(trial, ignore_errors=True)
    trial.mkdir()
    shutil.copyfile(golden / "accord.db", trial / "accord.db")
    with (golden / "accord.db-wal").open("rb") as src, (trial / "accord.db-wal").open("wb") as dst:
        dst.write(src.read() if cut is None else src.read(cut))
    node = _open(trial, clock)
    try:
        return _check_copy(node, batches, original)
    finally:
        node.close()


def test_d5_torn_wal(tmp_path: Path, clock: FixedClock) -> None:
    figures = run_d5(tmp_path, clock, 10, seed=5)
    assert len(figures) == 10


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_d5_torn_wal_long(tmp_path: Path, clock: FixedClock, request: pytest.FixtureRequest) -> None:
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("long form: run with -m slow")
    figures = run_d5(tmp_path, clock, 50, seed=2026)
    assert len(figures) == 50 and len({f["batches"] for f in figures}) > 10
