"""Calibrating a PDQ matching threshold: true-match and false-match rates per Hamming distance, measured.

Why measure instead of taking 31: a bank's threshold trades missed copies for false alarms that an
analyst must clear, and the trade depends on the content. This module hashes a benign image set
(:mod:`accord.signals.imageset`), each picture and ten edited copies of it, and counts for every threshold
``t`` in 0..256:

- the true-match rate (TMR) per edit: the share of edited copies within ``t`` of their original. Rotations
  and the mirror are also measured dihedral-aware (the best of the copy's eight rotations and mirrors,
  as a bank queried with ``pdq_dihedral`` would see them);
- the false-match rate (FMR): the share of all pairs of different originals within ``t``, counted with a
  vectorised popcount over every pair (4,500 images give 10,122,750 pairs). Dihedral-aware querying
  compares eight variants per pair, so it has its own FMR.

An FMR of 0 over ``n`` pairs only says the rate is probably under a few times ``1/n``: the chosen
threshold carries the pair count it rests on (:class:`ThresholdChoice`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accord.errors import Invalid
from accord.signals.imageset import TRANSFORMS, benign_images, transform
from accord.signals.pdq import pdq_dihedral, pdq_pixels, words

__all__ = [
    "DEFAULT_IMAGES",
    "DIHEDRAL_TRANSFORMS",
    "MAX_DISTANCE",
    "Calibration",
    "Progress",
    "ThresholdChoice",
    "calibrate",
    "chart_png",
    "choose_threshold",
    "summary",
    "table_csv",
]

# 4,500 images: 10,122,750 unrelated pairs, enough to count an FMR of 1e-7 as about one pair
DEFAULT_IMAGES = 4500
MAX_DISTANCE = 256
DIHEDRAL_TRANSFORMS = ("rotate90", "rotate180", "mirror")
REFERENCE_THRESHOLD = 31  # HMA's and ThreatExchange's fixed PDQ threshold, marked on the chart for comparison

# rows of the pair matrix counted at once (block x images x 32 bytes of XOR)
_BLOCK = 256

Progress = Callable[[str, int, int], None]
"""Called as ``(stage, done, total)``; stages are ``hashing`` and ``pairs``."""


@dataclass(frozen=True)
class Calibration:
    """Counts per threshold ``t`` (index 0..256): each array holds the count or rate at distance <= t."""

    seed: int
    images: int
    kinds: dict[str, int]
    rejected_low_quality: int
    min_quality: int
    pairs: int
    tmr: dict[str, np.ndarray]  # column (a transform, or "<transform>+dihedral") -> rate
    false_pairs: np.ndarray
    false_pairs_dihedral: np.ndarray
    columns: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.tmr))

    @property
    def fmr(self) -> np.ndarray:
        rate: np.ndarray = self.false_pairs / self.pairs
        return rate

    @property
    def fmr_dihedral(self) -> np.ndarray:
        rate: np.ndarray = self.false_pairs_dihedral / self.pairs
        return rate

    @property
    def tmr_overall(self) -> np.ndarray:
        """Mean over the ten edits, each compared plainly (every edit has one copy per image)."""
        overall: np.ndarray = np.stack([self.tmr[name] for name in TRANSFORMS]).mean(axis=0)
        return overall

    @property
    def tmr_overall_dihedral(self) -> np.ndarray:
        """The same with rotations and the mirror compared dihedral-aware."""
        names = [f"{n}+dihedral" if n in DIHEDRAL_TRANSFORMS else n for n in TRANSFORMS]
        overall: np.ndarray = np.stack([self.tmr[name] for name in names]).mean(axis=0)
        return overall


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: int
    target_fmr: float
    dihedral: bool
    fmr: float
    false_pairs: int
    pairs: int
    tmr: float
    # a target under 1/pairs cannot be measured: zero false pairs is then the only evidence
    resolved: bool


def calibrate(
    images: int = DEFAULT_IMAGES,
    seed: int = 0,
    *,
    min_quality: int = 50,
    photos: bool = True,
    on_progress: Progress | None = None,
) -> Calibration:
    """Hash ``images`` benign pictures of PDQ quality >= ``min_quality`` and their edits; count every pair.

    Pictures under ``min_quality`` (flat ones; Meta advises discarding such hashes) are skipped and
    counted, and the next one is drawn, so the set always has ``images`` members.
    """
    if images < 2:
        raise Invalid.at("/images", f"calibration needs at least 2 images, got {images}")
    if not 0 <= min_quality <= 100:
        raise Invalid.at("/min_quality", f"PDQ quality is 0..100, got {min_quality}")
    report = on_progress or (lambda _stage, _done, _total: None)
    originals = np.zeros((images, 8, 4), dtype=np.uint64)  # each original's eight dihedral hashes
    edits = np.zeros((images, len(TRANSFORMS), 4), dtype=np.uint64)
    dihedral_edits = np.zeros((images, len(DIHEDRAL_TRANSFORMS), 8, 4), dtype=np.uint64)
    kinds: dict[str, int] = {}
    rejected = 0
    stream = benign_images(seed, photos=photos)
    done = 0
    while done < images:
        candidate = next(stream)
        pixels = np.asarray(candidate.image)
        hashes, quality = pdq_dihedral(pixels)
        if quality < min_quality:
            rejected += 1
            continue
        originals[done] = words(hashes)
        rng = np.random.default_rng((seed, candidate.index, 1))
        for k, name in enumerate(TRANSFORMS):
            edited = np.asarray(transform(candidate.image, name, rng))
            if name in DIHEDRAL_TRANSFORMS:
                variants, _ = pdq_dihedral(edited)
                dihedral_edits[done, DIHEDRAL_TRANSFORMS.index(name)] = words(variants)
                edits[done, k] = words(variants[:1])[0]
            else:
                edits[done, k] = words([pdq_pixels(edited).hex])[0]
        kind = candidate.kind.split(":")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
        done += 1
        report("hashing", done, images)

    plain = originals[:, 0]
    tmr: dict[str, np.ndarray] = {}
    for k, name in enumerate(TRANSFORMS):
        tmr[name] = _cumulative(_popcount(edits[:, k] ^ plain)) / images
    for k, name in enumerate(DIHEDRAL_TRANSFORMS):
        best = _popcount(dihedral_edits[:, k] ^ plain[:, None, :]).min(axis=1)
        tmr[f"{name}+dihedral"] = _cumulative(best) / images

    false_pairs, false_pairs_dihedral = _unrelated_pairs(originals, report)
    return Calibration(
        seed=seed,
        images=images,
        kinds=kinds,
        rejected_low_quality=rejected,
        min_quality=min_quality,
        pairs=images * (images - 1) // 2,
        tmr=tmr,
        false_pairs=false_pairs,
        false_pairs_dihedral=false_pairs_dihedral,
    )


def choose_threshold(curve: Calibration, target_fmr: float = 1e-7, *, dihedral: bool = False) -> ThresholdChoice:
    """The largest threshold whose measured FMR is at most ``target_fmr``."""
    if not 0 < target_fmr < 1:
        raise Invalid.at("/target_fmr", f"a false-match rate is between 0 and 1 (exclusive), got {target_fmr}")
    fmr = curve.fmr_dihedral if dihedral else curve.fmr
    within = np.flatnonzero(fmr <= target_fmr)
    if within.size == 0:
        raise Invalid.at(
            "/target_fmr",
            f"no threshold reaches a false-match rate of {target_fmr:g}: even distance 0 measures {fmr[0]:g}",
        )
    t = int(within[-1])
    false_pairs = curve.false_pairs_dihedral if dihedral else curve.false_pairs
    tmr = curve.tmr_overall_dihedral if dihedral else curve.tmr_overall
    return ThresholdChoice(
        threshold=t,
        target_fmr=target_fmr,
        dihedral=dihedral,
        fmr=float(fmr[t]),
        false_pairs=int(false_pairs[t]),
        pairs=curve.pairs,
        tmr=float(tmr[t]),
        resolved=target_fmr * curve.pairs >= 1,
    )


def table_csv(curve: Calibration) -> str:
    """One row per threshold: t, TMR per column, overall TMRs, FMRs and false-pair counts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "t",
            *(f"tmr_{c}" for c in curve.columns),
            "tmr_overall",
            "tmr_overall_dihedral",
            "fmr",
            "false_pairs",
            "fmr_dihedral",
            "false_pairs_dihedral",
        ]
    )
    overall, overall_d, fmr, fmr_d = curve.tmr_overall, curve.tmr_overall_dihedral, curve.fmr, curve.fmr_dihedral
    for t in range(MAX_DISTANCE + 1):
        writer.writerow(
            [
                t,
                *(f"{curve.tmr[c][t]:.6f}" for c in curve.columns),
                f"{overall[t]:.6f}",
                f"{overall_d[t]:.6f}",
                f"{fmr[t]:.3e}",
                int(curve.false_pairs[t]),
                f"{fmr_d[t]:.3e}",
                int(curve.false_pairs_dihedral[t]),
            ]
        )
    return out.getvalue()


