"""``accord peer share``, ``accord peer sync`` and ``accord agreement add --upstream`` at the console, on SQLite:
the sending node is a real ``accord serve`` process on a loopback port. Bad input exits 2 naming the field
and changes nothing; a peer that is down exits 3."""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa

from accord.model.bank import BankIn, EntriesIn, EntryIn
from accord.model.organisation import OrgKind
from accord.services import banks, peers
from accord.services.node import open_node
from accord.settings import Settings
from accord.store import orgs, schema
from tests.cli.helpers import run
from tests.federation.processes import Server, Site, agree, know, open_site

PH = "agr_01CLISYNCPH00000000000000"


def _count(site: Site, table: sa.Table) -> int:
    node = open_node(Settings(data_dir=site.data_dir))
    try:
        with node.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    finally:
        node.close()


def test_share_then_sync_at_the_console(tmp_path: Path) -> None:
    p_site, p = open_site(tmp_path / "p", "Platform", OrgKind.platform, "NL")
    h_site, hn = open_site(tmp_path / "h", "Hotline", OrgKind.hotline, "DE")
    try:
        know(p, hn, h_site)
        know(hn, p, p_site)
        agree([(p, p_site), (hn, h_site)], PH)
        bank = banks.create_local(p, p_site.org, BankIn(name="hashes", type="sha256"))
        values = [hashlib.sha256(f"synthetic cli {i}".encode()).hexdigest() for i in range(3)]
        banks.add_entries_local(p, p_site.org, bank.id, EntriesIn(entries=[EntryIn(value=v) for v in values]))
    finally:
        p.close()
        hn.close()
    pb, hb = ["--data-dir", str(p_site.data_dir)], ["--data-dir", str(h_site.data_dir)]
    share = [*pb, "peer", "share", "--org", p_site.org, "--bank", "hashes", "--agreement", PH, "--category"]

    def other(org: str, bank: str, agreement: str) -> list[str]:
        return [*pb, "peer", "share", "--org", org, "--bank", bank, "--agreement", agreement, "--category", "csam"]

    code, _, err = run([*share, "nonsense"])
    assert code == 2 and "/category" in err and "nonsense" in err
    code, _, err = run(
        [*pb, "peer", "share", "--org", p_site.org, "--bank", "nobank", "--agreement", PH, "--category", "csam"]
    )
    assert code == 2 and "nobank" in err
    code, _, err = run(
        [*pb, "peer", "share", "--org", p_site.org, "--bank", "hashes", "--agreement", "agr_x", "--category", "csam"]
    )
    assert code == 2 and "no agreement agr_x" in err
    code, _, err = run(
        [*pb, "peer", "share", "--org", h_site.org, "--bank", "hashes", "--agreement", PH, "--category", "csam"]
    )
    assert code == 2, err  # an organisation not hosted on this node
    assert _count(p_site, schema.sync_feed) == 0

    code, out, err = run([*share, "csam"])
    assert code == 0 and f"shared into the feed of {PH}" in out, err
    assert _count(p_site, schema.sync_feed) == 3
    code, _, err = run([*share, "csam"])
    assert code == 2 and "already shared" in err
    assert _count(p_site, schema.sync_feed) == 3

    code, _, err = run([*hb, "peer", "sync", "--once", "--peer", "node_nobody"])
    assert code == 2 and "no trusted peer node_nobody" in err
    code, _, err = run([*hb, "peer", "sync", "--once", "--interval", "0"])
    assert code == 2 and "--interval" in err

    # the platform is not serving yet: the pull fails, exit 3, and the peer is in backoff
    code, out, err = run([*hb, "peer", "sync", "--once"])
    assert code == 3 and "did not answer" in out, (out, err)
    code, out, err = run([*hb, "peer", "sync", "--once"])
    assert code == 0 and "backing off until" in out, (out, err)

    with Server(p_site, log=tmp_path / "p.log"):
        code, out, err = run([*hb, "peer", "sync", "--once", "--force"])
        assert code == 0 and "1 batches, 3 applied, 0 already here, cursor 3" in out, (out, err)
        code, out, err = run([*hb, "peer", "sync", "--once", "--peer", p_site.node_id])
        assert code == 0 and "0 applied, 0 already here, cursor 3" in out, (out, err)  # an empty batch
    assert _count(h_site, schema.sync_objects) == 3


