"""T4 of the reliability plan: the proof race (Rekor's pattern), on SQLite and PostgreSQL.

Writers append batches to the custody log from their own threads (each transaction on its own pooled
connection: truly concurrent on PostgreSQL, where the tree row's lock makes them take turns; SQLite's
single writer serialises them) while verifiers, like monitors, fetch the node's current checkpoint
again and again, check its signature, and for every successive pair ask for the consistency proof and
check it against the two signed roots, plus an inclusion proof of a leaf appended since the previous
checkpoint, checked against the leaf hash its writer computed (not the one the node returns). An
auditor thread runs whole-log verification meanwhile (it reads one snapshot). Every checkpoint any
verifier saw is then compared across verifiers: one root per size (no fork).

Default: 4 writers x 4 verifiers for 5 s per backend; ``-m slow``: 8 x 8 for 60 s. Figures in
docs/reliability.md.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from accord.custody.checkpoint import Checkpoint, verify_checkpoint
from accord.custody.entry import CustodyAction, CustodyEntry
from accord.custody.merkle import leaf_hash, verify_consistency, verify_inclusion
from accord.ids import ActorId, OrgId
from accord.model.organisation import Role
from accord.services import custody
from tests.conftest import World

START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def run_long(request: pytest.FixtureRequest) -> None:
    """Long variants run only when selected with ``-m slow``; the default run has the short form."""
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("long form: run with -m slow")


def batch(writer: int, first: int, n: int) -> list[CustodyEntry]:
    return [
        CustodyEntry(
            action=CustodyAction.RECEIVED,
            actor_id=ActorId(f"act_w{writer}"),
            org_id=OrgId("org_race"),
            at=START + timedelta(microseconds=k),
            object_type="report",
            object_id=f"rpt_w{writer}_{k}",
            digest=hashlib.sha256(f"{writer}/{k}".encode()).hexdigest(),
            detail={"writer": writer, "k": k},
        )
        for k in range(first, first + n)
    ]


def race(world: World, writers: int, verifiers: int, seconds: float) -> Counter[str]:
    node = world.node
    actor = world.actor(world.org("Monitor", [Role.auditor])[1])
    origin = custody.origin(node)
    custody.current_checkpoint(node)  # the key is registered; monitors know it from then on
    keys = custody.verifiers(node)
    stop = threading.Event()
    lock = threading.Lock()
    published: dict[int, bytes] = {}  # seq -> leaf hash, as each writer computed it, after its commit
    seen: dict[int, set[bytes]] = {}  # size -> every root a verifier was shown for it
    figures: Counter[str] = Counter()
    failures: list[str] = []

    def count(**values: int) -> None:
        with lock:
            figures.update(values)

    def fail(what: str) -> None:
        with lock:
            failures.append(what)

    def writer(w: int) -> None:
        rng = random.Random(w)
        k = 0
        try:
            while not stop.is_set():
                entries = batch(w, k, rng.randint(1, 8))
                k += len(entries)
                with node.db.write() as conn:
                    seqs = custody.record(node, conn, entries)
                if seqs != list(range(seqs[0], seqs[0] + len(entries))):
                    fail(f"writer {w}: a batch got numbers {seqs}")
                with lock:
                    for seq, e in zip(seqs, entries, strict=True):
                        published[seq] = leaf_hash(e.leaf_bytes())
                count(appends=len(entries), transactions=1)
                # a breath between commits: a thread that re-takes SQLite's one writer connection the
                # moment it gives it back would starve every other thread waiting for it
                time.sleep(rng.uniform(0, 0.002))
        except Exception as e:  # pragma: no cover - a failure, reported by the test
            fail(f"writer {w}: {e!r}")

    def verifier(v: int) -> None:
        rng = random.Random(1000 + v)
        prev: Checkpoint | None = None
        try:
            while not stop.is_set():
                cp = verify_checkpoint(custody.current_checkpoint(node).note, keys, origin=origin)
                with lock:
                    seen.setdefault(cp.size, set()).add(cp.root_hash)
                count(checkpoints=1)
                if prev is None:
                    prev = cp
                    continue
                if cp.size < prev.size:
                    fail(f"verifier {v}: checkpoint went back from {prev.size} to {cp.size}")
                    prev = cp
                    continue
                proof = custody.consistency_proof(node, actor, prev.size, cp.size)
                if not verify_consistency(prev.size, cp.size, prev.root_hash, cp.root_hash, proof.proof):
                    fail(f"verifier {v}: consistency {prev.size} -> {cp.size} does not verify")
                count(pairs=1, growing_pairs=int(cp.size > prev.size), consistency_proofs=1)
                with lock:
                    fresh = [s for s in range(prev.size, cp.size) if s in published]
                if fresh:
                    seq = rng.choice(fresh)
                    inc = custody.inclusion_proof(node, actor, seq=seq, size=cp.size)
                    if not verify_inclusion(seq, cp.size, published[seq], inc.proof, cp.root_hash):
                        fail(f"verifier {v}: inclusion of leaf {seq} in {cp.size} does not verify")
                    count(inclusion_proofs=1)
                prev = cp
        except Exception as e:  # pragma: no cover - a failure, reported by the test
            fail(f"verifier {v}: {e!r}")

    def auditor() -> None:
        try:
            while not stop.is_set():
                result = custody.verify_log(node)
                if not result.ok:
                    fail(f"auditor: {[str(f) for f in result.faults[:3]]}")
                count(whole_log_verifications=1)
        except Exception as e:  # pragma: no cover - a failure, reported by the test
            fail(f"auditor: {e!r}")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    threads += [threading.Thread(target=verifier, args=(v,)) for v in range(verifiers)]
    threads.append(threading.Thread(target=auditor))
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"

    forks = {size: roots for size, roots in seen.items() if len(roots) > 1}
    final = custody.verify_log(node)
    figures["failures"] = len(failures) + len(forks) + (not final.ok)
    figures["sizes seen"] = len(seen)
    assert not failures, failures[:10]
    assert not forks, forks
    assert final.ok, final.faults[:5]
    assert final.leaves == figures["appends"] == len(published)
    assert sorted(published) == list(range(final.leaves))
    return figures


def check(figures: Counter[str], backend: str, writers: int, verifiers: int, seconds: float) -> None:
    print(f"\nT4 proof race ({backend}, {writers} writers x {verifiers} verifiers, {seconds:g} s): {dict(figures)}")
    assert figures["failures"] == 0
    assert figures["growing_pairs"] > 0 and figures["inclusion_proofs"] > 0


def test_proof_race(world: World, backend: str) -> None:
    figures = race(world, 4, 4, 5.0)
    check(figures, backend, 4, 4, 5.0)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_proof_race_long(world: World, backend: str, request: pytest.FixtureRequest) -> None:
    run_long(request)
    figures = race(world, 8, 8, 60.0)
    check(figures, backend, 8, 8, 60.0)
