"""Import throughput per format, side by side with the native NDJSON path, and STIX beside stix2's own parse.

    python bench/formats.py                       # 100,000 simulated reports, every format
    python bench/formats.py --reports 20000 --formats native csv
    python bench/formats.py --reports 100000 --formats ncmec

The simulated reports are ingested natively into a node, exported in each format with ``accord export``,
and each file is imported into a fresh SQLite node by a real ``accord ingest --format F`` subprocess
(reports/s over the whole command and per CPU second of it, its helper process included; peak RSS of
the largest process and of the process tree, sampled every 0.1 s; the load average before and after).
NCMEC XML has no exporter: its file is written from the simulated reports by bench/ncmec_xml.py. For
STIX, ``stix2.parse`` of the same bundle runs in its own subprocess as the reference. Results go to
bench/out/formats.json (bench/out/formats-F.json when only one format F is run).
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
from ncmec_xml import documents, write

FORMATS = ["native", "csv", "stix", "ftm", "case", "ncmec"]
DEFAULT = ["native", "csv", "stix", "ftm", "case"]
SUFFIX = {"native": "ndjson", "csv": "csv", "stix": "json", "ftm": "ftm.ndjson", "case": "jsonld", "ncmec": "xml"}
# Runs the command, sampling the summed RSS of its process tree (it and its helper) every 0.1 s from /proc.
TIMED = """
import os, resource, subprocess, sys, threading, time
def tree_rss(root):
    parents = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parents[int(pid)] = int(f.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            pass
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo += [p for p, pp in parents.items() if pp == pid and p not in tree]
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            pass
    return total
t = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
peak, done = [0], threading.Event()
def sample():
    while not done.wait(0.1):
        peak[0] = max(peak[0], tree_rss(proc.pid))
threading.Thread(target=sample, daemon=True).start()
out, err = proc.communicate()
dt = time.perf_counter() - t
done.set()
use = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write(err[-3000:])
print(out.strip().splitlines()[-1] if out.strip() else "")
print(dt, use.ru_maxrss, use.ru_utime + use.ru_stime, peak[0] // 1024)
sys.exit(proc.returncode)
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str, float, float]:
    """(seconds, peak RSS MiB of the largest process, last line of output, CPU seconds, peak RSS MiB of
    the process tree) of one subprocess."""
    res = subprocess.run([sys.executable, "-c", TIMED, *cmd], env=env, capture_output=True, text=True)
    if res.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(cmd[:6])} failed: {res.stderr[-2000:]}")
    summary, stats = res.stdout.strip().splitlines()[-2:]
    seconds, rss, cpu, tree = stats.split()
    return float(seconds), int(rss) / 1024, summary, float(cpu), int(tree) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--formats", nargs="+", default=DEFAULT, choices=FORMATS)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    source = world(args.reports, args.seed)
    env, key = fresh_node("formats-source", None)
    env["ACCORD_MAX_DOCUMENT_BYTES"] = str(4 << 30)  # one bundle of 100k reports is a large document
    cli = [sys.executable, "-m", "accord.cli"]
    if set(args.formats) - {"ncmec"}:  # the exporters read the node; NCMEC's writer reads the simulated file
        accord("ingest", str(source), "--key", key, env=env)
    files = OUT / "formats"
    files.mkdir(exist_ok=True)
    results: dict[str, object] = {"reports": args.reports, "machine": f"{os.cpu_count()} cores", "formats": {}}
    for fmt in args.formats:
        path = files / f"reports.{SUFFIX[fmt]}"
        t = time.perf_counter()
        if fmt == "ncmec":  # no exporter: the bench-only writer turns the simulated reports into NCMEC XML
            with source.open("rb") as src, path.open("wb") as out:
                write(documents(src), out)
        else:
            accord("export", fmt, "--out", str(path), "--key", key, env=env)
        exported = time.perf_counter() - t
        node_env, node_key = fresh_node(f"formats-{fmt}", None)
        node_env["ACCORD_MAX_DOCUMENT_BYTES"] = env["ACCORD_MAX_DOCUMENT_BYTES"]
        load_before = os.getloadavg()[0]
        seconds, rss, summary, cpu, tree = timed(
            [*cli, "ingest", "--format", fmt, str(path), "--key", node_key], node_env
        )
        row = {
            "file_mib": path.stat().st_size / 2**20,
            "export_s": exported,
            "import_s": seconds,
            "import_cpu_s": cpu,
            "reports_per_s": args.reports / seconds,
            "reports_per_cpu_s": args.reports / cpu,
            "peak_rss_mib": rss,
            "peak_tree_rss_mib": tree,
            "load_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "summary": summary,
        }
        print(
            f"{fmt:7} {row['file_mib']:7.1f} MiB  import {seconds:6.1f} s = {row['reports_per_s']:7,.0f} reports/s  "
            f"({cpu:.1f} CPU s = {row['reports_per_cpu_s']:,.0f}/CPU s)  peak RSS {rss:5.0f} MiB (tree {tree:.0f})  "
            f"load {row['load_before_after']}  (export {exported:.1f} s)  [{summary}]"
        )
        if fmt == "stix":
            parse = (
                "import stix2, sys; b = stix2.parse(open(sys.argv[1]).read(), allow_custom=True); print(len(b.objects))"
            )
            ref_s, ref_rss, objects, _, _ = timed([sys.executable, "-c", parse, str(path)], os.environ.copy())
            row["stix2_parse_s"], row["stix2_parse_rss_mib"], row["stix2_objects"] = ref_s, ref_rss, objects
            print(f"        stix2.parse, same bundle: {ref_s:6.1f} s ({objects} objects), peak RSS {ref_rss:.0f} MiB")
        results["formats"][fmt] = row  # type: ignore[index]
    name = f"formats-{args.formats[0]}.json" if len(args.formats) == 1 else "formats.json"
    (OUT / name).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
