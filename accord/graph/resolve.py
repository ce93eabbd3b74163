"""Entity resolution: which identifier records (``accord.graph.records``) belong to the same person, with
Splink (Fellegi-Sunter) on DuckDB.

How it decides, in order:

1. **Blocking**: only pairs that share a folded handle, the first or last five letters of one, an e-mail
   local part, a phone, a device, a payment instrument or an IP address are compared. Each rule joins on
   equality, so the work grows with the size of the groups, not with the square of the records.
2. **Comparisons** (one Splink comparison each, levels from most to least alike): the handle (same account;
   same folded handle, with a term-frequency adjustment; Jaro-Winkler 0.93; Damerau-Levenshtein 2;
   Jaro-Winkler 0.85), the e-mail (exact; same local part without dots and ``+tag``; Jaro-Winkler 0.9 on
   it), the phone, the IP address, the device and the payment instrument.
   A phone or an IP counts only within a time window (``phone_window_days``, ``ip_window_days``): phone
   numbers are recycled and addresses reassigned, so the same number months apart is a neutral level
   (its m and u fixed equal), neither evidence for nor against.
3. **Training without labels**: u-probabilities by random sampling, then Splink's EM in two sessions
   (blocked on the folded handle, then on the e-mail local part, each on a bounded sample of pairs) so
   every comparison is estimated in one.
4. **Clustering**: pairs at or above ``threshold`` (Splink's match weight) are joined strongest first with a
   union-find that refuses a join two records an analyst split (cannot-link); confirmed merges
   (must-link) are joined before anything else. Splink's own connected components cannot refuse a join,
   so the clustering is done here.

Every link that joined two parts of an entity keeps its match weight and, per comparison, the level that
produced it (``Link.evidence``).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from accord.errors import Invalid
from accord.graph.records import IdentityRecord

__all__ = [
    "STAGES",
    "Decision",
    "Entity",
    "Link",
    "Resolution",
    "ResolveConfig",
    "cluster",
    "entity_id",
    "record_frame",
    "resolve",
]

STAGES = ("preparing", "estimating u", "training", "scoring pairs", "clustering")
"""The stages ``resolve`` reports to its ``progress`` callback, in order."""

_COLUMNS = (
    "service", "handle", "handle_fold", "email", "email_local", "phone", "ip", "ip_time", "device", "payment",
)  # fmt: skip
_COMPARISONS = ("handle", "email", "phone", "ip", "device", "payment")
_DAY = 86400
_CHUNK = 1 << 20
# The column whose absence makes a comparison's null level.
_NULL_COLUMN = {"handle": "handle_fold", "email": "email", "phone": "phone", "ip": "ip", "device": "device",
                "payment": "payment"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ResolveConfig:
    threshold: float = -5.0
    """Splink's match weight (log2 odds of a match, the prior included) at or above which two records join.

    Why the prior is included: the comparisons' weights grow with the number of records (fewer chance
    agreements among more people) while the prior falls by about as much, so the sum means the same at 20,000
    and at 100,000 records where either part alone does not (measured: docs/benchmarks.md)."""
    phone_window_days: float = 14.0
    ip_window_days: float = 7.0
    u_pairs: float = 2e6
    """Random pairs sampled to estimate the u-probabilities."""
    em_pairs: float = 2e6
    """At most this many blocked pairs (a sample) per EM session: training cost stays flat as data grows."""
    prior_recall: float = 0.6
    """Assumed recall of the exact rules used to estimate the prior (Splink's ``recall``)."""
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """An analyst's verdict on two records: ``merge`` (same person) or ``split`` (not the same)."""

    kind: Literal["merge", "split"]
    a: str
    b: str


@dataclass(frozen=True, slots=True)
class Link:
    a: str
    b: str
    weight: float
    """Splink's match weight; ``inf`` for an analyst's confirmed merge."""
    evidence: dict[str, str]
    """Comparison name to the label of the level the pair fell in (null levels left out)."""


@dataclass(frozen=True, slots=True)
class Entity:
    id: str
    records: list[str]
    links: list[Link]
    """The links that joined its records, strongest first (a spanning tree: records - 1 of them)."""


@dataclass(slots=True)
class Resolution:
    entities: list[Entity]
    labels: dict[str, str]
    """Record id to entity id."""
    pairs_scored: int = 0
    refused: list[Link] = field(default_factory=list)
    """Links above the threshold that would have joined records an analyst split."""
    conflicts: list[Decision] = field(default_factory=list)
    """Confirmed merges that contradict a split (the split wins)."""
    seconds: dict[str, float] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    """The trained model (Splink's JSON), so a result says how it was reached."""


def entity_id(record_ids: Iterable[str]) -> str:
    """Named after its smallest record id: the same records give the same id on every run."""
    return "ent-" + hashlib.blake2b(min(record_ids).encode(), digest_size=8).hexdigest()


def record_frame(records: Sequence[IdentityRecord]) -> Any:
    """The records as a pyarrow table for Splink (``unique_id`` is the position in ``records``)."""
    import pyarrow as pa

    data: dict[str, Any] = {"unique_id": pa.array(range(len(records)), pa.int64())}
    data["time"] = pa.array([r.time for r in records], pa.int64())
    for name in _COLUMNS:
        kind = pa.int64() if name == "ip_time" else pa.string()
        data[name] = pa.array([getattr(r, name) for r in records], kind)
    return pa.table(data)


def _settings(config: ResolveConfig) -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    phone_window = int(config.phone_window_days * _DAY)
    ip_window = int(config.ip_window_days * _DAY)
    neutral: dict[str, Any] = {
        "m_probability": 0.5, "u_probability": 0.5, "fix_m_probability": True, "fix_u_probability": True,
    }  # fmt: skip
    comparisons: list[Any] = [
        cl.CustomComparison(
            output_column_name="handle",
            comparison_levels=[
                cll.NullLevel("handle_fold"),
                cll.CustomLevel("service_l = service_r AND handle_l = handle_r", label_for_charts="same account"),
                # A short handle is shared by chance far more often than a long one: weigh it by its frequency.
                cll.ExactMatchLevel("handle_fold").configure(
                    label_for_charts="same folded handle", tf_adjustment_column="handle_fold"
                ),
                cll.JaroWinklerLevel("handle_fold", 0.93),
                cll.DamerauLevenshteinLevel("handle_fold", 2),
                cll.JaroWinklerLevel("handle_fold", 0.85),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="email",
            comparison_levels=[
                cll.NullLevel("email"),
                cll.ExactMatchLevel("email").configure(label_for_charts="same e-mail"),
                cll.ExactMatchLevel("email_local").configure(label_for_charts="same local part"),
                cll.JaroWinklerLevel("email_local", 0.9),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="phone",
            comparison_levels=[
                cll.NullLevel("phone"),
                cll.CustomLevel(
                    f"phone_l = phone_r AND abs(time_l - time_r) <= {phone_window}",
                    label_for_charts=f"same phone within {config.phone_window_days:g} days",
                ),
                cll.CustomLevel(
                    "phone_l = phone_r", label_for_charts="same phone, further apart (recycled numbers)"
                ).configure(**neutral),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="ip",
            comparison_levels=[
                cll.NullLevel("ip"),
                cll.CustomLevel(
                    f"ip_l = ip_r AND abs(ip_time_l - ip_time_r) <= {ip_window}",
                    label_for_charts=f"same IP within {config.ip_window_days:g} days",
                ),
                cll.CustomLevel("ip_l = ip_r", label_for_charts="same IP, further apart").configure(**neutral),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="device",
            comparison_levels=[
                cll.NullLevel("device"),
                cll.ExactMatchLevel("device").configure(label_for_charts="same device"),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="payment",
            comparison_levels=[
                cll.NullLevel("payment"),
                cll.ExactMatchLevel("payment").configure(label_for_charts="same payment instrument"),
                cll.ElseLevel(),
            ],
        ),
    ]
    blocking: list[Any] = [
        block_on("handle_fold"),
        block_on("email_local"),
        block_on("phone"),
        block_on("device"),
        block_on("payment"),
        block_on("ip"),
        block_on("substr(handle_fold, 1, 5)"),
        block_on("substr(handle_fold, -5, 5)"),
    ]
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
        additional_columns_to_retain=[],
    )


def _train(linker: Any, config: ResolveConfig, progress: Callable[[str], None]) -> None:
    from splink import block_on

    linker.training.estimate_probability_two_random_records_match(
        [block_on("service", "handle"), block_on("email"), block_on("payment")], recall=config.prior_recall
    )
    # A small set where no two records share an exact handle, e-mail or instrument estimates the prior as 0,
    # and Splink then fails taking its logarithm. Splink 5 has no public setter; 1e-6 says "very unlikely".
    settings = linker._settings_obj
    settings._probability_two_random_records_match = min(max(settings._probability_two_random_records_match, 1e-6), 0.5)
    progress(STAGES[1])
    linker.training.estimate_u_using_random_sampling(max_pairs=config.u_pairs, seed=config.seed)
    progress(STAGES[2])
    from splink.internals.exceptions import EMTrainingException  # Splink 5 exports it from nowhere public

    for rule in ("handle_fold", "email_local"):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(rule), max_pairs=config.em_pairs
            )
        except EMTrainingException:
            # A small organisation's records may hold no pair agreeing on this rule: the comparisons it
            # would train keep their m from the other rule's session, or Splink's defaults.
            continue


def _level_weights(model: dict[str, Any]) -> dict[str, list[tuple[float, str]]]:
    """Per comparison, each non-null level's partial match weight and label, most specific first.

    Why weights: Splink 5's predictions carry each comparison's partial weight (``mw_<name>``), not the
    level's index; every level has its own trained m/u, so the weight names the level.
    """
    out: dict[str, list[tuple[float, str]]] = {}
    for comparison in model["comparisons"]:
        found: list[tuple[float, str]] = []
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else 0.0
            found.append((weight, str(level.get("label_for_charts") or level["sql_condition"])))
        out[comparison["output_column_name"]] = found
    return out


def resolve(
    records: Sequence[IdentityRecord],
    decisions: Iterable[Decision] = (),
    config: ResolveConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> Resolution:
    """Group ``records`` into entities; see the module docstring for how.

    Raises ``Invalid`` for duplicate record ids or a decision naming a record not among ``records``.
    Fewer than two records need no model: each is its own entity.
    """
    config = config or ResolveConfig()
    report = progress or (lambda stage: None)
    index = _index(records)
    decided = _check_decisions(decisions, index)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    report(STAGES[0])
    pairs_a: Any = np.zeros(0, np.int64)
    pairs_b: Any = np.zeros(0, np.int64)
    weights: Any = np.zeros(0, np.float64)
    partial: dict[str, Any] = {}
    levels: dict[str, list[tuple[float, str]]] = {}
    model: dict[str, Any] = {}
    if len(records) >= 2 and _comparable(records):
        from splink import DuckDBAPI, Linker

        db = DuckDBAPI()
        frame = db.register(record_frame(records), table_name="identity_records")
        linker = Linker(frame, _settings(config), log_level=logging.ERROR)
        seconds["prepare"] = time.perf_counter() - t0
        t = time.perf_counter()
        _train(linker, config, report)
        seconds["train"] = time.perf_counter() - t
        report(STAGES[3])
        t = time.perf_counter()
        scored = linker.inference.predict(threshold_match_weight=config.threshold)
        full = scored.as_duckdbpyrelation()
        # Splink leaves out a comparison it could not train at all (a small set with no e-mails, say).
        present = [c for c in _COMPARISONS if f"mw_{c}" in full.columns]
        columns = ["unique_id_l", "unique_id_r", "match_weight", *(f"mw_{c}" for c in present)]
        relation = full.project(", ".join(columns))
        table = relation.order("match_weight DESC, unique_id_l, unique_id_r").to_arrow_table()
        # Arrays, not Python lists: a million records give tens of millions of pairs.
        pairs_a = table.column("unique_id_l").to_numpy()
        pairs_b = table.column("unique_id_r").to_numpy()
        weights = table.column("match_weight").to_numpy()
        partial = {c: table.column(f"mw_{c}").to_numpy(zero_copy_only=False) for c in present}
        del table
        model = linker.misc.save_model_to_json()
        levels = _level_weights(model)
        seconds["predict"] = time.perf_counter() - t
    else:
        seconds["prepare"] = time.perf_counter() - t0
    report(STAGES[4])
    t = time.perf_counter()

    def evidence(k: int) -> dict[str, str]:
        a, b = records[int(pairs_a[k])], records[int(pairs_b[k])]
        found: dict[str, str] = {}
        for c, weight in partial.items():
            column = _NULL_COLUMN[c]
            if getattr(a, column) is None or getattr(b, column) is None:
                continue
            w = float(weight[k])
            found[c] = min(levels[c], key=lambda level: abs(level[0] - w))[1]
        return found

    result = cluster([r.record_id for r in records], pairs_a, pairs_b, weights, evidence, decided)
    result.pairs_scored = len(weights)
    result.parameters = model
    seconds["cluster"] = time.perf_counter() - t
    result.seconds = seconds
    return result


def _comparable(records: Sequence[IdentityRecord]) -> bool:
    """Splink needs at least one value to compare on; records with keys only in unknown formats have none."""
    return any(getattr(r, name) is not None for r in records for name in ("handle_fold", "email", "phone", "ip"))


def _index(records: Sequence[IdentityRecord]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, r in enumerate(records):
        if r.record_id in index:
            raise Invalid.at(f"/records/{i}/record_id", f"record id {r.record_id!r} appears twice")
        index[r.record_id] = i
    return index


def _check_decisions(decisions: Iterable[Decision], index: dict[str, int]) -> list[tuple[str, int, int]]:
    """Decisions as (kind, a, b) positions; a later decision on the same pair replaces an earlier one."""
    latest: dict[tuple[int, int], str] = {}
    for n, d in enumerate(decisions):
        if d.kind not in ("merge", "split"):
            raise Invalid.at(f"/decisions/{n}/kind", f"unknown decision {d.kind!r} (merge or split)")
        for name, rid in (("a", d.a), ("b", d.b)):
            if rid not in index:
                raise Invalid.at(f"/decisions/{n}/{name}", f"record {rid!r} is not among the records resolved")
        a, b = sorted((index[d.a], index[d.b]))
        if a == b:
            raise Invalid.at(f"/decisions/{n}/b", "a decision needs two different records")
        latest[(a, b)] = d.kind
    return [(kind, a, b) for (a, b), kind in latest.items()]


def cluster(
    record_ids: Sequence[str],
    pairs_a: Sequence[int] | npt.NDArray[np.int64],
    pairs_b: Sequence[int] | npt.NDArray[np.int64],
    weights: Sequence[float] | npt.NDArray[np.float64],
    evidence: Callable[[int], dict[str, str]],
    decisions: Sequence[tuple[str, int, int]] = (),
) -> Resolution:
    """Join scored pairs (already at or above the threshold, strongest first) into entities, after the
    analysts' merges and never across their splits.

    A union-find whose roots carry the set of roots they must not join; a join merges those sets. The
    cost is that of the union-find plus the splits touched, so a million pairs take seconds.
    """
    n = len(record_ids)
    parent = list(range(n))
    apart: dict[int, set[int]] = {}
    tree: dict[int, list[Link]] = {}
    refused: list[Link] = []
    conflicts: list[Decision] = []

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def join(ra: int, rb: int, link: Link) -> None:
        if len(tree.get(ra, ())) > len(tree.get(rb, ())):
            ra, rb = rb, ra
        parent[ra] = rb
        tree.setdefault(rb, []).extend([*tree.pop(ra, []), link])
        away = apart.pop(ra, None)
        if away:
            for x in away:
                apart[x].discard(ra)
                apart[x].add(rb)
            apart.setdefault(rb, set()).update(away)

    for kind, a, b in decisions:
        if kind == "split":
            apart.setdefault(a, set()).add(b)
            apart.setdefault(b, set()).add(a)
    for kind, a, b in decisions:
        if kind != "merge":
            continue
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if rb in apart.get(ra, ()):
            conflicts.append(Decision("merge", record_ids[a], record_ids[b]))
            continue
        join(ra, rb, Link(record_ids[a], record_ids[b], float("inf"), {"analyst": "confirmed merge"}))
    all_a, all_b = np.asarray(pairs_a, np.int64), np.asarray(pairs_b, np.int64)
    for lo in range(0, len(all_a), _CHUNK):
        chunk = zip(all_a[lo : lo + _CHUNK].tolist(), all_b[lo : lo + _CHUNK].tolist(), strict=True)
        for k, (a, b) in enumerate(chunk, lo):
            ra, rb = find(a), find(b)
            if ra == rb:
                continue
            link = Link(record_ids[a], record_ids[b], float(weights[k]), evidence(k))
            if rb in apart.get(ra, ()):
                refused.append(link)
            else:
                join(ra, rb, link)

    members: dict[int, list[str]] = {}
    for i in range(n):
        members.setdefault(find(i), []).append(record_ids[i])
    entities: list[Entity] = []
    labels: dict[str, str] = {}
    for root, ids in members.items():
        eid = entity_id(ids)
        links = sorted(tree.get(root, []), key=lambda link: -link.weight)
        entities.append(Entity(eid, sorted(ids), links))
        for rid in ids:
            labels[rid] = eid
    entities.sort(key=lambda e: (-len(e.records), e.id))
    return Resolution(entities, labels, refused=refused, conflicts=conflicts)
