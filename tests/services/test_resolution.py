"""The store side of entity resolution, on both backends: records come from the caller's organisation only,
and decisions are kept per organisation, oldest first."""

from __future__ import annotations

import pytest

from accord.errors import Invalid
from accord.graph.resolve import Decision
from accord.model.organisation import Role
from accord.model.report import ReportIn
from accord.services import reports, resolution
from tests.conftest import World, report_json


def _submit(world: World, token: str, ext: str, handle: str) -> str:
    body = report_json(ext, subjects=[
        {"role": "suspect", "identifiers": [{"kind": "account", "value": handle, "service": "platform-01"},
                                            {"kind": "email", "value": f"{handle}@example.com"}]},
        {"role": "victim", "identifiers": [{"kind": "account", "value": "v-1", "service": "platform-01"}]},
    ])  # fmt: skip
    sub = reports.submit(world.node, world.actor(token), ReportIn.model_validate(body))
    return sub.report.id


def test_records_and_decisions_are_org_scoped(world: World) -> None:
    _, mine = world.org("Mine", [Role.submitter, Role.analyst, Role.investigator])
    _, theirs = world.org("Theirs", [Role.submitter, Role.analyst, Role.investigator])
    rid = _submit(world, mine, "m-1", "kabo")
    _submit(world, theirs, "t-1", "kabo")
    actor = world.actor(mine)
    rs = resolution.identity_records(world.node, actor)
    assert [(r.record_id, r.handle_fold, r.email) for r in rs.records] == [(f"{rid}/0", "kabo", "kabo@example.com")]

    resolution.decide(world.node, actor, "split", f"{rid}/0", "other/0", note="different people")
    resolution.decide(world.node, actor, "merge", f"{rid}/0", "other/0")
    assert resolution.decisions(world.node, actor) == [
        Decision("split", f"{rid}/0", "other/0"),
        Decision("merge", f"{rid}/0", "other/0"),
    ]
    assert resolution.decisions(world.node, world.actor(theirs)) == []
    with pytest.raises(Invalid):
        resolution.decide(world.node, actor, "maybe", "a/0", "b/0")
    with pytest.raises(Invalid):
        resolution.decide(world.node, actor, "merge", "a/0", "a/0")
