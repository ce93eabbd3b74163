"""Organisation isolation as a property (RELIABILITY I1), on both backends.

A Hypothesis state machine lets three organisations interleave intake (single and bulk, with external
ids, idempotency keys and identifiers that other organisations also use), reads, listing, identifier
search, cases and audit queries, and keeps its own model of who owns what. After every step each
organisation's view is compared with the model: nothing foreign is ever returned, a foreign object is
always NotFound (never Forbidden), and an auditor's trail never mentions another organisation's objects.

The organisations are created afresh in every example (the database persists across examples), so
the model never has to reason about rows left by an earlier example.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accord.errors import Conflict, Invalid, NotFound
from accord.model.audit import AuditEvent
from accord.model.case import TRANSITIONS, CaseIn, CaseStatus
from accord.model.identifier import Identifier
from accord.model.organisation import Actor, Role
from accord.model.parse import parse_obj
from accord.model.report import Report, ReportIn
from accord.safeguards import apikeys
from accord.services import audit, cases, reports
from accord.store.audit import AuditQuery
from accord.store.reports import ReportFilter
from tests.conftest import World, report_json

# Identifiers any organisation may use, so that two organisations often hold the same one. Some entries are
# other spellings of the previous one (same normalised key): search must treat them as one identifier.
IDENTIFIERS: list[dict[str, Any]] = [
    {"kind": "email", "value": "person-1@example.org"},
    {"kind": "email", "value": "Person-1@Example.ORG"},
    {"kind": "email", "value": "person-2@example.org"},
    {"kind": "phone", "value": "+49 30 901821"},
    {"kind": "phone", "value": "+4930901821"},
    {"kind": "phone", "value": "+49 30 901822"},
    {"kind": "account", "service": "platform-01", "value": "u-7"},
    {"kind": "account", "service": "PLATFORM-01", "value": "u-7"},
]
KEYS = [parse_obj(Identifier, i).key for i in IDENTIFIERS]
ROLES = ["suspect", "unknown", "victim"]  # a victim's identifiers are sealed, never indexed
INCIDENTS = ["csam", "grooming"]

# (external id, (identifier index, subject role) pairs, incident type): equal content, equal digest.
Content = tuple[str | None, tuple[tuple[int, str], ...], str]


def body(content: Content) -> dict[str, Any]:
    ext, idents, incident = content
    subjects = [{"role": role, "identifiers": [IDENTIFIERS[i]]} for i, role in idents]
    return report_json("unused", external_id=ext, subjects=subjects, incident_type=incident)


def report_in(content: Content) -> ReportIn:
    return parse_obj(ReportIn, body(content))


def indexed_keys(content: Content) -> frozenset[str]:
    return frozenset(KEYS[i] for i, role in content[1] if role != "victim")


@dataclass
class CaseModel:
    status: CaseStatus
    links: set[str]


@dataclass
class Tenant:
    name: str
    org_id: str
    staff: Actor  # analyst + investigator: intake, reads, search, cases
    auditor: Actor
    key_ids: set[str]
    reports: dict[str, frozenset[str]] = field(default_factory=dict)  # report id -> indexed identifier keys
    by_ext: dict[str, tuple[str, Content]] = field(default_factory=dict)  # external id -> (report id, content)
    idem: dict[str, tuple[Content, str]] = field(default_factory=dict)  # idempotency key -> (content, report id)
    by_content: dict[Content, str] = field(default_factory=dict)  # no external id: content -> report id
    cases: dict[str, CaseModel] = field(default_factory=dict)

    def ids(self) -> set[str]:
        """Every id this organisation owns: another organisation must never be shown one of them."""
        return {self.org_id, self.staff.id, self.auditor.id, *self.key_ids, *self.reports, *self.cases}


_example = itertools.count()


class Isolation(RuleBasedStateMachine):
    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.node = world.node
        self.ext_counter = itertools.count()
        n = next(_example)
        # Unique per example (the database outlives it), and shared by the three organisations within it.
        self.idem_keys = [f"idem-{n}-{k}" for k in range(3)]
        self.ext_prefix = f"x-{n}-"
        self.tenants: list[Tenant] = []
        for letter in "ABC":
            name = f"iso-{n}-{letter}"
            org_id, staff_token = world.org(name, [Role.analyst, Role.investigator])
            auditor_token = world.key(org_id, [Role.auditor])
            keys = {k.key_id for k in (apikeys.parse_key(staff_token), apikeys.parse_key(auditor_token)) if k}
            self.tenants.append(Tenant(name, org_id, world.actor(staff_token), world.actor(auditor_token), keys))

    # ----------------------------------------------------------------- helpers

    def foreign_ids(self, t: Tenant) -> set[str]:
        return set().union(*(o.ids() for o in self.tenants if o is not t))

    def all_reports(self) -> list[str]:
        return sorted(r for t in self.tenants for r in t.reports)

    def all_cases(self) -> list[str]:
        return sorted(c for t in self.tenants for c in t.cases)

    def missing(self, prefix: str) -> str:
        """A well-formed id that names nothing."""
        return self.node.ids(prefix)

    def assert_own_report(self, t: Tenant, r: Report) -> None:
        assert r.org_id == t.org_id, f"{t.name} was given a report of {r.org_id}"
        assert r.id in t.reports, f"{t.name} was given {r.id}, which it does not own"
        assert r.id not in self.foreign_ids(t)

    def list_all(self, t: Tenant, limit: int = 500) -> list[Report]:
        out: list[Report] = []
        cursor = None
        while True:
            page = reports.list_page(self.node, t.staff, ReportFilter(), cursor, limit)
            out += page.items
            cursor = page.next_cursor
            if cursor is None:
                return out

    def audit_trail(self, t: Tenant, q: AuditQuery | None = None) -> list[AuditEvent]:
        out: list[AuditEvent] = []
        after = None
        while True:
            events = audit.query(self.node, t.auditor, q or AuditQuery(), after, 1000)
            out += events
            if len(events) < 1000:
                return out
            after = events[-1].seq

    def draw_tenant(self, data: st.DataObject, among: list[Tenant] | None = None, label: str = "as org") -> Tenant:
        """One organisation, drawn by its letter so that a failing trace stays readable."""
        letters = [t.name[-1] for t in among or self.tenants]
        return self.tenants["ABC".index(data.draw(st.sampled_from(letters), label=label))]

    def draw_content(self, data: st.DataObject, ext: str | None) -> Content:
        idents = data.draw(
            st.lists(st.tuples(st.integers(0, len(IDENTIFIERS) - 1), st.sampled_from(ROLES)), max_size=3),
            label="identifiers",
        )
        return (ext, tuple(idents), data.draw(st.sampled_from(INCIDENTS), label="incident"))

    def draw_ext(self, data: st.DataObject, t: Tenant) -> str | None:
        """A fresh external id, one another organisation already used, one of our own, or none."""
        foreign = sorted({e for o in self.tenants if o is not t for e in o.by_ext})
        own = sorted(t.by_ext)
        choices = ["fresh", "none"] + (["foreign"] if foreign else []) + (["own"] if own else [])
        kind = data.draw(st.sampled_from(choices), label="external id")
        if kind == "fresh":
            return f"{self.ext_prefix}{next(self.ext_counter)}"
        if kind == "foreign":
            return data.draw(st.sampled_from(foreign), label="foreign external id")
        if kind == "own":
            return data.draw(st.sampled_from(own), label="own external id")
        return None

    # ----------------------------------------------------------------- intake

    @initialize(data=st.data())
    def seed(self, data: st.DataObject) -> None:
        """Every organisation starts with two reports and a case, so that reads, search and the case rules
        have other organisations' objects to aim at from the first step."""
        for t in self.tenants:
            for _ in range(2):
                self.submit_as(t, data)
            own = sorted(t.reports)[:1]
            case = cases.create(
                self.node, t.staff, parse_obj(CaseIn, {"title": "seed", "jurisdiction": "DE", "report_ids": own})
            )
            t.cases[case.id] = CaseModel(case.status, set(own))

    @rule(data=st.data())
    def submit(self, data: st.DataObject) -> None:
        self.submit_as(self.draw_tenant(data), data)

    def submit_as(self, t: Tenant, data: st.DataObject) -> None:
        ext = self.draw_ext(data, t)
        if ext is not None and ext in t.by_ext and data.draw(st.booleans(), label="resend same content"):
            content = t.by_ext[ext][1]
        else:
            content = self.draw_content(data, ext)
        idem = data.draw(st.none() | st.sampled_from(self.idem_keys), label="idempotency key")

        expect: str | None = None  # None: a new report; else the id of the stored report it must replay
        conflict = False
        if idem is not None and idem in t.idem:
            conflict = t.idem[idem][0] != content
            expect = t.idem[idem][1]
        elif ext is not None and ext in t.by_ext:
            conflict = t.by_ext[ext][1] != content
            expect = t.by_ext[ext][0]
        elif ext is None and content in t.by_content:  # the same content again is the same report
            expect = t.by_content[content]

        if conflict:
            with pytest.raises(Conflict):
                reports.submit(self.node, t.staff, report_in(content), idempotency_key=idem)
            return
        sub = reports.submit(self.node, t.staff, report_in(content), idempotency_key=idem)
        r = sub.report
        assert r.org_id == t.org_id
        assert r.id not in self.foreign_ids(t), f"{t.name} resubmitting got another organisation's report"
        if expect is None:
            assert sub.created, f"{t.name}: {ext!r} / {idem!r} were only used by other organisations"
            t.reports[r.id] = indexed_keys(content)
            if ext is not None:
                t.by_ext[ext] = (r.id, content)
            else:
                t.by_content[content] = r.id
        else:
            assert not sub.created and r.id == expect
        if idem is not None and idem not in t.idem:
            t.idem[idem] = (content, r.id)

    @rule(data=st.data())
    def bulk_ingest(self, data: st.DataObject) -> None:
        t = self.draw_tenant(data)
        n = data.draw(st.integers(1, 4), label="lines")
        lines: list[bytes] = []
        seen = dict(t.by_ext)
        accepted: dict[str, Content] = {}
        duplicates = rejected = 0
        for _ in range(n):
            if data.draw(st.integers(0, 9), label="bad line") == 0:
                lines.append(b'{"source": 5}')
                rejected += 1
                continue
            ext = self.draw_ext(data, t) or f"{self.ext_prefix}{next(self.ext_counter)}"
            if ext in seen and data.draw(st.booleans(), label="resend same content"):
                content = seen[ext][1]
            else:
                content = self.draw_content(data, ext)
            if ext in seen:
                if seen[ext][1] == content:
                    duplicates += 1
                else:
                    rejected += 1
            else:
                seen[ext] = ("pending", content)
                accepted[ext] = content
            lines.append(orjson.dumps(body(content)))
        result = reports.ingest_lines(self.node, t.staff, enumerate(lines, 1))
        assert (result.accepted, result.duplicates, len({x.line for x in result.rejected})) == (
            len(accepted),
            duplicates,
            rejected,
        )
        listed = self.list_all(t)
        for r in listed:
            assert r.org_id == t.org_id and r.id not in self.foreign_ids(t)
        new = [r for r in listed if r.id not in t.reports]
        assert sorted(r.external_id or "" for r in new) == sorted(accepted)
        for r in new:
            assert r.external_id is not None
            content = accepted[r.external_id]
            t.reports[r.id] = indexed_keys(content)
            t.by_ext[r.external_id] = (r.id, content)

    # ----------------------------------------------------------------- reads

    @rule(data=st.data())
    def get_report(self, data: st.DataObject) -> None:
        t = self.draw_tenant(data)
        rid = data.draw(st.sampled_from([*self.all_reports(), self.missing("rpt")]), label="report id")
        if rid in t.reports:
            r = reports.get(self.node, t.staff, rid)
            assert r.id == rid
            self.assert_own_report(t, r)
        else:
            with pytest.raises(NotFound):
                reports.get(self.node, t.staff, rid)

    @rule(data=st.data())
    def list_reports(self, data: st.DataObject) -> None:
        t = self.draw_tenant(data)
        listed = self.list_all(t, data.draw(st.integers(1, 7), label="page size"))
        for r in listed:
            self.assert_own_report(t, r)
        assert sorted(r.id for r in listed) == sorted(t.reports)

    @rule(data=st.data())
    def search(self, data: st.DataObject) -> None:
        t = self.draw_tenant(data)
        i = data.draw(st.integers(0, len(IDENTIFIERS) - 1), label="identifier")
        hits = reports.search_identifier(self.node, t.staff, parse_obj(Identifier, IDENTIFIERS[i]))
        for r in hits.items:
            self.assert_own_report(t, r)
        expected = sorted(rid for rid, keys in t.reports.items() if KEYS[i] in keys)
        assert sorted(r.id for r in hits.items) == expected, f"{t.name} searching {KEYS[i]}"
        # the record counts this organisation's reports only, and exists only where one holds the key
        assert (hits.record.report_count if hits.record else 0) == len(expected), f"{t.name} counting {KEYS[i]}"

    # ----------------------------------------------------------------- cases

    @rule(data=st.data())
    def create_case(self, data: st.DataObject) -> None:
        t = self.draw_tenant(data)
        own = data.draw(
            st.lists(st.sampled_from(sorted(t.reports)), max_size=3) if t.reports else st.just([]), label="own reports"
        )
        foreign = sorted(set(self.all_reports()) - set(t.reports))
        smuggle = (
            data.draw(st.sampled_from(foreign), label="foreign report")
            if foreign and data.draw(st.booleans(), label="smuggle a foreign report")
            else None
        )
        ids = own + ([smuggle] if smuggle else [])
        cin = parse_obj(CaseIn, {"title": f"case-{next(self.ext_counter)}", "jurisdiction": "DE", "report_ids": ids})
        if smuggle:
            with pytest.raises(NotFound):
                cases.create(self.node, t.staff, cin)
            return
        case = cases.create(self.node, t.staff, cin)
        assert case.org_id == t.org_id and case.id not in self.foreign_ids(t)
        assert sorted(case.report_ids) == sorted(set(own))
        t.cases[case.id] = CaseModel(case.status, set(own))

    @precondition(lambda self: any(t.cases for t in self.tenants))
    @rule(data=st.data())
    def link_reports(self, data: st.DataObject) -> None:
        t = self.draw_tenant(data, [t for t in self.tenants if t.cases])
        cid = data.draw(st.sampled_from(sorted(t.cases)), label="own case")
        own = data.draw(
            st.lists(st.sampled_from(sorted(t.reports)), min_size=1, max_size=2) if t.reports else st.just([]),
            label="own reports",
        )
        foreign = [*sorted(set(self.all_reports()) - set(t.reports)), self.missing("rpt")]
        smuggle = (
            data.draw(st.sampled_from(foreign), label="foreign report")
            if data.draw(st.booleans(), label="smuggle a foreign report") or not own
            else None
        )
        ids = [*own, smuggle] if smuggle else own
        if smuggle:
            with pytest.raises(NotFound):
                cases.link_reports(self.node, t.staff, cid, ids)
        else:
            case = cases.link_reports(self.node, t.staff, cid, ids)
            t.cases[cid].links |= set(own)
            assert set(case.report_ids) == t.cases[cid].links
        assert set(cases.get(self.node, t.staff, cid).report_ids) == t.cases[cid].links

    @precondition(lambda self: any(t.cases for t in self.tenants))
    @rule(data=st.data())
    def update_own_case(self, data: st.DataObject) -> None:
        t = self.draw_tenant(data, [t for t in self.tenants if t.cases])
        cid = data.draw(st.sampled_from(sorted(t.cases)), label="own case")
        status = data.draw(st.sampled_from(list(CaseStatus)), label="status")
        model = t.cases[cid]
        if status != model.status and status not in TRANSITIONS[model.status]:
            with pytest.raises(Invalid):
                cases.set_status(self.node, t.staff, cid, status)
            return
        assert cases.set_status(self.node, t.staff, cid, status).status == status
        model.status = status

    @rule(data=st.data())
    def touch_foreign_case(self, data: st.DataObject) -> None:
        t = self.draw_tenant(data)
        others = [c for c in self.all_cases() if c not in t.cases]
        cid = data.draw(st.sampled_from([*others, self.missing("case")]), label="foreign case")
        how = data.draw(st.sampled_from(["read", "update", "link"]), label="how")
        with pytest.raises(NotFound):
            if how == "read":
                cases.get(self.node, t.staff, cid)
            elif how == "update":
                status = data.draw(st.sampled_from(list(CaseStatus)), label="status")
                cases.set_status(self.node, t.staff, cid, status)
            else:
                own = sorted(t.reports)[:2]
                cases.link_reports(self.node, t.staff, cid, own or [self.missing("rpt")])
        owner = next((o for o in self.tenants if cid in o.cases), None)
        if owner is not None:  # unchanged for its owner
            case = cases.get(self.node, owner.staff, cid)
            assert case.status == owner.cases[cid].status and set(case.report_ids) == owner.cases[cid].links

    # ----------------------------------------------------------------- audit

    @rule(data=st.data())
    def audit_probe(self, data: st.DataObject) -> None:
        """An auditor filtering their trail by another organisation's object or actor gets nothing."""
        t = self.draw_tenant(data)
        other = self.draw_tenant(data, [o for o in self.tenants if o is not t], "other org")
        targets = sorted(other.ids())
        target = data.draw(st.sampled_from(targets), label="foreign id")
        assert self.audit_trail(t, AuditQuery(object_id=target)) == []
        assert self.audit_trail(t, AuditQuery(actor_id=target)) == []

    # ----------------------------------------------------------------- invariants

    @invariant()
    def each_view_is_exactly_its_own(self) -> None:
        for t in self.tenants:
            foreign = self.foreign_ids(t)
            listed = self.list_all(t)
            for r in listed:
                self.assert_own_report(t, r)
            assert sorted(r.id for r in listed) == sorted(t.reports)

            page, _ = cases.list_page(self.node, t.staff, None, None, 500)
            assert sorted(c.id for c in page) == sorted(t.cases)
            for c in page:
                assert c.org_id == t.org_id
                assert set(c.report_ids) == t.cases[c.id].links and c.status == t.cases[c.id].status
                assert not set(c.report_ids) & foreign

            trail = self.audit_trail(t)
            # Each of its own creations is on its own trail (an event filed under another org would be missing).
            assert {e.object_id for e in trail if e.action == "report.create"} == set(t.reports)
            assert {e.object_id for e in trail if e.action == "case.create"} == set(t.cases)
            for e in trail:
                assert e.org_id == t.org_id, f"{t.name}'s auditor was shown an event of {e.org_id}"
                assert e.actor_id in (None, t.staff.id, t.auditor.id)
                assert e.object_id not in foreign, f"{t.name}'s trail names {e.object_id} ({e.action})"
                text = json.dumps(e.detail)
                leaked = [x for x in foreign if x in text]
                assert not leaked, f"{t.name}'s trail ({e.action}) mentions {leaked}"


# No shrinking: a shrink replays hundreds of examples (0.4 s each on SQLite, more on PostgreSQL) and would
# outlast pytest's 300 s timeout, hiding the counterexample. A failing trace has at most 20 steps, each
# draw labelled, and the example database replays it first on the next run.
SETTINGS = settings(
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_organisations_never_see_each_other(world: World) -> None:
    # the node fixture's key verifier uses a cheap argon2 cost: six keys per example at the production
    # cost (about 0.25 s a hash) would take minutes, and has nothing to do with isolation
    run_state_machine_as_test(lambda: Isolation(world), settings=SETTINGS)
