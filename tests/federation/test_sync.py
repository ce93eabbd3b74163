"""Sync across three real nodes in one process (ASGI transport): a platform's bank entries reach a hotline
and, shared on, a police agency, once each; a retraction at the platform reaches the police; an onward share
the agreement forbids is refused and audited; pulling again, or applying a batch twice, changes nothing; a
peer that is down is retried after a backoff."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from accord.exchange.envelope import Refused
from accord.model.bank import BankIn, EntriesIn, EntryIn, MatchIn
from accord.services import banks, matching, sync
from accord.services.node import Node
from accord.store import schema
from accord.store import sync as sync_store
from tests.federation.conftest import Chain


def h(n: int) -> str:
    return hashlib.sha256(f"synthetic entry {n}".encode()).hexdigest()


def run(node: Node, **kw: Any) -> list[sync.Pulled]:
    return asyncio.run(sync.sync(node, **kw))


def rows(node: Node, table: sa.Table, *where: Any) -> list[Any]:
    with node.db.read() as conn:
        return list(conn.execute(sa.select(table).where(*where)))


def entries(node: Node, org: str) -> dict[str, list[tuple[str, bool, str | None]]]:
    """{bank name: [(value, retracted, source)]} of the organisation's banks, removed entries included."""
    out = {}
    for bank in banks.list_banks_local(node, org):
        with node.db.read() as conn:
            t = schema.bank_entries.c
            found = conn.execute(
                sa.select(t.value, t.retracted, t.source).where(t.bank_id == bank.id).order_by(t.id)
            ).all()
        out[bank.name] = [tuple(r) for r in found]
    return out


def state(node: Node, org: str) -> tuple[Any, ...]:
    """What sync may change on a node: entries, bank versions, reviews."""
    versions = sorted((b.name, b.version) for b in banks.list_banks_local(node, org))
    return entries(node, org), versions, len(rows(node, schema.reviews))


def platform_banks(ch: Chain) -> tuple[str, str]:
    shared = banks.create_local(ch.p, ch.p_org, BankIn(name="platform hashes", type="sha256"))
    closed = banks.create_local(ch.p, ch.p_org, BankIn(name="platform closed", type="sha256"))
    banks.add_entries_local(ch.p, ch.p_org, shared.id, EntriesIn(entries=[EntryIn(value=h(1)), EntryIn(value=h(2))]))
    banks.add_entries_local(ch.p, ch.p_org, closed.id, EntriesIn(entries=[EntryIn(value=h(3))]))
    sync.share_bank(ch.p, None, ch.p_org, shared.id, ch.ph.id, "csam")
    sync.share_bank(ch.p, None, ch.p_org, closed.id, ch.ph_closed.id, "csam")
    return shared.id, closed.id


def test_entries_travel_down_the_chain_once_and_a_retraction_follows(chain: Chain) -> None:
    ch = chain
    shared, _ = platform_banks(ch)
    done = run(ch.h)
    assert sorted((r.agreement_id, r.applied, r.error) for r in done) == [
        (ch.hc.id, 0, None),  # the police shares nothing
        (ch.ph.id, 2, None),
        (ch.ph_closed.id, 1, None),
    ]
    got = entries(ch.h, ch.h_org)
    assert len(got) == 2
    (mirror_name,) = [n for n in got if n.startswith("platform hashes")]
    assert [(v, r) for v, r, _ in got[mirror_name]] == [(h(1), False), (h(2), False)]
    assert got[mirror_name][0][2].startswith(ch.p.me.node_id + "/" + shared)  # provenance
    mirror = banks.resolve_local(ch.h, ch.h_org, mirror_name)
    closed_mirror = banks.resolve_local(ch.h, ch.h_org, next(n for n in got if n != mirror_name))
    # matching on the hotline uses the mirror
    (found,) = matching.match_local(ch.h, ch.h_org, MatchIn(hashes=[h(2)]))
    assert [m.bank for m in found.matches] == [mirror]

    # every batch is in custody on both sides with its receipt: kept by the hotline, sent back to the platform
    envelopes = schema.federation_envelopes.c
    inbound = rows(ch.h, schema.federation_envelopes, envelopes.direction == "in", envelopes.peer == ch.p.me.node_id)
    outbound = rows(ch.p, schema.federation_envelopes, schema.federation_envelopes.c.direction == "out")
    assert len(inbound) == len(outbound) == 2
    assert sorted(bytes(r.raw) for r in inbound) == sorted(bytes(r.raw) for r in outbound)
    assert sorted(bytes(r.receipt) for r in inbound) == sorted(bytes(r.receipt) for r in outbound)
    leaves = rows(ch.p, schema.custody_leaves)
    assert len(leaves) >= 4  # shared_out and receipt for each batch

    # onward: the open agreement's mirror may go on to the police, the closed one's may not
    sync.share_bank(ch.h, None, ch.h_org, mirror, ch.hc.id, "csam")
    with pytest.raises(Refused) as refused:
        sync.share_bank(ch.h, None, ch.h_org, closed_mirror, ch.hc.id, "csam")
    assert refused.value.clause == "onward_sharing"
    (event,) = rows(ch.h, schema.audit_events, schema.audit_events.c.outcome == "refused")
    assert (event.action, event.detail["clause"]) == ("federation.send", "onward_sharing")

    run(ch.c)
    police = entries(ch.c, ch.c_org)
    assert len(police) == 1
    assert [(v, r) for v, r, _ in next(iter(police.values()))] == [(h(1), False), (h(2), False)]

    # pulling again changes nothing anywhere
    before = state(ch.h, ch.h_org), state(ch.c, ch.c_org)
    assert all(r.applied == 0 for r in run(ch.h) + run(ch.c))
    assert (state(ch.h, ch.h_org), state(ch.c, ch.c_org)) == before

    # a retraction at the platform reaches the police through the hotline
    first = next(e.id for e in banks.export_local(ch.p, ch.p_org, shared).entries if e.value == h(1))
    banks.retract_entry_local(ch.p, ch.p_org, shared, first, "not what it was said to be")
    run(ch.h)
    run(ch.c)
    for node, org in ((ch.h, ch.h_org), (ch.c, ch.c_org)):
        (values,) = [v for n, v in entries(node, org).items() if n.startswith("platform hashes") or node is ch.c]
        assert [(v, r) for v, r, _ in values] == [(h(1), True), (h(2), False)], node.me.node_id
    (found,) = matching.match_local(ch.c, ch.c_org, MatchIn(hashes=[h(1)]))
    assert found.matches == []


