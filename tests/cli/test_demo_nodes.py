"""``accord demo --nodes 3``: three federated nodes from one command answer on their ports, deconflict, sync a
bank down the chain platform -> hotline -> police with a retraction following it, then stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from accord.cli.demo_nodes import BANK_NAME, _node_settings
from accord.services import banks
from accord.services.node import open_node
from accord.settings import Settings
from accord.store import schema
from tests.cli.helpers import accord_cmd, subprocess_env


def _free_base_port() -> int:
    """A port such that it and the next two are free now."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base > 65000:
            continue
        try:
            held = []
            for p in (base, base + 1, base + 2):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise AssertionError("no three consecutive free ports")


def test_three_nodes_start_deconflict_and_answer(tmp_path: Path) -> None:
    base = _free_base_port()
    args = ["--data-dir", str(tmp_path / "demo"), "demo", "--nodes", "3", "--reports", "60", "--port", str(base)]
    proc = subprocess.Popen(accord_cmd(*args), env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        answered: set[int] = set()
        while time.monotonic() < deadline and len(answered) < 3 and proc.poll() is None:
            for port in (base, base + 1, base + 2):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json() == {"status": "ok"}:
                        answered.add(port)
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        assert answered == {base, base + 1, base + 2}, proc.poll()
        # the platform's deconfliction with the hotline ran before the servers said they serve
        while time.monotonic() < deadline:
            alerts = httpx.get(f"http://127.0.0.1:{base + 1}/v1/federation/identity", timeout=2)
            if alerts.status_code == 200:
                break
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    text = out.decode()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert text.count("analyst key accord_key_") == 3 and "deconfliction dcr_" in text, text
    assert "serving the three nodes, each syncing every 30 s" in text
    shared = int(text.split("sync: the platform shares ", 1)[1].split()[0])
    assert shared > 0
    assert f"the hotline pulled from the platform: {shared} applied; its mirror bank holds {shared}" in text, text
    assert f"the police pulled: {shared} applied; its mirror bank holds {shared}" in text, text
    assert "the hotline pulled (1 applied), then the police (1 applied)" in text, text
    n = shared - 1
    assert f"active entries now: the platform {n}, the hotline {n}, the police {n}" in text, text
    # what the demo printed is what the three databases hold: the same values, the same one retracted
    held = {}
    for name in ("platform", "hotline", "police"):
        node = open_node(_node_settings(Settings(), tmp_path / "demo" / name))
        try:
            with node.db.read() as conn:
                orgs = [o for (o,) in conn.execute(sa.select(schema.banks.c.org_id).distinct())]
            (bank,) = [b for o in orgs for b in banks.list_banks_local(node, o)]
            assert bank.name.startswith(BANK_NAME), bank.name
            with node.db.read() as conn:
                t = schema.bank_entries.c
                rows = conn.execute(sa.select(t.value, t.retracted).where(t.bank_id == bank.id)).all()
            held[name] = sorted((r.value, bool(r.retracted)) for r in rows)
        finally:
            node.close()
    assert len(held["platform"]) == shared and sum(r for _, r in held["platform"]) == 1
    assert held["platform"] == held["hotline"] == held["police"]


def test_deconflict_names_what_is_wrong(tmp_path: Path) -> None:
    from tests.cli.helpers import run, token_in

    data = ["--data-dir", str(tmp_path / "n")]
    code, out, _ = run([*data, "init"])
    assert code == 0
    admin_key = token_in(out)
    deconflict = [*data, "deconflict", "--peer", "node_nosuch", "--set", "identifiers", "--key"]
    code, _, err = run([*deconflict, admin_key])
    assert code == 2 and "do not allow deconfliction.run" in err, err
    org = out.split("operator organisation: ", 1)[1].split()[0]
    code, out, _ = run([*data, "key", "create", "--org", org, "--name", "a", "--role", "analyst"])
    assert code == 0
    code, _, err = run([*deconflict, token_in(out)])
    assert code == 2 and "no trusted peer node_nosuch" in err, err
    code, _, err = run([*data, "demo", "--nodes", "2", "--no-serve"])
    assert code == 2 and "--nodes is 1" in err
