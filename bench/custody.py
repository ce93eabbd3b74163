"""Custody log benchmark: append rate, proof generation and verification, full-log verification.

    python bench/custody.py                                  # 1,000,000 entries on SQLite
    python bench/custody.py --backend both                   # and on PostgreSQL
    python bench/custody.py --entries 100000 --proofs 200

Appends go through ``accord.services.custody.record`` in batches (default 1,000 entries a transaction,
each committed with the backend's full durability), as intake will call it. Timed: the append and the
commit; building the ``CustodyEntry`` objects is the caller's work and is reported apart. At the end, on
the full log: inclusion proofs for random entries (generation from the stored subtree hashes, alone and
as the API serves them with their audit event; verification with ``accord.custody.merkle``),
consistency proofs, and ``verify_log`` over everything. Results go to bench/out/custody.json.
Targets (issue 5): >= 10,000 appends/s, a proof in < 1 ms, full verification of 1M in < 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accord.custody import merkle  # noqa: E402
from accord.custody.entry import CustodyAction, CustodyEntry  # noqa: E402
from accord.ids import ActorId, OrgId  # noqa: E402
from accord.model.organisation import CredentialIn, OrganisationIn, OrgKind, Role  # noqa: E402
from accord.services import admin, custody  # noqa: E402
from accord.services.node import Node, open_node  # noqa: E402
from accord.settings import Settings  # noqa: E402
from accord.store import custody as store  # noqa: E402

OUT = ROOT / "bench" / "out"
PG_URL = os.environ.get("ACCORD_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ACTIONS = list(CustodyAction)


def batch(start: int, n: int, at: datetime) -> list[CustodyEntry]:
    """Entries shaped like intake's: a few organisations and actors, report ids, one digest each."""
    return [
        CustodyEntry(
            action=ACTIONS[0] if i % 7 else ACTIONS[3],
            actor_id=ActorId(f"act_01JBENCH{i % 50:017d}"),
            org_id=OrgId(f"org_01JBENCH{i % 5:017d}"),
            at=at + timedelta(microseconds=i),
            object_type="report",
            object_id=f"rpt_01JBENCH{i:017d}",
            digest=secrets.token_hex(32),
            detail={"source": "platform"},
        )
        for i in range(start, start + n)
    ]


def ms(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        "median_ms": round(statistics.median(values) * 1000, 4),
        "p99_ms": round(values[int(len(values) * 0.99) - 1] * 1000, 4),
        "max_ms": round(values[-1] * 1000, 4),
    }


def run(node: Node, backend: str, entries: int, size: int, proofs: int) -> dict[str, Any]:
    _, issued = admin.bootstrap(node, OrganisationIn(name="Bench", kind=OrgKind.hotline, jurisdiction="NL"))
    org = admin.authenticate(node, issued.token).org_id
    reader = admin.authenticate(
        node, admin.create_credential_local(node, org, CredentialIn(name="r", roles=[Role.analyst])).token
    )
    at = datetime(2026, 11, 25, tzinfo=UTC)
    build = append = 0.0
    marks: list[dict[str, Any]] = []
    window_append, window_n = 0.0, 0
    done = 0
    while done < entries:
        n = min(size, entries - done)
        t0 = time.perf_counter()
        es = batch(done, n, at)
        t1 = time.perf_counter()
        with node.db.write() as conn:
            custody.record(node, conn, es)
        t2 = time.perf_counter()
        build += t1 - t0
        append += t2 - t1
        window_append += t2 - t1
        done += n
        window_n += n
        if done % 100_000 == 0 or done == entries:
            rate = window_n / window_append
            marks.append({"entries": done, "append_per_s_recent": round(rate)})
            print(f"  {backend}: {done:>9,} entries, {rate:,.0f} appends/s over the last {window_n:,}", flush=True)
            window_append, window_n = 0.0, 0
    result: dict[str, Any] = {
        "backend": backend,
        "entries": entries,
        "batch": size,
        "append_per_s": round(entries / append),
        "append_s": round(append, 2),
        "build_entries_per_s": round(entries / build),
        "progress": marks,
    }

    cp = custody.current_checkpoint(node).checkpoint
    rng = random.Random(1)
    seqs = [rng.randrange(entries) for _ in range(proofs)]
    gen, served, ver = [], [], []
    with node.db.read() as conn:
        for seq in seqs:
            t0 = time.perf_counter()
            p = custody._inclusion(conn, seq, None, None)  # generation alone: one read, no audit write
            gen.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ok = merkle.verify_inclusion(p.seq, p.tree_size, p.leaf_hash, p.proof, cp.root_hash)
            ver.append(time.perf_counter() - t0)
            assert ok, seq
    for seq in seqs[: min(proofs, 200)]:
        t0 = time.perf_counter()
        custody.inclusion_proof(node, reader, seq=seq)  # as the API serves it: plus its audit event, committed
        served.append(time.perf_counter() - t0)
    cons_gen, cons_ver = [], []
    with node.db.read() as conn:
        for _ in range(proofs):
            first = rng.randrange(1, entries)
            t0 = time.perf_counter()
            c = custody._consistency(conn, first, None)
            cons_gen.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            assert merkle.verify_consistency(first, c.second, c.first_root, c.second_root, c.proof)
            cons_ver.append(time.perf_counter() - t0)
    result["inclusion_generate"] = ms(gen)
    result["inclusion_verify"] = ms(ver)
    result["inclusion_served_with_audit"] = ms(served)
    result["consistency_generate"] = ms(cons_gen)
    result["consistency_verify"] = ms(cons_ver)
    print(f"  {backend}: inclusion proof {result['inclusion_generate']}, verify {result['inclusion_verify']}")

    t0 = time.perf_counter()
    v = custody.verify_log(node)
    result["verify_log_s"] = round(time.perf_counter() - t0, 2)
    assert v.ok and v.leaves == entries, v.faults[:5]
    print(f"  {backend}: full verification of {entries:,} leaves in {result['verify_log_s']} s")
    with node.db.read() as conn:
        result["tree_size"] = store.state(conn).size
    return result


def sqlite_run(entries: int, size: int, proofs: int) -> dict[str, Any]:
    data = OUT / "custody-sqlite"
    shutil.rmtree(data, ignore_errors=True)
    node = open_node(Settings(data_dir=data))
    try:
        result = run(node, "sqlite", entries, size, proofs)
        result["db_mb"] = round(sum(f.stat().st_size for f in data.glob("accord.db*")) / 1e6)
        return result
    finally:
        node.close()
        shutil.rmtree(data, ignore_errors=True)


def pg_run(entries: int, size: int, proofs: int) -> dict[str, Any]:
    schema = f"bench_{secrets.token_hex(4)}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    node = open_node(Settings(data_dir=OUT / "custody-pg", database_url=PG_URL), schema=schema)
    try:
        return run(node, "postgresql", entries, size, proofs)
    finally:
        node.close()
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
        shutil.rmtree(OUT / "custody-pg", ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--proofs", type=int, default=1000)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results = {"load_before": os.getloadavg(), "cpus": os.cpu_count(), "runs": []}
    if args.backend in ("sqlite", "both"):
        results["runs"].append(sqlite_run(args.entries, args.batch, args.proofs))
    if args.backend in ("postgresql", "both"):
        results["runs"].append(pg_run(args.entries, args.batch, args.proofs))
    results["load_after"] = os.getloadavg()
    (OUT / "custody.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
