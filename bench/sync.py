"""Sync benchmark: bank entries pulled end to end between nodes on loopback, and a retraction down a chain.

    python bench/sync.py                                  # 100,000 entries, batch 500, 3 runs
    python bench/sync.py --entries 20000 --batch 1000 --runs 5
    python bench/sync.py --entries 10000 --no-chain

**Throughput.** The sending node (a platform's) runs ``accord serve`` (uvicorn, one process, SQLite) on a
loopback port with a bank of ``--entries`` sha256 entries shared into an agreement's feed. Each run is a
fresh receiving node (a hotline's; its own data directory, identity and agreement with the sender) that
pulls the whole feed as ``accord peer sync`` would, in this process, over real HTTP: every batch a signed
pull envelope, a signed batch envelope recorded as sent with a ``shared_out`` custody leaf, opened,
applied into the mirror bank, kept with ``shared_in`` and ``receipt`` leaves, and its signed receipt
posted back and kept by the sender as a ``receipt`` leaf. Signatures and custody are always on. The
figure is entries applied per second of the pull's wall time, median of ``--runs``; ``--batch`` is
``ACCORD_SYNC_BATCH`` on both sides.

**Retraction down a chain.** Three nodes, platform -> hotline -> police: the platform shares a bank under an
agreement that allows onward sharing, the hotline shares its mirror on to the police, both pull once.
Then, ``--retractions`` times: an entry is retracted at the platform, the hotline pulls, the police
pulls; the time is from the retraction's commit to the police's mirror entry being retracted (each pull
started as soon as the previous finished, as ``accord peer sync`` with no wait between rounds would; a
deployment adds its ``--interval`` per hop). Results go to bench/out/sync.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from accord.model.bank import BankIn, EntriesIn, EntryIn  # noqa: E402
from accord.model.organisation import OrgKind  # noqa: E402
from accord.services import banks, sync  # noqa: E402
from accord.services.node import Node, open_node  # noqa: E402
from accord.settings import Settings  # noqa: E402
from accord.store import schema  # noqa: E402
from tests.federation.processes import Server, Site, agree, know, open_site  # noqa: E402

OUT = ROOT / "bench" / "out"


def value(n: int) -> str:
    return hashlib.sha256(f"synthetic bench entry {n}".encode()).hexdigest()


def fill(node: Node, org: str, name: str, entries: int) -> str:
    bank = banks.create_local(node, org, BankIn(name=name, type="sha256"))
    for start in range(0, entries, 5000):
        chunk = [EntryIn(value=value(i)) for i in range(start, min(entries, start + 5000))]
        banks.add_entries_local(node, org, bank.id, EntriesIn(entries=chunk))
    return bank.id


def reopen(site: Site, batch: int) -> Node:
    return open_node(Settings(data_dir=site.data_dir, sync_batch=batch))


def throughput(work: Path, entries: int, batch: int, runs: int) -> dict[str, Any]:
    p_site, p = open_site(work / "platform", "Platform", OrgKind.platform, "NL")
    t0 = time.perf_counter()
    bank = fill(p, p_site.org, "platform hashes", entries)
    fill_s = time.perf_counter() - t0
    receivers = []
    for r in range(runs):
        h_site, h = open_site(work / f"hotline{r}", "Hotline", OrgKind.hotline, "DE")
        know(p, h, h_site)
        know(h, p, p_site)
        agreement = agree([(p, p_site), (h, h_site)], f"agr_01BENCHSYNC{r:015d}")
        sync.share_bank(p, None, p_site.org, bank, agreement.id, "csam")
        h.close()
        receivers.append(h_site)
    p.close()
    results = []
    with Server(p_site, batch=batch, log=work / "platform.log"):
        for h_site in receivers:
            h = reopen(h_site, batch)
            try:
                t0, c0 = time.perf_counter(), time.process_time()
                (done,) = asyncio.run(sync.sync(h))
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                assert done.error is None and done.applied == entries, done
                with h.db.read() as conn:
                    leaves = conn.execute(sa.select(sa.func.count()).select_from(schema.custody_leaves)).scalar()
            finally:
                h.close()
            results.append({"wall_s": wall, "puller_cpu_s": cpu, "batches": done.batches, "receiver_leaves": leaves})
            print(f"  {entries} entries, batch {batch}: {wall:.1f} s, {entries / wall:,.0f} entries/s", flush=True)
    walls = [r["wall_s"] for r in results]
    return {
        "entries": entries,
        "batch": batch,
        "fill_s": fill_s,
        "runs": results,
        "median_s": statistics.median(walls),
        "median_entries_per_s": entries / statistics.median(walls),
    }


def chain(work: Path, entries: int, batch: int, retractions: int) -> dict[str, Any]:
    p_site, p = open_site(work / "c-platform", "Platform", OrgKind.platform, "NL")
    h_site, h = open_site(work / "c-hotline", "Hotline", OrgKind.hotline, "DE")
    c_site, c = open_site(work / "c-police", "Police", OrgKind.law_enforcement, "BE")
    know(p, h, h_site)
    know(h, p, p_site)
    know(h, c, c_site)
    know(c, h, h_site)
    know(c, p, p_site, trust=False)
    ph = agree([(p, p_site), (h, h_site)], "agr_01BENCHCHAINPH0000000000", onward=True, upstream=[c])
    hc = agree([(h, h_site), (c, c_site)], "agr_01BENCHCHAINHC0000000000")
    bank = fill(p, p_site.org, "platform hashes", entries)
    sync.share_bank(p, None, p_site.org, bank, ph.id, "csam")
    for n in (p, h, c):
        n.close()
    out: list[dict[str, float]] = []
    with Server(p_site, batch=batch, log=work / "c-platform.log"), Server(h_site, batch=batch, log=work / "c-h.log"):
        p, h, c = (reopen(s, batch) for s in (p_site, h_site, c_site))
        try:
            asyncio.run(sync.sync(h))
            mirror = next(b for b in banks.list_banks_local(h, h_site.org))
            sync.share_bank(h, None, h_site.org, mirror.id, hc.id, "csam")
            asyncio.run(sync.sync(c))
            ids = [e.id for e in banks.export_local(p, p_site.org, bank).entries]
            for i in range(retractions):
                t0 = time.perf_counter()
                banks.retract_entry_local(p, p_site.org, bank, ids[i], "bench retraction")
                t1 = time.perf_counter()
                asyncio.run(sync.sync(h))
                t2 = time.perf_counter()
                asyncio.run(sync.sync(c))
                t3 = time.perf_counter()
                with c.db.read() as conn:
                    t = schema.bank_entries.c
                    retracted = conn.execute(sa.select(sa.func.count()).where(t.retracted.is_(True))).scalar()
                assert retracted == i + 1, retracted
                out.append({"retract_s": t1 - t0, "hop1_s": t2 - t1, "hop2_s": t3 - t2, "total_s": t3 - t1})
                print(f"  retraction {i}: reached the police in {t3 - t1:.3f} s", flush=True)
        finally:
            for n in (p, h, c):
                n.close()
    return {
        "entries": entries,
        "runs": out,
        "median_total_s": statistics.median(r["total_s"] for r in out),
        "median_hop_s": statistics.median([r["hop1_s"] for r in out] + [r["hop2_s"] for r in out]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, nargs="+", default=[100_000])
    ap.add_argument("--batch", type=int, nargs="+", default=[500])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--retractions", type=int, default=5)
    ap.add_argument("--no-chain", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="accord-bench-sync-"))
    results: dict[str, Any] = {"throughput": []}
    try:
        for n in args.entries:
            for b in args.batch:
                print(f"throughput: {n} entries, batch {b}", flush=True)
                results["throughput"].append(throughput(work / f"t{n}-{b}", n, b, args.runs))
        if not args.no_chain:
            print("retraction down a chain of three", flush=True)
            results["chain"] = chain(work, 1000, args.batch[0], args.retractions)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    meta = {"python": sys.version.split()[0], "machine": platform.machine(), "cpus": os.cpu_count()}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "sync.json").write_text(json.dumps({"meta": meta, **results}, indent=2))
    for t in results["throughput"]:
        print(
            f"{t['entries']:>7} entries, batch {t['batch']:>5}: median {t['median_s']:.1f} s, "
            f"{t['median_entries_per_s']:,.0f} entries/s"
        )
    if "chain" in results:
        ch = results["chain"]
        print(f"retraction to the third node: median {ch['median_total_s']:.3f} s ({ch['median_hop_s']:.3f} s a hop)")


if __name__ == "__main__":
    main()
