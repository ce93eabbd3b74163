"""A sender that dies mid-sync, as real processes: a platform's node and a hotline's node each run
``accord serve`` (uvicorn) on a loopback port over their own data directory; the hotline's ``accord peer
sync`` pulls a bank of a few thousand entries in small batches, and the platform's server is killed
with SIGKILL while it does. The pull fails (exit 3); the platform is started again; the next pull
completes. Then the hotline holds every entry exactly once, its cursor is at the end of the feed, every
batch it applied is in both custody logs with the same receipt (a receipt the dead platform could not take
is sent again by the next round), and both custody logs verify."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import pytest

from accord.model.bank import BankIn, EntriesIn, EntryIn
from accord.model.organisation import OrgKind
from accord.services import banks, custody, sync
from accord.services.node import open_node
from accord.settings import Settings
from tests.federation.processes import Server, Site, agree, know, open_site, peer_sync

AGREEMENT = "agr_01RESTARTPH000000000000000"


def h(n: int) -> str:
    return hashlib.sha256(f"synthetic restart entry {n}".encode()).hexdigest()


def _sites(tmp: Path, entries: int) -> tuple[Site, Site]:
    p_site, p = open_site(tmp / "platform", "Platform", OrgKind.platform, "NL")
    h_site, hn = open_site(tmp / "hotline", "Hotline", OrgKind.hotline, "DE")
    try:
        know(p, hn, h_site)
        know(hn, p, p_site)
        agree([(p, p_site), (hn, h_site)], AGREEMENT)
        bank = banks.create_local(p, p_site.org, BankIn(name="platform hashes", type="sha256"))
        for start in range(0, entries, 5000):
            chunk = [EntryIn(value=h(i)) for i in range(start, min(entries, start + 5000))]
            banks.add_entries_local(p, p_site.org, bank.id, EntriesIn(entries=chunk))
        sync.share_bank(p, None, p_site.org, bank.id, AGREEMENT, "csam")
    finally:
        p.close()
        hn.close()
    return p_site, h_site


def _db(site: Site) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{site.data_dir / 'accord.db'}?mode=ro", uri=True, timeout=10)


def _position(site: Site) -> int:
    with _db(site) as c:
        row = c.execute("SELECT position FROM sync_cursors").fetchone()
    return 0 if row is None else int(row[0])


def _crash_and_resume(tmp_path: Path, entries: int, batch: int) -> None:
    p_site, h_site = _sites(tmp_path, entries)
    platform = Server(p_site, batch=batch, log=tmp_path / "platform.log")
    with platform, Server(h_site, batch=batch, log=tmp_path / "hotline.log"):
        puller = peer_sync(h_site, batch=batch)
        deadline = time.monotonic() + 60
        while _position(h_site) < entries // 4:  # some batches applied, most not
            assert puller.poll() is None, puller.communicate()
            assert time.monotonic() < deadline, "the pull did not start"
            time.sleep(0.01)
        platform.kill()
        stdout, stderr = puller.communicate(timeout=60)
        out = stdout.decode()
        assert puller.returncode == 3, (out, stderr.decode())
        assert "did not answer" in out
        cut = _position(h_site)
        assert 0 < cut < entries

        platform.start()
        again = peer_sync(h_site, "--force", batch=batch)
        out, err = (x.decode() for x in again.communicate(timeout=120))
        assert again.returncode == 0, (out, err)
        assert f"cursor {entries}" in out

    with _db(h_site) as c:
        values = [
            r[0] for r in c.execute("SELECT e.value FROM bank_entries e JOIN sync_mirrors m ON e.bank_id = m.bank_id")
        ]
        assert len(values) == entries and set(values) == {h(i) for i in range(entries)}
        assert c.execute("SELECT count(*) FROM sync_objects").fetchone() == (entries,)
        assert c.execute("SELECT position, failures FROM sync_cursors").fetchall() == [(entries, 0)]
        inbound = c.execute("SELECT raw, receipt FROM federation_envelopes WHERE direction = 'in'").fetchall()
        (unsent,) = c.execute("SELECT count(*) FROM sync_receipts_unsent").fetchone()
    with _db(p_site) as c:
        sent = {bytes(raw): rec for raw, rec in c.execute("SELECT raw, receipt FROM federation_envelopes")}
        (feed_end,) = c.execute("SELECT max(seq) FROM sync_feed").fetchone()
    assert feed_end == entries
    assert all(receipt is not None for _, receipt in inbound)
    # every batch the hotline applied was recorded as sent by the platform, and the platform holds the same
    # receipt for it: one whose post failed because the platform was down was sent again by the next round
    assert all(bytes(raw) in sent for raw, _ in inbound)
    assert [raw for raw, receipt in inbound if sent[bytes(raw)] is None] == [] and unsent == 0
    assert all(bytes(sent[bytes(raw)]) == bytes(receipt) for raw, receipt in inbound)
    # sent but never applied: only what was in flight when the platform died
    assert len(sent) - len(inbound) <= 1

    for site in (p_site, h_site):
        node = open_node(Settings(data_dir=site.data_dir))
        try:
            checked = custody.verify_log(node)
            assert checked.ok, checked.faults
        finally:
            node.close()


def test_a_sender_killed_mid_sync_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    _crash_and_resume(tmp_path, entries=2000, batch=40)


@pytest.mark.slow
def test_a_sender_killed_mid_sync_with_a_bigger_bank(tmp_path: Path) -> None:
    _crash_and_resume(tmp_path, entries=10_000, batch=500)
