"""Sync rounds between real nodes in one process (ASGI transport): a receipt the sender did not take is sent
again at the start of the next round with that peer, until both custody logs prove every hand-over, exactly
once; a round that finds nothing new keeps nothing on either side (no envelope row, custody leaf, receipt or
audit event) and leaves the cursor where it was, while a round with something new still does all of that."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from accord.model.bank import EntriesIn, EntryIn
from accord.services import banks, custody, sync
from accord.services.node import Node
from accord.store import schema
from accord.store import sync as sync_store
from tests.federation.conftest import Chain
from tests.federation.test_sync import h, platform_banks, rows, run

ENV = schema.federation_envelopes.c


def count(node: Node, table: sa.Table, *where: Any) -> int:
    with node.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())


def receipts_by_envelope(node: Node, direction: str) -> dict[bytes, bytes | None]:
    """{raw envelope: its receipt} of the node's envelopes in one direction."""
    found = rows(node, schema.federation_envelopes, ENV.direction == direction)
    return {bytes(r.raw): None if r.receipt is None else bytes(r.receipt) for r in found}


def receipt_leaves(node: Node) -> list[str]:
    leaves = schema.custody_leaves.c
    return sorted(r.object_id for r in rows(node, schema.custody_leaves, leaves.action == "receipt"))


def kept(node: Node) -> tuple[int, int, int]:
    """What a hand-over adds on either side: envelope rows, custody leaves, audit events."""
    tables = (schema.federation_envelopes, schema.custody_leaves, schema.audit_events)
    envelopes, leaves, events = (count(node, t) for t in tables)
    return envelopes, leaves, events


def pull_without_receipts(ch: Chain) -> None:
    """The hotline pulls both of the platform's feeds; every receipt post fails (the platform went away
    between serving the batch and the receipt)."""
    ch.routers["h"].down_paths.add(sync.RECEIPTS_PATH)
    done = run(ch.h, peer=ch.p.me.node_id)
    assert sorted((r.batches, r.receipts_failed, r.error) for r in done) == [(1, 1, None), (1, 1, None)]
    ch.routers["h"].down_paths.clear()


def test_a_receipt_the_sender_did_not_take_is_sent_again_and_kept_once(chain: Chain) -> None:
    ch = chain
    platform_banks(ch)
    pull_without_receipts(ch)
    assert set(receipts_by_envelope(ch.p, "out").values()) == {None}
    p_rows = {r.id for r in rows(ch.p, schema.federation_envelopes)}
    assert receipt_leaves(ch.p) == []
    assert count(ch.h, schema.sync_receipts_unsent) == 2
    h_before = kept(ch.h)

    again = run(ch.h, peer=ch.p.me.node_id)  # nothing new to pull; the two receipts go first
    assert sorted((r.receipts_resent, r.batches, r.error) for r in again) == [(1, 0, None), (1, 0, None)]
    inbound, outbound = receipts_by_envelope(ch.h, "in"), receipts_by_envelope(ch.p, "out")
    assert inbound == outbound and None not in outbound.values()  # the sender's rows hold the puller's receipts
    assert receipt_leaves(ch.p) == sorted(p_rows)  # one receipt leaf per batch sent, on the envelope's row
    assert count(ch.p, schema.audit_events, schema.audit_events.c.action == "federation.receipt") == 2
    assert count(ch.h, schema.sync_receipts_unsent) == 0
    assert kept(ch.h) == h_before  # sending a receipt again keeps nothing at the puller

    # the next round has nothing to send again; a receipt sent twice (the first answer lost) changes nothing
    assert [r.receipts_resent for r in run(ch.h, peer=ch.p.me.node_id)] == [0, 0]
    p_before = kept(ch.p)
    some = rows(ch.h, schema.federation_envelopes, ENV.direction == "in")[0]
    with ch.h.db.write() as conn:
        sync_store.add_unsent_receipt(conn, some.id, ch.p.me.node_id, some.agreement_id, ch.clock.now())
    sync.accept_receipt(ch.p, bytes(some.receipt))
    assert sum(r.receipts_resent for r in run(ch.h, peer=ch.p.me.node_id)) == 1  # taken (204): dropped here
    assert kept(ch.p) == p_before and receipt_leaves(ch.p) == sorted(p_rows)
    assert count(ch.h, schema.sync_receipts_unsent) == 0
    for node in (ch.p, ch.h):
        checked = custody.verify_log(node)
        assert checked.ok, checked.faults


def test_a_sender_still_down_is_backed_off_and_its_receipts_wait(chain: Chain) -> None:
    ch = chain
    platform_banks(ch)
    pull_without_receipts(ch)
    ch.routers["h"].routes["platform.test"] = None  # down at the start of the next round
    failed = run(ch.h, peer=ch.p.me.node_id)
    assert all(r.error and "did not take a receipt sent again" in r.error for r in failed) and len(failed) == 2
    assert all(r.retry_at is not None and r.receipts_resent == 0 for r in failed)
    with ch.h.db.read() as conn:
        cur = sync_store.cursor(conn, ch.p.me.node_id, ch.ph.id)
    assert cur.failures == 1 and cur.position > 0  # the position the batch moved it to stays
    assert count(ch.h, schema.sync_receipts_unsent) == 2

    ch.routers["h"].routes["platform.test"] = ch.routers["p"].routes["platform.test"]
    assert all(r.backing_off for r in run(ch.h, peer=ch.p.me.node_id))  # the same backoff as a failed pull
    ch.clock.advance(timedelta(seconds=6))
    back = run(ch.h, peer=ch.p.me.node_id)
    assert [(r.receipts_resent, r.error) for r in back] == [(1, None), (1, None)]
    assert None not in receipts_by_envelope(ch.p, "out").values()
    with ch.h.db.read() as conn:  # an idle answer clears the failures too
        assert sync_store.cursor(conn, ch.p.me.node_id, ch.ph.id).failures == 0