def summary(
    curve: Calibration, choice: ThresholdChoice, at: tuple[int, ...] = (REFERENCE_THRESHOLD,)
) -> dict[str, Any]:
    """What a person or a bank needs: the choice, what it rests on, and the rates at reference thresholds."""

    def rates(t: int) -> dict[str, Any]:
        return {
            "tmr": {c: round(float(curve.tmr[c][t]), 6) for c in curve.columns},
            "tmr_overall": round(float(curve.tmr_overall[t]), 6),
            "tmr_overall_dihedral": round(float(curve.tmr_overall_dihedral[t]), 6),
            "fmr": float(curve.fmr[t]),
            "false_pairs": int(curve.false_pairs[t]),
            "fmr_dihedral": float(curve.fmr_dihedral[t]),
            "false_pairs_dihedral": int(curve.false_pairs_dihedral[t]),
        }

    return {
        "threshold": choice.threshold,
        "target_fmr": choice.target_fmr,
        "dihedral": choice.dihedral,
        "measured_fmr": choice.fmr,
        "false_pairs": choice.false_pairs,
        "pairs": choice.pairs,
        "resolved": choice.resolved,
        "tmr_overall": round(choice.tmr, 6),
        "images": curve.images,
        "kinds": curve.kinds,
        "rejected_low_quality": curve.rejected_low_quality,
        "min_quality": curve.min_quality,
        "seed": curve.seed,
        "at_threshold": {str(t): rates(t) for t in sorted({choice.threshold, *at})},
    }


