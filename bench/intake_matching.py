"""What intake matching costs: bulk intake in-process on SQLite, with no bank (the path every node without
banks takes) and with a PDQ bank and an MD5 bank of ``--entries`` random entries each.

    python bench/intake_matching.py --reports 20000 --entries 10000

Compare the no-bank figure with the same command on a tree without matching (run alternately: timings
on a shared machine move by 20% or more). Random hashes, so the bank case matches nothing: it measures
the search, not the recording of matches.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import orjson

from accord.model.organisation import CredentialIn, OrganisationIn, OrgKind, Role
from accord.services import admin, reports
from accord.services.node import open_node
from accord.settings import Settings
from accord.store import migrate


def line(i: int, rng: random.Random) -> bytes:
    return orjson.dumps(
        {
            "external_id": f"e{i}",
            "source": "platform",
            "received_at": "2026-11-20T10:00:00Z",
            "incident_type": "csam",
            "urgency": ["recent"],
            "marking": "AMBER",
            "location": {"country": "DE"},
            "subjects": [
                {
                    "role": "suspect",
                    "identifiers": [
                        {"kind": "email", "value": f"u{i}@example.org"},
                        {"kind": "url", "value": f"https://example.org/p/{i}"},
                    ],
                }
            ],
            "media": [{"md5": f"{rng.getrandbits(128):032x}", "pdq": f"{rng.getrandbits(256):064x}"}],
        }
    )


def run(n: int, entries: int) -> float:
    rng = random.Random(1)
    node = open_node(Settings(data_dir=Path(tempfile.mkdtemp())))
    migrate.upgrade(node.db)
    org = admin.create_org_local(node, OrganisationIn(name="A", kind=OrgKind.hotline, jurisdiction="DE"))
    actor = admin.authenticate(
        node, admin.create_credential_local(node, org.id, CredentialIn(name="k", roles=[Role.analyst])).token
    )
    if entries:
        from accord.model.bank import BankIn, EntriesIn
        from accord.services import banks

        for kind, bits in (("pdq", 256), ("md5", 128)):
            bank = banks.create_local(node, org.id, BankIn(name=kind, type=kind))
            values = [{"value": f"{rng.getrandbits(bits):0{bits // 4}x}"} for _ in range(entries)]
            banks.add_entries_local(node, org.id, bank.id, EntriesIn.model_validate({"entries": values}))
    lines = [(i + 1, line(i, rng)) for i in range(n)]
    start = time.perf_counter()
    result = reports.ingest_lines(node, actor, lines)
    elapsed = time.perf_counter() - start
    node.close()
    assert result.accepted == n
    return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=20_000)
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    for _ in range(args.rounds):
        print(f"no bank: {run(args.reports, 0):,.0f} reports/s")
        print(f"banks of {args.entries:,}: {run(args.reports, args.entries):,.0f} reports/s")


if __name__ == "__main__":
    main()
