"""Analytics runs: one analysis (network, communities, key players, timeline, entity resolution, money) of an
organisation's reports, run as a job, its result stored with the parameters and the data version it used
(docs/analytics.md).

Why a data version and not a timestamp: a result is stale when the reports it was computed from changed,
and a report count with the last ingestion time and id changes when reports are added or purged, while
the clock moving on does not make a result wrong.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from accord.errors import Invalid
from accord.model.base import Inbound, Outbound
from accord.model.job import JobStatus
from accord.model.parse import errors_from

__all__ = [
    "EDGE_KINDS",
    "AnalysisKind",
    "AnalyticsRun",
    "CommunitiesParams",
    "DataVersion",
    "KeyPlayersParams",
    "MoneyParams",
    "NetworkParams",
    "Params",
    "ResolveParams",
    "RunIn",
    "RunProgress",
    "TimelineParams",
    "parse_params",
]

EDGE_KINDS = ("co-report", "same-subject", "shared-media", "shared-infrastructure", "payment")
EdgeKind = Literal["co-report", "same-subject", "shared-media", "shared-infrastructure", "payment"]


class AnalysisKind(StrEnum):
    network = "network"
    communities = "communities"
    keyplayers = "keyplayers"
    timeline = "timeline"
    resolve = "resolve"
    money = "money"


class _Graph(Inbound):
    """What every analysis on the entity network shares: which edges count, and the shared-key cap."""

    edge_kinds: list[EdgeKind] | None = Field(
        None, min_length=1, description="edge kinds to use (default: all); payments come from stored transfers"
    )
    max_sharers: int = Field(
        20, ge=2, le=1000, description="a media file or IP shared by more entities ties none of them"
    )
    resolve_run: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="nodes are the entities of this resolve run ('latest': the newest that succeeded; "
        "the run's id is stored in its place); default: each identifier is a node",
    )


class NetworkParams(_Graph):
    pass


class CommunitiesParams(_Graph):
    method: Literal["modularity", "cpm"] = "modularity"
    resolution: float = Field(1.0, gt=0, le=1000)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    min_size: int = Field(3, ge=1, le=100_000, description="leave out smaller communities")
    iterations: int = Field(2, ge=1, le=1000, description="Leiden passes (more: closer to convergence, slower)")


class KeyPlayersParams(_Graph):
    method: Literal["accord", "hda", "hba", "corehd", "ci"] = "accord"
    objective: Literal["auc10", "r"] = "auc10"
    seed: int = Field(0, ge=0, le=2**31 - 1)
    top: int = Field(25, ge=1, le=1000, description="how many of the ranking to keep in the result")
    k: int | None = Field(None, ge=1, le=50, description="also choose the best k entities to act on")
    jurisdictions: list[str] | None = Field(
        None,
        min_length=1,
        max_length=250,
        description="with k: only entities whose reports place them in these countries (ISO 3166-1) are actionable",
    )

    @field_validator("jurisdictions")
    @classmethod
    def _codes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for code in value:
            if len(code) != 2 or not code.isalpha():
                raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 code")
        return sorted({c.upper() for c in value})

    @model_validator(mode="after")
    def _needs_k(self) -> KeyPlayersParams:
        if self.jurisdictions is not None and self.k is None:
            raise ValueError("jurisdictions restrict the k entities to act on: give k too")
        return self


class TimelineParams(Inbound):
    keys: list[str] | None = Field(
        None, min_length=1, max_length=100, description="identifier keys the timeline is about (default: all)"
    )
    tolerance_seconds: int = Field(300, ge=0, le=7 * 86400, description="how far two sources may disagree")
    limit: int = Field(10_000, ge=1, le=100_000, description="keep at most this many events (the first ones)")

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            for key in value:
                if ":" not in key or len(key) > 600:
                    raise ValueError(f"{key[:60]!r} is not an identifier key (kind:value)")
        return value


class ResolveParams(Inbound):
    """Entity resolution of the organisation's report subjects (``accord.graph.resolve.ResolveConfig``); the
    analysts' merge and split decisions stored at the time the run starts are respected."""

    threshold: float = Field(-5.0, ge=-50, le=50, description="Splink match weight (prior included) to join at")
    phone_window_days: float = Field(14.0, gt=0, le=3650)
    ip_window_days: float = Field(7.0, gt=0, le=3650)
    seed: int = Field(0, ge=0, le=2**31 - 1)


class MoneyParams(Inbound):
    """Money flows in the organisation's stored transfers (``accord.graph.money``)."""

    trace: list[str] | None = Field(
        None, min_length=1, max_length=50, description="instrument keys (payment:...) to trace forwards and back"
    )
    tolerance: float = Field(0.02, ge=0, le=1, description="amount conservation slack")
    skip_unpriced: bool = Field(
        True, description="leave out (and count) transfers the rates cannot price, rather than fail the run"
    )
    fan: int = Field(5, ge=2, le=1000, description="distinct counterparts that make a fan-in or fan-out")
    window_days: float = Field(7.0, gt=0, le=366, description="fan-in and fan-out window")
    pass_hours: float = Field(48.0, gt=0, le=24 * 366, description="pass-through window")
    limit: int = Field(1000, ge=1, le=100_000, description="keep at most this many patterns and flows each")

    @field_validator("trace")
    @classmethod
    def _keys(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            for key in value:
                if not key.startswith("payment:") or len(key) > 2100:
                    raise ValueError(f"{key[:60]!r} is not a payment instrument key (payment:...)")
        return value


Params = NetworkParams | CommunitiesParams | KeyPlayersParams | TimelineParams | ResolveParams | MoneyParams
_PARAMS: dict[AnalysisKind, type[Params]] = {
    AnalysisKind.network: NetworkParams,
    AnalysisKind.communities: CommunitiesParams,
    AnalysisKind.keyplayers: KeyPlayersParams,
    AnalysisKind.timeline: TimelineParams,
    AnalysisKind.resolve: ResolveParams,
    AnalysisKind.money: MoneyParams,
}


class RunIn(Inbound):
    kind: str = Field(description="network, communities, keyplayers, timeline, resolve or money")
    parameters: dict[str, Any] = Field(default_factory=dict)


def parse_params(kind: str, parameters: dict[str, Any]) -> tuple[AnalysisKind, Params]:
    """The analysis and its checked parameters; an unknown kind or a bad parameter raises ``Invalid``
    pointing at ``/kind`` or ``/parameters/...``."""
    try:
        analysis = AnalysisKind(kind)
    except ValueError:
        raise Invalid.at("/kind", f"unknown analysis {kind!r}; one of {', '.join(AnalysisKind)}") from None
    from pydantic import ValidationError

    try:
        return analysis, _PARAMS[analysis].model_validate(parameters)
    except ValidationError as exc:
        errors = {f"/parameters{k}": v for k, v in errors_from(exc).items()}
        first = next(iter(errors.items()))
        raise Invalid(f"{first[0]}: {first[1]}", errors) from None


class RunProgress(Outbound):
    stage: str = "queued"
    done: int = 0
    total: int = 0
    """Reports to read (known at the start); ``done`` counts them, then the stages that follow."""


class DataVersion(Outbound):
    reports: int
    last_ingested_at: datetime | None
    last_report_id: str | None


class AnalyticsRun(Outbound):
    id: str
    org_id: str
    kind: AnalysisKind
    parameters: dict[str, Any]
    status: JobStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: RunProgress
    data_version: DataVersion | None
    """The organisation's reports when the run started (None until it starts)."""
    error: str | None
