"""``accord agreement create|local|end`` on SQLite: the operator makes a local agreement between two
organisations of the node, lists it and ends it; refusals name the field and store nothing; the signed
agreements (``agreement list``) are apart."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import run
from tests.cli.test_cli import init_node


def create_args(*parties: str, extra: tuple[str, ...] = ()) -> list[str]:
    args = ["agreement", "create"]
    for p in parties:
        args += ["--party", p]
    args += ["--purpose", "investigation", "--legal-basis", "mou", "--category", "csam", "--category", "other"]
    return [*args, "--max-marking", "AMBER", "--retention-days", "365", *extra]


def test_create_list_and_end_a_local_agreement(tmp_path: Path) -> None:
    base, operator, _ = init_node(tmp_path)
    code, out, _ = run([*base, "org", "add", "--name", "Platform", "--kind", "platform", "--jurisdiction", "IE"])
    assert code == 0
    platform = out.strip()

    code, out, err = run([*base, *create_args(operator, platform, extra=("--onward-sharing",))])
    assert code == 0, err
    agr = out.strip()
    assert agr.startswith("agr_") and "\n" not in agr
    code, out, _ = run([*base, "agreement", "local"])
    assert code == 0 and agr in out and "in force" in out and f"parties {operator}, {platform}" in out
    assert "categories csam, other" in out and "onward sharing yes" in out and "to open" in out
    code, out, _ = run([*base, "agreement", "local", "--org", platform, "--in-force"])
    assert agr in out
    code, out, _ = run([*base, "agreement", "list"])  # the signed agreements with peers: none
    assert code == 0 and "no agreements" in out

    code, out, err = run([*base, "agreement", "end", agr])
    assert code == 0 and f"agreement {agr} ended at" in out, err
    code, out, _ = run([*base, "agreement", "local", "--in-force"])
    assert out.strip() == "no local agreements"
    code, out, _ = run([*base, "agreement", "local"])
    assert agr in out and "not in force" in out  # kept, ended
    code, _, err = run([*base, "agreement", "end", agr])
    assert code == 2 and "is over already" in err
    code, _, err = run([*base, "agreement", "end", "agr_nothing"])
    assert code == 2 and "no agreement agr_nothing" in err


def test_refusals_name_the_field_and_store_nothing(tmp_path: Path) -> None:
    base, operator, _ = init_node(tmp_path)
    code, out, _ = run([*base, "org", "add", "--name", "Police", "--kind", "law_enforcement", "--jurisdiction", "FR"])
    police = out.strip()
    cases = [
        (create_args(operator), "/parties: List should have at least 2 items"),
        (create_args(operator, "org_elsewhere"), "/parties/1: org_elsewhere is no organisation hosted on this node"),
        ([*create_args(operator, police), "--category", "nope"], "/categories: unknown categories code 'nope'"),
        ([*create_args(operator, police), "--purpose", "marketing"], "/purposes: unknown purposes code 'marketing'"),
        ([*create_args(operator, police)[:-4], "--max-marking", "X", "--retention-days", "1"], "/max_marking"),
        (
            create_args(
                operator,
                police,
                extra=("--valid-from", "2030-01-02T00:00:00Z", "--valid-until", "2030-01-01T00:00:00Z"),
            ),
            "/valid_until: valid_until must be after valid_from",
        ),
        (create_args(operator, police, extra=("--valid-until", "2020-01-01T00:00:00Z")), "never be in force"),
        (create_args(operator, police, extra=("--valid-from", "tomorrow")), "/valid_from"),
    ]
    for args, words in cases:
        code, _, err = run([*base, *args])
        assert code == 2 and words in err, (args, err)
    code, out, _ = run([*base, "agreement", "local"])
    assert out.strip() == "no local agreements"