def test_a_receipt_the_sender_no_longer_holds_is_dropped_and_audited(chain: Chain) -> None:
    """The platform lost the rows of the batches it sent (say, restored from an older backup): it answers 404
    to their receipts (no such batch sent), which will never change; the hotline stops sending them and
    audits why."""
    ch = chain
    platform_banks(ch)
    pull_without_receipts(ch)
    with ch.p.db.write() as conn:
        conn.execute(sa.delete(schema.federation_envelopes))
    done = run(ch.h, peer=ch.p.me.node_id)
    assert [(r.receipts_resent, r.error) for r in done] == [(0, None), (0, None)]
    assert count(ch.h, schema.sync_receipts_unsent) == 0
    events = rows(ch.h, schema.audit_events, schema.audit_events.c.action == "sync.receipt")
    assert (
        sorted((e.outcome, e.detail["status"], e.detail["peer"]) for e in events)
        == [("refused", 404, ch.p.me.node_id)] * 2
    )


def test_idle_rounds_keep_nothing_and_a_change_still_travels(chain: Chain) -> None:
    ch = chain
    shared, _ = platform_banks(ch)
    run(ch.h, peer=ch.p.me.node_id)
    p_before, h_before = kept(ch.p), kept(ch.h)
    with ch.h.db.read() as conn:
        cursors = [sync_store.cursor(conn, ch.p.me.node_id, a) for a in (ch.ph.id, ch.ph_closed.id)]
    for _ in range(5):
        ch.clock.advance(timedelta(seconds=30))
        idle = run(ch.h, peer=ch.p.me.node_id)
        assert [(r.batches, r.applied, r.error, r.receipts_failed) for r in idle] == [(0, 0, None, 0)] * 2
    assert (kept(ch.p), kept(ch.h)) == (p_before, h_before)  # no envelope row, custody leaf or audit event
    with ch.h.db.read() as conn:
        assert [sync_store.cursor(conn, ch.p.me.node_id, a) for a in (ch.ph.id, ch.ph_closed.id)] == cursors

    # something new: the batch protocol as before, a row and two leaves on each side, the cursor moves
    banks.add_entries_local(ch.p, ch.p_org, shared, EntriesIn(entries=[EntryIn(value=h(9))]))
    done = {r.agreement_id: r for r in run(ch.h, peer=ch.p.me.node_id)}
    assert (done[ch.ph.id].batches, done[ch.ph.id].applied, done[ch.ph_closed.id].batches) == (1, 1, 0)
    assert done[ch.ph.id].position > cursors[0].position
    for node, before in ((ch.p, p_before), (ch.h, h_before)):
        rows_now, leaves_now, _ = kept(node)
        assert (rows_now, leaves_now) == (before[0] + 1, before[1] + 2), node.me.node_id
    assert count(ch.h, schema.sync_receipts_unsent) == 0


def test_an_idle_answer_is_signed_and_names_the_cursor(chain: Chain) -> None:
    """The answer to a pull at the feed's end is a signed envelope of type ``sync.idle`` from the sender,
    kept nowhere; the puller opens it like a batch (a forged or misplaced one is refused)."""
    ch = chain
    platform_banks(ch)
    run(ch.h, peer=ch.p.me.node_id)
    with ch.h.db.read() as conn:
        position = sync_store.cursor(conn, ch.p.me.node_id, ch.ph.id).position
    from accord.exchange.envelope import Refused, open_envelope, seal
    from accord.exchange.nonce import InMemoryNonceStore

    raw = seal(
        ch.h.me,
        recipient=ch.p.me.node_id,
        agreement_id=ch.ph.id,
        purpose="takedown",
        marking="CLEAR",
        category="csam",
        obj={"type": sync.PULL_TYPE, "after": position, "limit": 10},
        now=ch.clock.now(),
    )
    before = kept(ch.p)
    served = sync.serve_pull(ch.p, raw)
    assert served.batch is not None and kept(ch.p) == before
    peers = {ch.p.me.node_id: ch.p.me.document}
    opened = open_envelope(
        served.batch,
        me=ch.h.me.node_id,
        peers=peers,
        agreements={ch.ph.id: ch.ph},
        nonces=InMemoryNonceStore(),
        now=ch.clock.now(),
        skew=timedelta(seconds=300),
    )
    assert opened.object == {"type": sync.IDLE_TYPE, "after": position}
    # the same answer for another position is not the one the puller asked for: refused, nothing kept
    try:
        sync._apply(ch.h, ch.p.me.node_id, ch.ph, position + 1, served.batch)
    except Refused as refused:
        assert refused.reason == "malformed"
    else:
        raise AssertionError("an idle answer for another position was taken")
