"""Local agreements (``accord/services/agreements.py``) on both backends: the console's (``actor`` None)
create, list, get and end, audited as the node in the operator's trail; an organisation's scope; ending
one not yet in force; and what an ended agreement still does: it caps retention of what is held under it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from accord.clock import FixedClock
from accord.errors import Conflict, Forbidden, Invalid, NotFound
from accord.model.agreement import LocalAgreementIn
from accord.model.organisation import Role
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.services import agreements, reports, retention
from accord.store import orgs as org_store
from accord.store import schema
from tests.conftest import World, report_json


def terms(*parties: str, **over: object) -> LocalAgreementIn:
    body = {
        "parties": list(parties),
        "purposes": ["investigation"],
        "legal_bases": ["mou"],
        "categories": ["csam"],
        "max_marking": "AMBER",
        "retention_days": 5,
        **over,
    }
    return parse_obj(LocalAgreementIn, body)


def audit(world: World, action: str) -> list[sa.Row[tuple[object, ...]]]:
    with world.node.db.read() as conn:
        t = schema.audit_events
        return list(conn.execute(sa.select(t).where(t.c.action == action).order_by(t.c.seq)))


def test_the_console_makes_lists_and_ends_one_audited_as_the_node(world: World, clock: FixedClock) -> None:
    node = world.node
    a, a_key = world.org("A", [Role.analyst])
    b, _ = world.org("B", [Role.analyst])
    c, c_key = world.org("C", [Role.analyst])
    made = agreements.create(node, None, terms(a, b))
    assert (made.valid_from, made.valid_until, made.created_at, made.in_force) == (clock.now(), None, clock.now(), True)
    other = agreements.create(node, None, terms(b, c))
    assert [x.id for x in agreements.list_agreements(node, None)] == [made.id, other.id]
    assert [x.id for x in agreements.list_agreements(node, world.actor(a_key))] == [made.id]
    assert agreements.get(node, world.actor(a_key), made.id) == made
    with pytest.raises(NotFound):
        agreements.get(node, world.actor(c_key), made.id)
    with pytest.raises(Forbidden):  # an organisation's key neither makes nor ends one
        agreements.end(node, world.actor(a_key), made.id)

    clock.advance(timedelta(minutes=5))
    ended = agreements.end(node, None, made.id)
    assert (ended.valid_until, ended.in_force) == (clock.now(), False)
    assert [x.id for x in agreements.list_agreements(node, None, in_force=True)] == [other.id]
    with pytest.raises(Conflict):
        agreements.end(node, None, made.id)
    with node.db.read() as conn:
        operator = org_store.operator_org_id(conn)
    for action, object_id in (("agreement.create", made.id), ("agreement.end", made.id)):
        event = audit(world, action)[0]
        assert (event.object_id, event.org_id, event.actor_id, event.outcome) == (object_id, operator, None, "success")
        assert event.detail["parties"] == [a, b]


def test_ending_one_not_yet_in_force_means_it_never_is(world: World, clock: FixedClock) -> None:
    node = world.node
    a, a_key = world.org("A", [Role.analyst])
    b, _ = world.org("B", [Role.analyst])
    start = clock.now() + timedelta(days=2)
    made = agreements.create(node, None, terms(a, b, valid_from=start.isoformat()))
    assert not made.in_force
    ended = agreements.end(node, None, made.id)
    assert ended.valid_until == start
    clock.advance(timedelta(days=3))
    assert agreements.list_agreements(node, world.actor(a_key), in_force=True) == []
    assert not agreements.get(node, None, made.id).in_force


def test_a_refused_party_stores_nothing(world: World) -> None:
    node = world.node
    a, _ = world.org("A", [Role.analyst])
    with pytest.raises(Invalid) as refused:
        agreements.create(node, None, terms(a, "org_nowhere"))
    assert refused.value.errors == {"/parties/1": "org_nowhere is no organisation hosted on this node"}
    assert agreements.list_agreements(node, None) == [] and audit(world, "agreement.create") == []


def test_an_ended_agreement_still_caps_retention_of_what_is_held_under_it(world: World, clock: FixedClock) -> None:
    node = world.node
    a, a_key = world.org("A", [Role.analyst])
    b, _ = world.org("B", [Role.analyst])
    made = agreements.create(node, None, terms(a, b))  # retention_days 5
    held = reports.submit(node, world.actor(a_key), parse_obj(ReportIn, report_json("held"))).report
    with node.db.write() as conn:  # as a TAXII add publishes it
        conn.execute(sa.update(schema.reports).where(schema.reports.c.id == held.id).values(agreement_id=made.id))
    agreements.end(node, None, made.id)
    clock.advance(timedelta(days=4))
    assert retention.run(node).total == 0
    clock.advance(timedelta(days=2))
    assert retention.run(node).total == 1