def test_agreement_add_upstream(tmp_path: Path) -> None:
    """The police holds the platform<->hotline agreement as an upstream one: it is no party to it, and the
    signatures must verify against peers on file (the platform may stay pending)."""
    p_site, p = open_site(tmp_path / "p", "Platform", OrgKind.platform, "NL")
    h_site, hn = open_site(tmp_path / "h", "Hotline", OrgKind.hotline, "DE")
    c_site, c = open_site(tmp_path / "c", "Police", OrgKind.law_enforcement, "BE")
    try:
        know(p, hn, h_site)
        know(hn, p, p_site)
        know(c, hn, h_site)
        agree([(p, p_site), (hn, h_site)], PH, onward=True)
        signed = peers.agreement_documents(p, PH).to_json()
        p_doc = p.me.document.to_json().decode()
    finally:
        for n in (p, hn, c):
            n.close()
    cb = ["--data-dir", str(c_site.data_dir)]
    doc = tmp_path / "ph.json"
    doc.write_bytes(signed)
    (tmp_path / "garbage.json").write_text("{not json")

    code, _, err = run([*cb, "agreement", "add", "--upstream", str(tmp_path / "garbage.json")])
    assert code == 2 and "garbage.json" in err and "signed agreement" in err
    code, _, err = run([*cb, "agreement", "add", "--upstream", str(tmp_path / "missing.json")])
    assert code == 2 and "missing.json" in err
    code, _, err = run([*cb, "agreement", "add", "--upstream", str(doc)])
    assert code == 2 and "/signatures" in err  # the platform is not on file: its signature cannot be checked
    code, out, err = run([*cb, "peer", "add", p_site.url, p_doc])
    assert code == 0, err
    code, _, err = run([*cb, "agreement", "add", str(doc)])
    assert code == 2 and "/agreement/nodes" in err and "speaks for no party" in err
    assert _count(c_site, schema.signed_agreements) == 0

    code, out, err = run([*cb, "agreement", "add", "--upstream", str(doc)])
    assert code == 0 and f"agreement {PH} stored" in out, err
    code, _, err = run([*cb, "agreement", "add", "--upstream", str(doc)])
    assert code == 2 and "already stored" in err
    code, out, _ = run([*cb, "agreement", "list"])
    assert PH in out


def test_share_reports_at_the_console(tmp_path: Path) -> None:
    """``accord peer share --reports``: a rule per agreement and category; bad input exits 2 naming what is
    wrong and adds no rule."""
    p_site, p = open_site(tmp_path / "p", "Platform", OrgKind.platform, "NL")
    h_site, hn = open_site(tmp_path / "h", "Hotline", OrgKind.hotline, "DE")
    try:
        know(p, hn, h_site)
        know(hn, p, p_site)
        agree([(p, p_site), (hn, h_site)], PH)
    finally:
        p.close()
        hn.close()
    share = ["--data-dir", str(p_site.data_dir), "peer", "share", "--org", p_site.org, "--agreement", PH]
    code, _, err = run([*share, "--category", "csam"])
    assert code == 2 and "one of --bank BANK, --reports or --case CASE" in err
    code, _, err = run([*share, "--category", "csam", "--bank", "x", "--marking-max", "GREEN"])
    assert code == 2 and "--reports" in err
    code, _, err = run([*share, "--reports", "--category", "csam", "--marking-max", "RED"])
    assert code == 2 and "max_marking" in err
    assert _count(p_site, schema.sync_report_shares) == 0
    code, out, err = run([*share, "--reports", "--category", "csam", "--marking-max", "GREEN"])
    assert code == 0 and f"reports of csam up to GREEN shared into the feed of {PH}" in out, err
    code, _, err = run([*share, "--reports", "--category", "csam"])
    assert code == 2 and "already shared" in err
    assert _count(p_site, schema.sync_report_shares) == 1


def test_unshare_at_the_console(tmp_path: Path) -> None:
    """``accord peer shares`` lists the organisation's shares with their ids; ``accord peer unshare`` removes
    one (a bank share stays on file as removed, a report rule is gone); an unknown id, or one of another
    organisation's, exits 2 and changes nothing."""
    p_site, p = open_site(tmp_path / "p", "Platform", OrgKind.platform, "NL")
    h_site, hn = open_site(tmp_path / "h", "Hotline", OrgKind.hotline, "DE")
    try:
        know(p, hn, h_site)
        know(hn, p, p_site)
        agree([(p, p_site), (hn, h_site)], PH)
        banks.create_local(p, p_site.org, BankIn(name="hashes", type="sha256"))
        with p.db.read() as conn:
            operator = orgs.operator_org_id(conn)
        assert operator is not None
    finally:
        p.close()
        hn.close()
    pb = ["--data-dir", str(p_site.data_dir), "peer"]
    share = [*pb, "share", "--org", p_site.org, "--agreement", PH, "--category", "csam"]
    code, out, err = run([*share, "--bank", "hashes"])
    assert code == 0, err
    bank_share = out.split("(")[-1].split(")")[0]
    code, out, err = run([*share, "--reports"])
    assert code == 0, err
    rule = out.split("(")[-1].split(")")[0]
    assert bank_share.startswith("shr_") and rule.startswith("shr_") and bank_share != rule
    code, out, _ = run([*pb, "shares", "--org", p_site.org])
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == [bank_share, rule], out

    code, _, err = run([*pb, "unshare", bank_share, "--org", operator])  # another organisation's share
    assert code == 2 and f"no share {bank_share}" in err, err
    code, _, err = run([*pb, "unshare", "shr_nosuch", "--org", p_site.org])
    assert code == 2 and "no share shr_nosuch" in err, err
    code, out, err = run([*pb, "unshare", bank_share, "--org", p_site.org])
    assert code == 0 and "no longer enters the feed" in out, err
    code, out, err = run([*pb, "unshare", rule, "--org", p_site.org])
    assert code == 0 and "reports of csam no longer enters" in out, err
    code, out, _ = run([*pb, "shares", "--org", p_site.org])
    assert code == 0 and out.strip() == "no shares"
    assert (_count(p_site, schema.sync_shares), _count(p_site, schema.sync_report_shares)) == (1, 0)
