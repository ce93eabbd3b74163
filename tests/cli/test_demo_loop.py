"""The background sync loop of ``accord demo --nodes 3`` (``demo_nodes._keep_syncing``), in process and with a
short interval: an entry added at the platform through its API after start-up reaches the hotline and then
the police within a few rounds, carried by the loop alone; when told to stop, the loop finishes its round
and ends, and the three servers stop answering."""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path

import httpx
from rich.console import Console

from accord.cli import demo_nodes
from accord.cli.demo_nodes import BANK_NAME, DemoNode
from accord.services import banks
from accord.settings import Settings
from tests.cli.test_demo_nodes import _free_base_port

INTERVAL = 0.3


def _values(holder: DemoNode, source: DemoNode, origin_bank: str) -> set[str]:
    mirror = demo_nodes._mirror(holder, source, origin_bank)
    if mirror is None:
        return set()
    return {e.value for e in banks.export_local(holder.node, holder.org, mirror.id).entries}


async def _refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    return False


async def _scenario(nodes: list[DemoNode], out: Console, text: io.StringIO) -> tuple[int, int, int, list[bool]]:
    """(rounds when the entry was added, rounds when it was at the police, rounds in all, ports refused)."""
    platform, hotline, police = nodes
    stop = asyncio.Event()
    done: list[int] = [0]
    serving = asyncio.create_task(
        demo_nodes._serve(nodes, True, out, interval=INTERVAL, stop=stop, on_round=lambda n: done.append(n))
    )
    while "serving the three nodes" not in text.getvalue():
        assert not serving.done(), text.getvalue()
        await asyncio.sleep(0.05)
    bank = await asyncio.to_thread(banks.resolve_local, platform.node, platform.org, BANK_NAME)
    mirror = await asyncio.to_thread(demo_nodes._mirror, hotline, platform, bank)
    assert mirror is not None
    value = hashlib.sha256(b"synthetic demo loop entry").hexdigest()
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as client:
        r = await client.post(
            f"/v1/banks/{bank}/entries",
            json={"entries": [{"value": value}]},
            headers={"authorization": f"Bearer {platform.analyst_token}"},
        )
    assert r.status_code == 200, r.text
    added = done[-1]
    deadline = asyncio.get_running_loop().time() + 120
    while value not in await asyncio.to_thread(_values, police, hotline, mirror.id):
        assert asyncio.get_running_loop().time() < deadline, text.getvalue()
        assert not serving.done(), text.getvalue()
        await asyncio.sleep(INTERVAL / 5)
    arrived = done[-1]
    stop.set()
    rounds = await asyncio.wait_for(serving, 60)
    return added, arrived, rounds, [await _refused(int(n.url.rsplit(":", 1)[1])) for n in nodes]


def test_the_background_loop_carries_a_new_entry_down_the_chain_and_stops_cleanly(tmp_path: Path) -> None:
    text = io.StringIO()
    out, err = Console(file=text, width=300), Console(file=io.StringIO(), width=300)
    _, nodes = demo_nodes.setup(Settings(data_dir=tmp_path / "demo"), 7, 30, _free_base_port(), err)
    try:
        added, arrived, rounds, refused = asyncio.run(_scenario(nodes, out, text))
    finally:
        for n in nodes:
            n.node.close()
    printed = text.getvalue()
    assert f"each syncing every {INTERVAL:g} s" in printed
    # one round takes the entry to the hotline and on to the police (the police pulls after the hotline);
    # two when it came in while a round was under way; the round that saw it may still be finishing
    assert arrived - added <= 3, (added, arrived, printed)  # (and one more: the poll may see it late)
    assert printed.count("sync at the hotline: 1 applied") == 1, printed
    assert printed.count("sync at the police: 1 applied") == 1, printed
    # stopped cleanly: the round under way finished (counted), nothing cut, every server closed
    assert rounds >= arrived and "did not finish in time" not in printed
    assert refused == [True, True, True]