def chart_png(curve: Calibration, choice: ThresholdChoice) -> bytes:
    """Two panels over thresholds 0..128: TMR per edit (top), FMR on a log scale (bottom); the choice marked.

    Drawn on matplotlib's Agg canvas directly, so no global backend is selected for the process.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ts = np.arange(MAX_DISTANCE + 1)
    shown = ts <= 128
    figure = Figure(figsize=(8, 8), dpi=80)
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    for c in curve.columns:
        top.plot(ts[shown], curve.tmr[c][shown], lw=1, ls="--" if c.endswith("+dihedral") else "-", label=c)
    top.plot(ts[shown], curve.tmr_overall[shown], lw=2.5, color="black", label="overall")
    top.set_ylabel("true-match rate")
    top.set_ylim(0, 1.01)
    top.legend(fontsize=7, ncol=2, loc="lower right")
    top.set_title(
        f"PDQ threshold calibration: {curve.images:,} benign images, "
        f"{curve.pairs:,} unrelated pairs, seed {curve.seed}",
        fontsize=10,
    )
    floor = 0.5 / curve.pairs  # zero counts drawn just under the smallest measurable rate
    bottom.semilogy(ts[shown], np.maximum(curve.fmr[shown], floor), lw=2, label="FMR")
    bottom.semilogy(ts[shown], np.maximum(curve.fmr_dihedral[shown], floor), lw=1.5, ls="--", label="FMR dihedral")
    bottom.axhline(choice.target_fmr, color="grey", lw=1, ls=":", label=f"target {choice.target_fmr:g}")
    bottom.axhline(1 / curve.pairs, color="grey", lw=0.8, ls="-.", label="1 pair")
    bottom.set_ylabel("false-match rate")
    bottom.set_xlabel("Hamming distance threshold t (match when distance <= t)")
    bottom.legend(fontsize=7, loc="lower right")
    for axis in (top, bottom):
        axis.axvline(choice.threshold, color="red", lw=1.5)
        axis.axvline(REFERENCE_THRESHOLD, color="grey", lw=1, ls=":")
        axis.grid(alpha=0.3)
    top.annotate(
        f"chosen t={choice.threshold} (TMR {choice.tmr:.3f})",
        (choice.threshold, 1.0),
        xytext=(-4, -12),
        ha="right",
        textcoords="offset points",
        color="red",
        fontsize=8,
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _unrelated_pairs(originals: np.ndarray, report: Progress) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative counts of pairs ``i < j`` within each distance: plainly, and best of i's eight variants."""
    n = len(originals)
    plain = originals[:, 0]
    counts = np.zeros(MAX_DISTANCE + 1, dtype=np.int64)
    counts_dihedral = np.zeros(MAX_DISTANCE + 1, dtype=np.int64)
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        rows = np.arange(start, stop)
        later = np.arange(start, n)[None, :] > rows[:, None]  # only j > i, each pair once
        others = plain[start:]
        distances = _popcount(plain[start:stop, None, :] ^ others[None, :, :])
        counts += np.bincount(distances[later], minlength=MAX_DISTANCE + 1)
        best = distances
        for k in range(1, 8):
            best = np.minimum(best, _popcount(originals[start:stop, k, None, :] ^ others[None, :, :]))
        counts_dihedral += np.bincount(best[later], minlength=MAX_DISTANCE + 1)
        report("pairs", stop, n)
    return np.cumsum(counts), np.cumsum(counts_dihedral)


def _popcount(xored: np.ndarray) -> np.ndarray:
    """Hamming distances from XORed hashes whose last axis holds the four 64-bit words."""
    distances: np.ndarray = np.bitwise_count(xored).sum(axis=-1, dtype=np.int64)
    return distances


def _cumulative(distances: np.ndarray) -> np.ndarray:
    counts: np.ndarray = np.cumsum(np.bincount(distances, minlength=MAX_DISTANCE + 1))
    return counts
