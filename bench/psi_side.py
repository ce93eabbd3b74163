"""One PSI side's group work on ``n`` items, for instruction counts under callgrind (per item per side).

    V="valgrind --tool=callgrind --callgrind-out-file=/dev/null"
    PY=/root/.pyenv/versions/3.11.7/bin/python3.11     # the interpreter itself, not the pyenv shim
    $V $PY bench/psi_side.py 1000 2>&1 | grep Collected
    $V $PY bench/psi_side.py 200 2>&1 | grep Collected
    # per item per side = (Collected(1000) - Collected(200)) / 800
    $V $PY bench/psi_side.py 1000 --root /some/other/checkout   # the same for another version of the code

One side hashes its ``n`` items to the group, blinds them, and re-blinds ``n`` blinded points (its own
stand in for the peer's): ``n`` hashes and ``2n`` multiplications, the calls ``psi.Initiator`` and
``psi.Responder`` make (the sorting, tags and JSON are left out). Under 1,024 items a batch runs on one
thread. The difference of two sizes cancels the interpreter's start-up and the imports. Run it with the
project's virtual environment on ``PYTHONPATH`` (its site-packages) when the interpreter is not the venv's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    sys.path.insert(0, str(args.root))
    from accord.exchange import psi, sodium

    items = [f"email:u{i}@example.invalid" for i in range(args.n)]
    secret = sodium.random_scalar()
    blinded = sodium.multiply(secret, psi.hash_to_group("identifiers", items))
    again = sodium.multiply(secret, blinded)  # costs what re-blinding the peer's points costs
    assert len(again) == 32 * args.n


if __name__ == "__main__":
    main()
