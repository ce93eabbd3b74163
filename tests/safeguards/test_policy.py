"""The role → permission table (``accord/safeguards/policy.py``)."""

from __future__ import annotations

import itertools

import pytest

from accord.errors import Forbidden
from accord.ids import ActorId, OrgId
from accord.model.organisation import Actor, ActorKind, Role
from accord.safeguards.policy import OPERATOR_ONLY, PERMISSIONS, SEALING_PERMISSIONS, Action, allowed, require


def actor(*roles: Role, operator: bool = False) -> Actor:
    return Actor(
        id=ActorId("act_1"),
        org_id=OrgId("org_1"),
        name="n",
        kind=ActorKind.service,
        roles=frozenset(roles),
        operator=operator,
    )


def test_every_role_has_an_entry() -> None:
    assert set(PERMISSIONS) == set(Role)
    for role, actions in PERMISSIONS.items():
        assert actions, role
        assert all(isinstance(a, Action) for a in actions)


def test_operator_only_actions_are_in_no_role() -> None:
    for actions in PERMISSIONS.values():
        assert not actions & OPERATOR_ONLY


def test_submitters_can_only_create() -> None:
    """A platform's machine account submits and follows its own import jobs; it reads nothing back (a custody
    proof is hashes only, which every key may ask for)."""
    sub = actor(Role.submitter)
    assert allowed(sub, Action.report_create)
    granted = {a for a in Action if allowed(sub, a)}
    assert granted == {Action.report_create, Action.job_read, Action.org_read, Action.custody_proof}
    for action in (
        Action.report_read,
        Action.report_export,
        Action.case_read,
        Action.case_create,
        Action.identifier_search,
    ):
        assert not allowed(sub, action)


def test_auditors_read_audit_but_not_reports() -> None:
    aud = actor(Role.auditor)
    assert allowed(aud, Action.audit_read) and allowed(aud, Action.audit_verify)
    for action in (Action.report_read, Action.report_create, Action.case_read, Action.identifier_search):
        assert not allowed(aud, action)


def test_only_auditors_read_the_audit_trail() -> None:
    assert {r for r in Role if allowed(actor(r), Action.audit_read)} == {Role.auditor}


def test_custodian_and_admin_do_not_read_reports() -> None:
    for role in (Role.custodian, Role.admin, Role.auditor, Role.submitter):
        assert not allowed(actor(role), Action.report_read), role


def test_credential_management_is_for_admins_only() -> None:
    assert {r for r in Role if allowed(actor(r), Action.credential_manage)} == {Role.admin}


@pytest.mark.parametrize(
    ("roles", "operator", "expected"),
    [
        ((Role.admin,), True, True),
        ((Role.admin, Role.auditor), True, True),
        ((Role.admin,), False, False),
        ((Role.analyst,), True, False),
        ((Role.supervisor, Role.auditor, Role.custodian), True, False),
        ((), True, False),
    ],
)
def test_org_create_only_for_operator_admins(roles: tuple[Role, ...], operator: bool, expected: bool) -> None:
    assert allowed(actor(*roles, operator=operator), Action.org_create) is expected


def test_every_role_combination_of_non_operators_cannot_create_orgs() -> None:
    for n in range(1, 3):
        for roles in itertools.combinations(Role, n):
            assert not allowed(actor(*roles), Action.org_create)


def test_roles_add_up() -> None:
    both = actor(Role.submitter, Role.auditor)
    assert allowed(both, Action.report_create) and allowed(both, Action.audit_read)
    assert not allowed(both, Action.report_read)
    assert not allowed(actor(), Action.org_read)


def test_require_raises_forbidden() -> None:
    with pytest.raises(Forbidden) as info:
        require(actor(Role.auditor), Action.report_read)
    assert info.value.status == 403
    assert "report.read" in info.value.detail
    with pytest.raises(Forbidden):
        require(actor(Role.admin), Action.org_create)


def test_require_passes_silently_when_allowed() -> None:
    assert require(actor(Role.analyst), Action.report_read) is None
    assert require(actor(Role.admin, operator=True), Action.org_create) is None


def test_custody_proofs_for_every_role_entries_for_evidence_readers() -> None:
    assert {r for r in Role if allowed(actor(r), Action.custody_proof)} == set(Role)
    readers = {r for r in Role if allowed(actor(r), Action.custody_entry_read)}
    assert readers == {Role.analyst, Role.investigator, Role.supervisor, Role.custodian, Role.auditor}
    exporters = {r for r in Role if allowed(actor(r), Action.custody_export)}
    assert exporters == {Role.analyst, Role.investigator, Role.supervisor}


def test_sealing_separation_of_duties() -> None:
    """Who asks and opens never approves or reviews; custodians approve but never open; admins register
    custodians' keys and nothing else of sealing; auditors watch and open nothing."""

    def holders(action: Action) -> set[Role]:
        return {r for r in Role if allowed(actor(r), action)}

    assert holders(Action.unseal_request) == holders(Action.unseal_open) == {Role.investigator, Role.supervisor}
    assert holders(Action.unseal_emergency) == {Role.supervisor}
    assert holders(Action.unseal_approve) == holders(Action.unseal_review) == {Role.custodian}
    assert holders(Action.warrant_record) == {Role.investigator, Role.supervisor}
    assert holders(Action.custodian_manage) == {Role.admin}
    assert holders(Action.audit_export) == {Role.auditor}
    assert Role.auditor in holders(Action.unseal_read) and Role.auditor in holders(Action.warrant_read)
    assert not holders(Action.unseal_open) & holders(Action.unseal_approve)
    for role, actions in SEALING_PERMISSIONS.items():
        assert actions <= PERMISSIONS[role], role  # merged into the one table
