"""Native NDJSON import, two code trees side by side: alternating runs of ``accord ingest --format native``.

    python bench/native_ab.py A=/work/main B=. --rounds 5
    python bench/native_ab.py B=. --file bench/out/formats/reports.ndjson --rounds 1
    python bench/native_ab.py main=/work/main big=/work/main --env big:ACCORD_BULK_BATCH_SIZE=10000

Wall-clock timings on a shared machine move with its load, so the trees run in turn (A B A B ...), each
into a fresh SQLite node (a copy of a node initialised once per tree), and the medians and the per-round
ratios are printed. Each run's user+system CPU, bytes written and peak RSS come from ``wait4`` of the
ingest process (its parse helper included); ``--instructions`` runs each import under ``valgrind
--tool=callgrind`` and adds the instructions executed by the process tree, which do not depend on the
machine's load (use a small file: about 50x slower, 100x on a loaded machine). Default file: the native
export that ``bench/formats.py`` writes (run that first). ``--env NAME:VAR=VALUE`` sets an environment
variable for one tree's runs only (the same checkout may appear under two names).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH = 0
EXTRA: dict[str, dict[str, str]] = {}  # tree name -> environment for its runs only
OUT = ROOT / "bench" / "out"


def run(args: list[str], env: dict[str, str]) -> str:
    cwd = env["PYTHONPATH"]
    res = subprocess.run([sys.executable, "-m", "accord.cli", *args], env=env, capture_output=True, text=True, cwd=cwd)
    if res.returncode != 0:
        raise SystemExit(f"accord {' '.join(args)} failed: {res.stderr[-2000:]}")
    return res.stdout


def template(name: str, tree: Path) -> tuple[Path, str]:
    data = OUT / f"ab-template-{name}"
    shutil.rmtree(data, ignore_errors=True)
    env = node_env(tree, data)
    org = (
        run(["init", "--org-name", "Bench", "--jurisdiction", "NL"], env).split("operator organisation: ")[1].split()[0]
    )
    created = run(["key", "create", "--org", org, "--name", "bench", "--role", "analyst"], env)
    return data, next(w for w in created.split() if w.startswith("accord_key_"))


def node_env(tree: Path, data: Path, name: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env["ACCORD_DATA_DIR"] = str(data)
    env["PYTHONPATH"] = str(tree)
    if BATCH:
        env["ACCORD_BULK_BATCH_SIZE"] = str(BATCH)
    env.update(EXTRA.get(name, {}))
    return env


def once(name: str, tree: Path, tmpl: Path, key: str, file: Path, instructions: bool) -> dict[str, float]:
    data = OUT / f"ab-run-{name}"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(tmpl, data)
    cmd = [sys.executable, "-m", "accord.cli", "ingest", "--format", "native", str(file), "--key", key]
    cmd += ["--parse-workers", "1"]  # what a file of 8 MiB or more gets by default; smaller files too
    if instructions:
        cmd = ["valgrind", "--tool=callgrind", "--trace-children=yes", f"--callgrind-out-file={data}/cg.%p", *cmd]
    out, err = data / "stdout.txt", data / "stderr.txt"
    with out.open("w") as o, err.open("w") as e:
        t = time.perf_counter()
        # cwd: ``python -m`` puts the working directory first on sys.path, ahead of PYTHONPATH
        proc = subprocess.Popen(cmd, env=node_env(tree, data, name), stdout=o, stderr=e, text=True, cwd=tree)
        # this run's own usage (its parse helper included): wait4 rather than RUSAGE_CHILDREN, whose peak
        # RSS is the largest of every run so far
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    res = subprocess.CompletedProcess(cmd, proc.returncode, out.read_text(), err.read_text())
    if res.returncode != 0:
        raise SystemExit(f"{name}: ingest failed: {res.stderr[-2000:]}")
    row = {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "written_mib": usage.ru_oublock * 512 / 2**20,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "load": os.getloadavg()[0],
    }
    if instructions:  # every process of the tree, the parse helper included
        counts = re.findall(r"Collected : (\d+)", res.stderr)
        row["instructions_g"] = sum(map(int, counts)) / 1e9
        row["instructions_by_process_g"] = [int(c) / 1e9 for c in counts]  # type: ignore[assignment]
    print(
        f"  {name}: {wall:6.2f} s  cpu {row['cpu_s']:6.2f} s  written {row['written_mib']:7.1f} MiB  "
        f"rss {row['peak_rss_mib']:5.0f} MiB  "
        f"load {row['load']:.1f}  {res.stdout.strip().splitlines()[-1]}"
        + (
            f"  {row['instructions_g']:.3f} G instr {row['instructions_by_process_g']}"
            if "instructions_g" in row
            else ""
        ),
        flush=True,
    )
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trees", nargs="+", help="NAME=PATH of a checkout to import with")
    ap.add_argument("--file", type=Path, default=OUT / "formats" / "reports.ndjson")
    ap.add_argument("--batch-size", type=int, help="ACCORD_BULK_BATCH_SIZE for every run")
    ap.add_argument("--env", action="append", default=[], help="NAME:VAR=VALUE for one tree's runs")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--instructions", action="store_true", help="count instructions with callgrind")
    args = ap.parse_args()
    global BATCH
    BATCH = args.batch_size or 0
    file = args.file.resolve()
    trees = {n: Path(p).resolve() for n, p in (t.split("=", 1) for t in args.trees)}
    for spec in args.env:
        name, _, assignment = spec.partition(":")
        var, _, value = assignment.partition("=")
        if name not in trees or not var:
            raise SystemExit(f"--env {spec!r}: expected NAME:VAR=VALUE with NAME one of {', '.join(trees)}")
        EXTRA.setdefault(name, {})[var] = value
    reports = sum(1 for line in file.open("rb") if line.strip())
    nodes = {n: template(n, tree) for n, tree in trees.items()}
    rows: dict[str, list[dict[str, float]]] = {n: [] for n in trees}
    for r in range(args.rounds):
        print(f"round {r + 1}", flush=True)
        for n, tree in trees.items():
            rows[n].append(once(n, tree, *nodes[n], file, args.instructions))
    summary = {}
    for n, rs in rows.items():
        wall = statistics.median(x["wall_s"] for x in rs)
        summary[n] = {"median_wall_s": wall, "reports_per_s": reports / wall, "runs": rs}
        print(
            f"{n}: median {wall:.2f} s = {reports / wall:,.0f} reports/s; "
            f"cpu median {statistics.median(x['cpu_s'] for x in rs):.2f} s; "
            f"written median {statistics.median(x['written_mib'] for x in rs):,.0f} MiB; "
            f"peak RSS max {max(x['peak_rss_mib'] for x in rs):.0f} MiB"
        )
    names = list(trees)
    for other in names[1:]:
        ratios = [a["wall_s"] / b["wall_s"] for a, b in zip(rows[names[0]], rows[other], strict=True)]
        each = ", ".join(f"{x:.2f}" for x in ratios)
        print(f"{names[0]}/{other} per round: {each}; median {statistics.median(ratios):.2f}")
    (OUT / "native_ab.json").write_text(json.dumps({"file": str(file), "reports": reports, **summary}, indent=2))


if __name__ == "__main__":
    main()