def test_a_batch_applied_twice_changes_nothing(chain: Chain) -> None:
    """A crash after the batch was applied and before the cursor moved is the same batch pulled again from
    the old cursor: here the cursor is put back and the feed pulled again."""
    ch = chain
    shared, _ = platform_banks(ch)
    run(ch.h)
    first = next(e.id for e in banks.export_local(ch.p, ch.p_org, shared).entries if e.value == h(2))
    banks.retract_entry_local(ch.p, ch.p_org, shared, first, "wrong")
    run(ch.h)
    before = state(ch.h, ch.h_org)
    with ch.h.db.write() as conn:
        for agreement in (ch.ph.id, ch.ph_closed.id):
            sync_store.set_cursor(conn, sync_store.Cursor(ch.p.me.node_id, agreement, 0, 0, None, None), ch.clock.now())
    again = run(ch.h, peer=ch.p.me.node_id)
    assert sum(r.applied for r in again) == 0 and sum(r.skipped for r in again) == 4  # 3 adds, 1 retraction
    assert state(ch.h, ch.h_org) == before


def test_a_peer_that_is_down_is_retried_after_a_backoff_and_loses_nothing(chain: Chain) -> None:
    ch = chain
    platform_banks(ch)
    ch.routers["h"].routes["platform.test"] = None  # the platform is down
    failed = [r for r in run(ch.h) if r.peer == ch.p.me.node_id]
    assert all(r.error and "did not answer" in r.error for r in failed) and len(failed) == 2
    with ch.h.db.read() as conn:
        cur = sync_store.cursor(conn, ch.p.me.node_id, ch.ph.id)
    assert (cur.position, cur.failures) == (0, 1)
    assert cur.next_attempt_at is not None
    assert timedelta(seconds=2.5) <= cur.next_attempt_at - ch.clock.now() <= timedelta(seconds=5)
    events = rows(ch.h, schema.audit_events, schema.audit_events.c.action == "sync.pull")
    assert {e.outcome for e in events} == {"failed"}

    ch.routers["h"].routes["platform.test"] = ch.routers["p"].routes["platform.test"]  # back up
    waiting = [r for r in run(ch.h) if r.peer == ch.p.me.node_id]
    assert all(r.backing_off for r in waiting)  # not yet: its backoff runs
    ch.clock.advance(timedelta(seconds=6))
    back = [r for r in run(ch.h) if r.peer == ch.p.me.node_id]
    assert sorted(r.applied for r in back) == [1, 2] and not any(r.error for r in back)
    with ch.h.db.read() as conn:
        assert sync_store.cursor(conn, ch.p.me.node_id, ch.ph.id).failures == 0


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    import random

    rng = random.Random(7)
    waits = [sync.backoff(n, 60, rng).total_seconds() for n in range(1, 9)]
    for n, w in enumerate(waits, 1):
        base = min(60, 5 * 2 ** (n - 1))
        assert base / 2 <= w <= base
    assert len({round(w, 6) for w in waits}) == len(waits)


def test_a_pull_from_a_node_outside_the_agreement_is_refused(chain: Chain) -> None:
    """The police is no party to ``ph``: its signed pull under it is refused, nothing is served, and the
    refusal is audited on the platform."""
    ch = chain
    platform_banks(ch)
    from accord.services import peers

    added = peers.add_peer(ch.p, None, "http://police.test", ch.c.me.document.to_json(), [ch.c_org])
    peers.trust_peer(ch.p, None, added.node_id)
    ph = ch.ph
    from accord.exchange.envelope import seal

    raw = seal(
        ch.c.me,
        recipient=ch.p.me.node_id,
        agreement_id=ph.id,
        purpose="takedown",
        marking="CLEAR",
        category="csam",
        obj={"type": sync.PULL_TYPE, "after": 0, "limit": 10},
        now=ch.clock.now(),
    )
    served = sync.serve_pull(ch.p, raw)
    assert served.batch is None and served.refused is not None
    assert (served.refused.reason, served.refused.clause) == ("agreement", "parties")
    assert rows(ch.p, schema.federation_envelopes) == []
    (event,) = rows(ch.p, schema.audit_events, schema.audit_events.c.action == "federation.receive")
    assert event.outcome == "refused"
