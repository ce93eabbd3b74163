"""Intake benchmark: bulk ingest into SQLite and PostgreSQL, and POST /v1/reports latency under load.

    python bench/intake.py                      # 1,000,000 reports, both backends, 200 API clients
    python bench/intake.py --reports 100000 --api-requests 5000

Each ingest runs as a real ``accord ingest`` subprocess so its peak memory (max RSS) is its own. The API
test starts ``accord serve`` (one uvicorn worker, SQLite) and drives it from this process with
``--clients`` concurrent connections, each POSTing simulated reports with an Idempotency-Key.
Results are printed as a Markdown table and written to bench/out/intake.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_URL = os.environ.get("ACCORD_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def accord(*args: str, env: dict[str, str]) -> str:
    res = subprocess.run([sys.executable, "-m", "accord.cli", *args], env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"accord {' '.join(args)} failed: {res.stderr}")
    return res.stdout


def token(text: str) -> str:
    return next(w for w in text.split() if w.startswith("accord_key_"))


def world(reports: int, seed: int) -> Path:
    out = OUT / f"world-{seed}-{reports}"
    if not (out / "reports.ndjson").exists():
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "accord.cli",
                "simulate",
                "--seed",
                str(seed),
                "--reports",
                str(reports),
                "--out",
                str(out),
            ],
            check=True,
        )
        print(f"generated {reports} reports in {time.perf_counter() - t:.1f} s")
    return out / "reports.ndjson"


def fresh_node(name: str, url: str | None) -> tuple[dict[str, str], str]:
    data = OUT / name
    shutil.rmtree(data, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env["ACCORD_DATA_DIR"] = str(data)
    if url:
        env["ACCORD_DATABASE_URL"] = url
    init = accord("init", "--org-name", "Bench", "--jurisdiction", "NL", env=env)
    org = init.split("operator organisation: ")[1].split()[0]
    key = token(accord("key", "create", "--org", org, "--name", "bench", "--role", "analyst", env=env))
    return env, key


def pg_schema_url() -> tuple[str, str]:
    name = f"bench_{secrets.token_hex(4)}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    engine.dispose()
    return f"{PG_URL}?options=-csearch_path%3D{name}", name


def drop_schema(name: str) -> None:
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


def ingest(backend: str, data: Path, lines: int) -> dict[str, float | str]:
    schema = None
    url = None
    if backend == "postgresql":
        url, schema = pg_schema_url()
    env, key = fresh_node(f"node-{backend}", url)
    wrapper = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:]); dt = time.perf_counter() - t; "
        "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
    )
    cmd = [sys.executable, "-c", wrapper, sys.executable, "-m", "accord.cli", "ingest", str(data), "--key", key]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"ingest failed on {backend}: {res.stderr[-2000:]}")
    seconds, maxrss_kb = res.stdout.strip().splitlines()[-1].split()
    summary = res.stdout.strip().splitlines()[-2]
    if schema:
        drop_schema(schema)
    rate = lines / float(seconds)
    print(
        f"{backend}: {summary} in {float(seconds):.1f} s = {rate:,.0f} reports/s, "
        f"peak RSS {int(maxrss_kb) / 1024:.0f} MiB"
    )
    return {
        "backend": backend,
        "reports": lines,
        "seconds": float(seconds),
        "reports_per_s": rate,
        "peak_rss_mib": int(maxrss_kb) / 1024,
        "summary": summary,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def drive(
    url: str, key: str, bodies: list[bytes], clients: int, first: int = 0
) -> tuple[list[float], int, float]:
    queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    for i, b in enumerate(bodies, first):  # idempotency keys stay unique across runs against one server
        queue.put_nowait((i, b))
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                i, body = queue.get_nowait()
                headers = {
                    "Authorization": f"Bearer {key}",
                    "Idempotency-Key": f"bench-{i}",
                    "Content-Type": "application/json",
                }
                t = time.perf_counter()
                r = await client.post("/v1/reports", content=body, headers=headers)
                latencies.append(time.perf_counter() - t)
                if r.status_code not in (200, 201):
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - t0
    return latencies, errors, wall


def api_latency(data: Path, requests: int, clients: int) -> dict[str, float | int]:
    env, key = fresh_node("node-api", None)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "accord.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with data.open("rb") as fh:
            bodies = [next(fh).rstrip(b"\n") for _ in range(requests + 500)]
        asyncio.run(drive(base, key, bodies[:500], 20))  # warm-up: connections, caches, argon2 verify
        lat, errors, wall = asyncio.run(drive(base, key, bodies[500:], clients, first=500))
    finally:
        server.terminate()
        server.wait(timeout=30)
    lat.sort()
    ms = [x * 1000 for x in lat]
    res = {
        "clients": clients,
        "requests": len(ms),
        "errors": errors,
        "throughput_rps": len(ms) / wall,
        "p50_ms": statistics.median(ms),
        "p90_ms": ms[int(0.90 * len(ms))],
        "p99_ms": ms[int(0.99 * len(ms))],
    }
    print(
        f"API POST /v1/reports at {clients} clients: {res['throughput_rps']:.0f} req/s, "
        f"p50 {res['p50_ms']:.1f} ms, p99 {res['p99_ms']:.1f} ms, errors {errors}"
    )
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--api-requests", type=int, default=20_000)
    ap.add_argument("--clients", type=int, nargs="+", default=[200])
    ap.add_argument("--skip", nargs="*", default=[], choices=["sqlite", "postgresql", "api"])
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = world(args.reports, args.seed)
    results: dict[str, object] = {"reports": args.reports, "machine": f"{os.cpu_count()} cores"}
    for backend in ("sqlite", "postgresql"):
        if backend not in args.skip:
            results[backend] = ingest(backend, data, args.reports)
    if "api" not in args.skip:
        results["api"] = [api_latency(data, args.api_requests, c) for c in args.clients]
    (OUT / "intake.json").write_text(json.dumps(results, indent=2))
    print(f"peak RSS of this driver: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
