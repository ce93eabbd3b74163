"""Many-row inserts (COPY on PostgreSQL): values survive the trip and duplicates surface as DuplicateKey."""

from __future__ import annotations

import orjson
import pytest
import sqlalchemy as sa

from accord.model.organisation import Role
from accord.model.parse import parse_json
from accord.model.report import ReportIn
from accord.services import reports
from accord.store.bulk import insert_rows
from accord.store.errors import DuplicateKey
from accord.store.schema import report_observables
from accord.store.schema import reports as reports_table
from tests.conftest import World, report_json


def test_sealed_blob_json_and_times_round_trip(world: World) -> None:
    a = world.actor(world.org("A", [Role.analyst])[1])
    body = report_json(
        "rt-1",
        narrative="ref CAT-3 seq 17",
        subjects=[
            {"role": "suspect", "identifiers": [{"kind": "email", "value": "s@example.org"}]},
            {"role": "victim", "identifiers": [{"kind": "account", "service": "p-1", "value": "v-9"}]},
        ],
    )
    lines = [(1, orjson.dumps(body)), (2, orjson.dumps(report_json("rt-2")))]
    assert reports.ingest_lines(world.node, a, lines).accepted == 2
    stored = reports.list_page(world.node, a, reports.ReportFilter(), None, 10).items
    assert [r.external_id for r in stored] == ["rt-1", "rt-2"]
    assert stored[0].received_at == parse_json(ReportIn, orjson.dumps(body)).received_at
    with world.node.db.read() as conn:
        blob = conn.execute(sa.select(reports_table.c.sealed).where(reports_table.c.id == stored[0].id)).scalar_one()
    opened = orjson.loads(world.node.sealer._open(blob, stored[0].id))
    assert opened["narrative"] == "ref CAT-3 seq 17"
    assert opened["subjects"]["1"]["identifiers"][0]["value"] == "v-9"


def test_duplicate_rows_raise_duplicate_key_and_write_nothing(world: World) -> None:
    a = world.actor(world.org("A", [Role.analyst])[1])
    linked = reports.submit(world.node, a, parse_json(ReportIn, orjson.dumps(report_json("d-1")))).report.id
    bare = report_json("d-2", subjects=[], media=[])
    unlinked = reports.submit(world.node, a, parse_json(ReportIn, orjson.dumps(bare))).report.id
    links = report_observables.c
    with world.node.db.read() as conn:
        observable_id = conn.execute(sa.select(links.observable_id).where(links.report_id == linked)).scalars().first()
    new = {"report_id": unlinked, "observable_id": observable_id}
    again = {"report_id": linked, "observable_id": observable_id}  # already there
    with pytest.raises(DuplicateKey), world.node.db.write() as conn:
        insert_rows(conn, report_observables, [new, again])
    with world.node.db.read() as conn:
        holders = conn.execute(sa.select(links.report_id).where(links.observable_id == observable_id)).scalars()
        assert list(holders) == [linked]  # the new row went with the failed transaction
