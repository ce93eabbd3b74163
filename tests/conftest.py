"""Shared fixtures. Storage-touching tests run on both backends through the ``node`` fixture.

PostgreSQL tests use a fresh schema per test in the database named by ``ACCORD_TEST_PG_URL``
(default: the local server at 127.0.0.1:5432, user postgres, database test). They fail, never
skip, when it is unreachable, unless ``ACCORD_TEST_SKIP_PG=1`` says so explicitly.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings

from accord.api.app import create_app
from accord.clock import FixedClock
from accord.model.organisation import Actor, CredentialIn, OrganisationIn, OrgKind, Role
from accord.safeguards.apikeys import KeyVerifier
from accord.services import admin
from accord.services.node import Node, open_node
from accord.settings import Settings

PG_URL = os.environ.get("ACCORD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SKIP_PG = os.environ.get("ACCORD_TEST_SKIP_PG") == "1"
BACKENDS = ["sqlite"] + ([] if SKIP_PG else ["postgresql"])

# Hypothesis's per-example deadline fails on a loaded 2-core runner, not on slow code: speed is measured in bench/.
hypothesis_settings.register_profile("accord", deadline=None)
hypothesis_settings.load_profile("accord")


@dataclass
class PgSchema:
    url: str
    name: str


@pytest.fixture
def pg_schema() -> Iterator[PgSchema]:
    name = f"t_{secrets.token_hex(6)}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    try:
        yield PgSchema(PG_URL, name)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        engine.dispose()


# The test client is one address making hundreds of sign-ins a minute of the fixed clock: the per-address
# limit is lifted for the node fixture and tested at its defaults in tests/api/test_signin_controls.py.
RELAXED_RATE = {"signin_rate_limit": 1_000_000}


def make_settings(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest, **overrides: Any
) -> tuple[Settings, str | None]:
    """Settings for a test node; ``overrides`` replace the relaxed sign-in rate limit and anything else."""
    given = {**RELAXED_RATE, **overrides}
    if backend == "sqlite":
        return Settings(data_dir=tmp_path / "node", **given), None
    schema: PgSchema = request.getfixturevalue("pg_schema")
    return Settings(data_dir=tmp_path / "node", database_url=schema.url, **given), schema.name


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


@dataclass
class World:
    """A bootstrapped node with a helper to add organisations and keys."""

    node: Node
    operator_token: str

    def org(
        self, name: str, roles: list[Role], kind: OrgKind = OrgKind.hotline, jurisdiction: str = "DE"
    ) -> tuple[str, str]:
        """A new organisation and one key with ``roles``; returns (org id, token)."""
        org = admin.create_org_local(self.node, OrganisationIn(name=name, kind=kind, jurisdiction=jurisdiction))
        key = admin.create_credential_local(self.node, org.id, CredentialIn(name=f"{name} key", roles=roles))
        return org.id, key.token

    def key(self, org_id: str, roles: list[Role]) -> str:
        return admin.create_credential_local(self.node, org_id, CredentialIn(name="key", roles=roles)).token

    def actor(self, token: str) -> Actor:
        return admin.authenticate(self.node, token)


@pytest.fixture
def node(tmp_path: Path, backend: str, clock: FixedClock, request: pytest.FixtureRequest) -> Iterator[Node]:
    settings, schema = make_settings(tmp_path, backend, request)
    # still argon2id, at minimal cost: key strength is tested in tests/safeguards/test_apikeys.py
    cheap = KeyVerifier(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    n = open_node(settings, clock=clock, schema=schema, keys=cheap)
    try:
        yield n
    finally:
        n.close()


@pytest.fixture
def world(node: Node) -> World:
    _, key = admin.bootstrap(node, OrganisationIn(name="Operator", kind=OrgKind.hotline, jurisdiction="NL"))
    return World(node, key.token)


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.node), raise_server_exceptions=False) as c:
        yield c


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def report_json(ext: str = "ext-1", **overrides: object) -> dict[str, object]:
    """A neutral, valid report body."""
    body: dict[str, object] = {
        "external_id": ext,
        "source": "platform",
        "received_at": "2026-11-20T10:00:00Z",
        "incident_type": "csam",
        "urgency": ["recent"],
        "marking": "AMBER",
        "location": {"country": "DE", "timezone": "Europe/Berlin"},
        "subjects": [
            {
                "role": "suspect",
                "identifiers": [
                    {"kind": "account", "service": "platform-01", "value": "u-100", "handle": "user_a"},
                    {"kind": "email", "value": "Subject.A@Example.org"},
                    {"kind": "phone", "value": "+49 30 901820"},
                ],
            },
        ],
        "media": [{"md5": "0" * 31 + "1", "pdq": "f" * 64, "pdq_quality": 90}],
    }
    body.update(overrides)
    return body


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` (long forms, soaks) run only when selected with ``-m slow``; `make test` keeps
    the suite inside CI's budget with their short forms."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="long form: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
