"""``accord retention`` on SQLite: rules set and shown at the console, a dry run, a run, a second run, and
refusals that name the option."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from accord.clock import FixedClock
from accord.errors import Gone
from accord.model.organisation import CredentialIn, Role
from accord.model.parse import parse_obj
from accord.model.report import ReportIn
from accord.services import admin, custody, reports
from accord.services.node import open_node
from accord.settings import Settings
from tests.cli.helpers import run
from tests.cli.test_cli import init_node
from tests.conftest import report_json


def test_rules_then_a_dry_run_then_a_run(tmp_path: Path) -> None:
    base, org, _ = init_node(tmp_path)
    node = open_node(Settings(data_dir=tmp_path / "node"), clock=FixedClock(datetime(2020, 1, 1, tzinfo=UTC)))
    try:
        token = admin.create_credential_local(node, org, CredentialIn(name="a", roles=[Role.analyst])).token
        analyst = admin.authenticate(node, token)
        old = reports.submit(node, analyst, parse_obj(ReportIn, report_json("cli-old"))).report
    finally:
        node.close()

    code, out, err = run([*base, "retention", "rules", "--org", org])
    assert code == 0 and "no retention rules" in out, err
    code, out, err = run([*base, "retention", "set", "--org", org, "--category", "report", "--days", "30"])
    assert code == 0 and "report" in out and "30" in out, err
    code, out, _ = run([*base, "retention", "rules", "--org", org])
    assert "operator" in out  # set at the console
    code, out, err = run([*base, "retention", "run", "--dry-run"])
    assert code == 0 and f"{org} report: would purge 1" in out, err
    code, out, err = run([*base, "retention", "run", "--org", org])
    assert code == 0 and f"{org} report: purged 1" in out and "purged 1 in total in 1 batch(es)" in out, err
    code, out, _ = run([*base, "retention", "run"])
    assert code == 0 and "purged 0 in total" in out

    node = open_node(Settings(data_dir=tmp_path / "node"))
    try:
        try:
            reports.get(node, admin.authenticate(node, token), old.id)
            raise AssertionError("the purged report is still there")
        except Gone:
            pass
        assert custody.verify_log(node).ok
    finally:
        node.close()

    code, _, err = run([*base, "retention", "set", "--org", org, "--category", "victims", "--days", "3"])
    assert code == 2 and "--category" in err and "unknown retention category 'victims'" in err
    code, _, err = run([*base, "retention", "set", "--org", org, "--category", "report", "--days", "0"])
    assert code == 2 and "--days" in err
    code, _, err = run(
        [*base, "retention", "set", "--org", org, "--category", "report", "--days", "3", "--agreement", "agr_x"]
    )
    assert code == 2 and err.startswith("accord: --agreement: no agreement agr_x"), err
    code, _, err = run([*base, "retention", "run", "--org", "org_nobody"])
    assert code == 2 and "org_nobody" in err
    code, out, _ = run([*base, "retention", "unset", "--org", org, "--category", "report"])
    assert code == 0 and "no retention rules" in out
