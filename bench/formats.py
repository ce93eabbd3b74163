"""Import throughput per format, side by side with the native NDJSON path, and STIX beside stix2's own parse.

    python bench/formats.py                       # 100,000 simulated reports, every format
    python bench/formats.py --reports 20000 --formats native csv

The simulated reports are ingested natively into a node, exported in each format with ``accord export``,
and each file is imported into a fresh SQLite node by a real ``accord ingest --format F`` subprocess
(reports/s over the whole command, peak RSS of that process). For STIX, ``stix2.parse`` of the same
bundle runs in its own subprocess as the reference. Results go to bench/out/formats.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from intake import OUT, accord, fresh_node, world

FORMATS = ["native", "csv", "stix", "ftm", "case"]
SUFFIX = {"native": "ndjson", "csv": "csv", "stix": "json", "ftm": "ftm.ndjson", "case": "jsonld"}
TIMED = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); dt = time.perf_counter() - t; "
    "sys.stderr.write(r.stderr[-3000:]); print(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ''); "
    "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB, last line of output) of one subprocess."""
    res = subprocess.run([sys.executable, "-c", TIMED, *cmd], env=env, capture_output=True, text=True)
    if res.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(cmd[:6])} failed: {res.stderr[-2000:]}")
    summary, stats = res.stdout.strip().splitlines()[-2:]
    seconds, rss = stats.split()
    return float(seconds), int(rss) / 1024, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--formats", nargs="+", default=FORMATS, choices=FORMATS)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    source = world(args.reports, args.seed)
    env, key = fresh_node("formats-source", None)
    env["ACCORD_MAX_DOCUMENT_BYTES"] = str(4 << 30)  # one bundle of 100k reports is a large document
    cli = [sys.executable, "-m", "accord.cli"]
    accord("ingest", str(source), "--key", key, env=env)
    files = OUT / "formats"
    files.mkdir(exist_ok=True)
    results: dict[str, object] = {"reports": args.reports, "machine": f"{os.cpu_count()} cores", "formats": {}}
    for fmt in args.formats:
        path = files / f"reports.{SUFFIX[fmt]}"
        t = time.perf_counter()
        accord("export", fmt, "--out", str(path), "--key", key, env=env)
        exported = time.perf_counter() - t
        node_env, node_key = fresh_node(f"formats-{fmt}", None)
        node_env["ACCORD_MAX_DOCUMENT_BYTES"] = env["ACCORD_MAX_DOCUMENT_BYTES"]
        seconds, rss, summary = timed([*cli, "ingest", "--format", fmt, str(path), "--key", node_key], node_env)
        row = {
            "file_mib": path.stat().st_size / 2**20,
            "export_s": exported,
            "import_s": seconds,
            "reports_per_s": args.reports / seconds,
            "peak_rss_mib": rss,
            "summary": summary,
        }
        print(
            f"{fmt:7} {row['file_mib']:7.1f} MiB  import {seconds:6.1f} s = {row['reports_per_s']:7,.0f} reports/s  "
            f"peak RSS {rss:5.0f} MiB  (export {exported:.1f} s)  [{summary}]"
        )
        if fmt == "stix":
            parse = (
                "import stix2, sys; b = stix2.parse(open(sys.argv[1]).read(), allow_custom=True); print(len(b.objects))"
            )
            ref_s, ref_rss, objects = timed([sys.executable, "-c", parse, str(path)], os.environ.copy())
            row["stix2_parse_s"], row["stix2_parse_rss_mib"], row["stix2_objects"] = ref_s, ref_rss, objects
            print(f"        stix2.parse, same bundle: {ref_s:6.1f} s ({objects} objects), peak RSS {ref_rss:.0f} MiB")
        results["formats"][fmt] = row  # type: ignore[index]
    (OUT / "formats.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
