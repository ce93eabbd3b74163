"""Whether a warrant allows an opening: in force now, and its scope covering the report and each field.

Pure rules over plain values, so the same checks run when a request is made, when a custodian approves
it and again when it is opened (a warrant that expired in between stops the opening).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from accord.errors import UnsealRefused
from accord.model.warrant import Warrant

__all__ = ["check", "covers_field", "require_in_force"]


def covers_field(scope_fields: Iterable[str], field: str) -> bool:
    """A scope pointer covers itself and what lies beneath it: ``/subjects`` covers ``/subjects/1``,
    ``/subject`` does not."""
    return any(field == s or field.startswith(s + "/") for s in scope_fields)


def require_in_force(warrant: Warrant, now: datetime) -> None:
    if now < warrant.valid_from:
        raise UnsealRefused(
            f"warrant {warrant.id} is not in force before {warrant.valid_from.isoformat()}", "warrant-not-yet-valid"
        )
    if now >= warrant.valid_until:
        raise UnsealRefused(f"warrant {warrant.id} expired at {warrant.valid_until.isoformat()}", "warrant-expired")


def check(warrant: Warrant, now: datetime, report_id: str, report_keys: Iterable[str], fields: Iterable[str]) -> None:
    """Raise ``UnsealRefused`` naming the first rule the opening breaks; return when it breaks none.

    ``report_keys`` are the report's indexed identifier keys (a victim's identifiers are sealed and
    never indexed, so a warrant cannot reach a report through them).
    """
    require_in_force(warrant, now)
    scope = warrant.scope
    if report_id not in scope.report_ids and not set(scope.identifier_keys) & set(report_keys):
        raise UnsealRefused(
            f"warrant {warrant.id} does not cover report {report_id}: it names neither the report nor an "
            "identifier the report holds",
            "scope-report",
        )
    outside = [f for f in fields if not covers_field(scope.fields, f)]
    if outside:
        raise UnsealRefused(
            f"warrant {warrant.id} does not cover field {outside[0]} (it covers {', '.join(scope.fields)})",
            "scope-field",
        )
