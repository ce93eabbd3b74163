"""Intake benchmark: bulk ingest into SQLite and PostgreSQL, and POST /v1/reports latency under load.

    python bench/intake.py                      # 1,000,000 reports, both backends, 200 API clients
    python bench/intake.py --reports 100000 --api-seconds 10

Each ingest runs as a real ``accord ingest`` subprocess so its peak memory (max RSS) is its own. The API
test starts ``accord serve`` (SQLite: one process; PostgreSQL: one and two) and measures POST
/v1/reports with simulated reports, each with its own Idempotency-Key, two ways: closed loop with
``wrk`` (``--clients`` connections, each sending as soon as answered) and open loop at fixed request
rates (latency counted from when each request was due). Needs ``wrk`` (Debian package; ``make bench``
installs it). Results go to bench/out/intake.json.
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


def start_server(workers: int, url: str | None) -> tuple[subprocess.Popen[bytes], str, str]:
    env, key = fresh_node("node-api", url)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "accord.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return server, base, key


def wrk(base: str, key: str, bodies: Path, connections: int, seconds: int) -> dict[str, float]:
    """Closed loop: each connection sends its next request as soon as the last one is answered."""
    env = dict(os.environ, ACCORD_BENCH_BODIES=str(bodies), ACCORD_BENCH_KEY=key)
    script = str(ROOT / "bench" / "post_reports.lua")
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, base]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        value = next(line.split()[1] for line in out.splitlines() if line.strip().startswith(label))
        unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
        for suffix in ("us", "ms", "s"):
            if value.endswith(suffix):
                return float(value[: -len(suffix)]) * unit[suffix]
        raise ValueError(value)

    rps = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))
    non2xx = sum(int(line.split()[-1]) for line in out.splitlines() if "Non-2xx" in line)
    timeouts = sum(int(line.split("timeout")[1]) for line in out.splitlines() if "Socket errors" in line)
    return {"rps": rps, "p50_ms": ms("50%"), "p99_ms": ms("99%"), "non_2xx": non2xx, "timeouts": timeouts}


async def open_loop(base: str, key: str, bodies: list[bytes], rate: float, clients: int) -> dict[str, float]:
    """Open loop: request i is due at i / rate seconds whatever happened before; latency is counted from
    when it was due (no coordinated omission), over at most ``clients`` connections."""
    lat: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        t0 = time.perf_counter()

        async def one(i: int, body: bytes) -> None:
            nonlocal errors
            due = t0 + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            headers = {
                "Authorization": f"Bearer {key}",
                "Idempotency-Key": f"open-{rate}-{i}",
                "Content-Type": "application/json",
            }
            r = await client.post("/v1/reports", content=body, headers=headers)
            lat.append(time.perf_counter() - due)
            errors += r.status_code not in (200, 201)

        await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
    ms = sorted(x * 1000 for x in lat)
    return {
        "rate": rate,
        "requests": len(ms),
        "errors": errors,
        "p50_ms": statistics.median(ms),
        "p99_ms": ms[int(0.99 * len(ms))],
    }


def api_latency(data: Path, clients: int, workers: int, backend: str, seconds: int, rates: list[float]) -> dict:
    bodies = OUT / "api-bodies.ndjson"
    with data.open("rb") as src, bodies.open("wb") as dst:
        for _, line in zip(range(100_000), src, strict=False):
            dst.write(line)
    url, schema = pg_schema_url() if backend == "postgresql" else (None, None)
    server, base, key = start_server(workers, url)
    try:
        wrk(base, key, bodies, 4, 3)  # warm-up: connections, caches, the key's one argon2 verification
        closed = wrk(base, key, bodies, clients, seconds)
        lines = bodies.read_bytes().splitlines()[50_000:]
        opened = []
        for rate in rates:
            n = int(rate * seconds)
            opened.append(asyncio.run(open_loop(base, key, lines[:n], rate, clients)))
            lines = lines[n:]
    finally:
        server.terminate()
        server.wait(timeout=30)
        if schema:
            drop_schema(schema)
    res = {
        "backend": backend,
        "server_workers": workers,
        "clients": clients,
        "closed_loop": closed,
        "open_loop": opened,
    }
    print(
        f"API {backend}, {workers} server process(es), {clients} closed-loop connections: {closed['rps']:.0f} req/s, "
        f"p50 {closed['p50_ms']:.0f} ms, p99 {closed['p99_ms']:.0f} ms, non-2xx {closed['non_2xx']}"
    )
    for o in opened:
        print(
            f"    open loop at {o['rate']:.0f} req/s over up to {clients} connections: p50 {o['p50_ms']:.1f} ms, "
            f"p99 {o['p99_ms']:.1f} ms, errors {o['errors']}"
        )
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--api-seconds", type=int, default=20)
    ap.add_argument("--rates", type=float, nargs="+", default=[25, 50, 100], help="open-loop request rates")
    ap.add_argument("--clients", type=int, nargs="+", default=[200])
    ap.add_argument("--api-backends", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--skip", nargs="*", default=[], choices=["sqlite", "postgresql", "api"])
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = world(args.reports, args.seed)
    results: dict[str, object] = {"reports": args.reports, "machine": f"{os.cpu_count()} cores"}
    for backend in ("sqlite", "postgresql"):
        if backend not in args.skip:
            results[backend] = ingest(backend, data, args.reports)
    if "api" not in args.skip:
        results["api"] = [
            api_latency(data, c, w, b, args.api_seconds, args.rates)
            for c in args.clients
            for b in args.api_backends
            for w in ((1,) if b == "sqlite" else (1, 2))  # SQLite has one writer: more processes only queue
        ]
    (OUT / "intake.json").write_text(json.dumps(results, indent=2))
    print(f"peak RSS of this driver: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
