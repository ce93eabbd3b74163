"""What the "exported" custody leaves cost a format export (``accord export`` / GET /v1/export).

    python bench/export_custody.py                          # 20,000 reports, SQLite, native and CSV
    python bench/export_custody.py --backend postgresql --formats native

Simulated reports are ingested into a fresh node; then each format is exported (to a counting sink,
so the disk does not enter the figure) alternately without the leaves (the export's ``record_reports``
replaced by a no-op: the code before the leaves) and with them, ``--rounds`` times each; the median of
each is printed. Every "with" round appends one leaf per report, so the log grows as it would in use.
Results go to bench/out/export_custody.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from intake import OUT, accord, drop_schema, fresh_node, pg_schema_url, world

from accord.services import admin, custody, exports
from accord.services.node import open_node
from accord.settings import Settings
from accord.store.reports import ReportFilter


class Sink:
    """A binary file that counts what is written and keeps nothing."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.bytes += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def _no_leaves(*_args: Any, **_kwargs: Any) -> list[int]:
    return []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--formats", nargs="+", default=["native", "csv"])
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    url, schema = pg_schema_url() if args.backend == "postgresql" else (None, None)
    env, key = fresh_node(f"export-custody-{args.backend}", url)
    accord("ingest", str(world(args.reports, args.seed)), "--key", key, env=env)
    settings = Settings(data_dir=Path(env["ACCORD_DATA_DIR"]), database_url=(url or "").split("?")[0])
    node = open_node(settings, schema=schema)
    actor = admin.authenticate(node, key)
    real = exports.record_reports
    results: dict[str, Any] = {"reports": args.reports, "backend": args.backend, "formats": {}}
    try:
        for fmt in args.formats:
            timings: dict[str, list[float]] = {"without": [], "with": []}
            for _ in range(args.rounds):
                for label, recorder in (("without", _no_leaves), ("with", real)):
                    exports.record_reports = recorder  # type: ignore[assignment]
                    t = time.perf_counter()
                    n = exports.export(node, actor, fmt, ReportFilter(), Sink())  # type: ignore[arg-type]
                    timings[label].append(time.perf_counter() - t)
                    assert n == args.reports, n
            exports.record_reports = real
            before, after = statistics.median(timings["without"]), statistics.median(timings["with"])
            results["formats"][fmt] = {"without_s": timings["without"], "with_s": timings["with"]}
            print(
                f"{args.backend} {fmt:7} {args.reports:,} reports: without leaves {before:.2f} s, "
                f"with {after:.2f} s (+{after - before:.2f} s, {100 * (after / before - 1):+.0f}%)"
            )
        check = custody.verify_log(node)
        assert check.ok, check.faults[:3]
        results["log_size"] = check.size
    finally:
        exports.record_reports = real
        node.close()
        if schema:
            drop_schema(schema)
    (OUT / "export_custody.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
