"""Re-scan (``accord/services/rescan.py``): stored reports that a bank's later entries match are found and
recorded as intake records them, for every organisation that sees the bank and no other, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from accord.errors import Invalid
from accord.model.bank import BankIn, EntriesIn
from accord.model.organisation import Role
from accord.services import banks, rescan
from accord.store import schema
from tests.conftest import World, report_json
from tests.services.test_retention import submit

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def flip(h: str, bits: int) -> str:
    return f"{int(h, 16) ^ (((1 << bits) - 1) << (256 - bits)):064x}"


def entries(*values: str) -> EntriesIn:
    return EntriesIn.model_validate({"entries": [{"value": v} for v in values]})


def share(world: World, *org_ids: str) -> str:
    node = world.node
    agr = node.ids("agr")
    with node.db.write() as conn:
        conn.execute(
            sa.insert(schema.agreements).values(
                id=agr,
                parties=list(org_ids),
                purposes=["investigation"],
                legal_bases=["consent"],
                max_marking="AMBER",
                retention_days=365,
                onward_sharing=False,
                valid_from=node.clock.now() - timedelta(days=1),
                created_at=node.clock.now(),
            )
        )
        conn.execute(sa.insert(schema.agreement_parties), [{"agreement_id": agr, "org_id": o} for o in org_ids])
    return agr


def test_rescan_records_new_matches_of_the_history_once(world: World) -> None:
    node = world.node
    a_id, a_token = world.org("A", [Role.analyst])
    b_id, b_token = world.org("B", [Role.analyst])
    _, c_token = world.org("C", [Role.analyst])
    a, b, c = (world.actor(t) for t in (a_token, b_token, c_token))
    agr = share(world, a_id, b_id)
    bank = banks.create_local(node, a_id, BankIn(name="known", type="pdq", agreement_id=agr))
    banks.add_entries_local(node, a_id, bank.id, entries(flip(PDQ, 128)))
    # the history: reports stored before the entries that match them arrive
    (a1,) = submit(node, a, report_json("a-1", media=[{"pdq": PDQ}]))
    (a2,) = submit(node, a, report_json("a-2", media=[{"pdq": flip(PDQ, 20)}, {"md5": "1" * 32}]))
    (a3,) = submit(node, a, report_json("a-3", media=[{"pdq": flip(PDQ, 60)}]))  # too far
    (b1,) = submit(node, b, report_json("b-1", media=[{"pdq": flip(PDQ, 3)}]))
    (c1,) = submit(node, c, report_json("c-1", media=[{"pdq": PDQ}]))  # C does not see the bank
    with node.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.matches)).scalar_one() == 0

    new = banks.add_entries_local(node, a_id, bank.id, entries(PDQ)).added[0].id
    pages: list[int] = []
    done = rescan.rescan_local(node, a_id, bank.id, since=2, on_page=pages.append)
    assert (done.entries, done.matches, done.reports, done.organisations, done.on_gpu) == (1, 3, 3, 2, False)
    assert sum(pages) == done.records
    with node.db.read() as conn:
        m = schema.matches.c
        rows = conn.execute(sa.select(m.org_id, m.report_id, m.key, m.entry_id, m.distance, m.bank_version)).all()
        leaves = conn.execute(
            sa.select(schema.custody_leaves.c.object_id).where(schema.custody_leaves.c.action == "matched")
        ).all()
        events = conn.execute(
            sa.select(schema.audit_events.c.org_id, schema.audit_events.c.action, schema.audit_events.c.detail).where(
                schema.audit_events.c.action.in_(["match.rescan", "bank.rescan"])
            )
        ).all()
    assert sorted(rows) == sorted(
        [
            (a_id, a1.id, f"pdq:{PDQ}", new, 0, 3),
            (a_id, a2.id, f"pdq:{flip(PDQ, 20)}", new, 20, 3),
            (b_id, b1.id, f"pdq:{flip(PDQ, 3)}", new, 3, 3),
        ]
    )
    assert sorted(x.object_id for x in leaves) == sorted([a1.id, a2.id, b1.id])
    assert a3.id not in str(rows) and c1.id not in str(rows)
    by_org = {(e.org_id, e.action): e.detail for e in events}
    assert by_org[(b_id, "match.rescan")]["ids"] == [b1.id]
    owner = by_org[(a_id, "bank.rescan")]
    assert (owner["matches"], owner["since"], owner["version"]) == (3, 2, 3) and b1.id not in str(owner)
    assert banks.get_local(node, a_id, bank.id).rescanned_version == 3

    # again: nothing new (the default starts where the last re-scan stopped, and pairs are not recorded twice)
    assert rescan.rescan_local(node, a_id, bank.id).matches == 0
    assert rescan.rescan_local(node, a_id, bank.id, since=0).matches == 0
    # a report stored after the entry was matched at intake, and a re-scan does not record it twice
    (a4,) = submit(node, a, report_json("a-4", media=[{"pdq": flip(PDQ, 1)}]))
    assert rescan.rescan_local(node, a_id, bank.id, since=0).matches == 0
    with node.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(schema.matches.c.report_id == a4.id)).scalar_one() == 1


def test_rescan_of_exact_types_and_bad_input(world: World) -> None:
    node = world.node
    a_id, a_token = world.org("A", [Role.analyst])
    a = world.actor(a_token)
    (r,) = submit(node, a, report_json("a-1", media=[{"md5": "ab" * 16}]))
    bank = banks.create_local(node, a_id, BankIn(name="md5s", type="md5"))
    banks.add_entries_local(node, a_id, bank.id, entries("AB" * 16, "cd" * 16))
    done = rescan.rescan_local(node, a_id, bank.id)
    assert (done.since, done.entries, done.matches) == (0, 2, 1)
    with pytest.raises(Invalid, match="/since"):
        rescan.rescan_local(node, a_id, bank.id, since=99)
    video = banks.create_local(node, a_id, BankIn(name="v", type="vpdq"))
    with pytest.raises(Invalid, match="no stored video history"):
        rescan.rescan_local(node, a_id, video.id)
    assert r.id
