"""Calibration on a small image set: monotone curves that end at 1, a threshold chosen by the rule, a valid
PNG and a table of 257 rows; the pair counts equal a plain Python count over the same hashes."""

from __future__ import annotations

import csv
import io
from itertools import combinations

import numpy as np
import pytest
from PIL import Image

from accord.errors import Invalid
from accord.signals.calibrate import (
    MAX_DISTANCE,
    Calibration,
    calibrate,
    chart_png,
    choose_threshold,
    summary,
    table_csv,
)
from accord.signals.imageset import TRANSFORMS, benign_images
from accord.signals.pdq import hamming, pdq_pixels

IMAGES = 60


@pytest.fixture(scope="module")
def curve() -> Calibration:
    return calibrate(IMAGES, seed=11)


def test_curves_are_monotone_and_end_at_one(curve: Calibration) -> None:
    assert curve.images == IMAGES and curve.pairs == IMAGES * (IMAGES - 1) // 2
    assert set(curve.columns) == {*TRANSFORMS, "rotate90+dihedral", "rotate180+dihedral", "mirror+dihedral"}
    for rates in [*curve.tmr.values(), curve.tmr_overall, curve.fmr, curve.fmr_dihedral]:
        assert len(rates) == MAX_DISTANCE + 1
        assert (np.diff(rates) >= 0).all()
        assert rates[-1] == pytest.approx(1.0)
    assert curve.false_pairs[-1] == curve.pairs
    # a lossless edit never moves far; unrelated pictures sit near 128 bits apart
    assert curve.tmr["colour_shift"][31] > 0.9
    assert curve.fmr[31] == 0.0 and curve.fmr[200] > 0.99
    # querying with eight variants finds rotations, and can only add false matches
    assert curve.tmr["rotate90+dihedral"][31] > curve.tmr["rotate90"][31] + 0.5
    assert (curve.false_pairs_dihedral >= curve.false_pairs).all()
    assert sum(curve.kinds.values()) == IMAGES and {"photo", "gradient", "noise", "shapes", "text"} <= set(curve.kinds)


def test_pair_counts_equal_a_plain_count() -> None:
    pictures = [b.image for _, b in zip(range(25), benign_images(4, photos=False), strict=False)]
    hashes = [pdq_pixels(np.asarray(p)) for p in pictures]
    kept = [h.hex for h in hashes if h.quality >= 50]
    small = calibrate(len(kept), seed=4, photos=False)
    distances = [hamming(a, b) for a, b in combinations(kept, 2)]
    for t in (0, 60, 100, 120, 128, 140):
        assert small.false_pairs[t] == sum(d <= t for d in distances), t


def test_choose_threshold_is_the_largest_within_the_target(curve: Calibration) -> None:
    target = 0.01
    choice = choose_threshold(curve, target)
    assert curve.fmr[choice.threshold] <= target < curve.fmr[choice.threshold + 1]
    assert choice.fmr == curve.fmr[choice.threshold] and choice.false_pairs == curve.false_pairs[choice.threshold]
    assert choice.tmr == pytest.approx(curve.tmr_overall[choice.threshold])
    assert choice.resolved and choice.pairs == curve.pairs
    tight = choose_threshold(curve)  # 1e-7 on 1,770 pairs: only zero false pairs qualifies
    assert not tight.resolved and tight.false_pairs == 0 and curve.false_pairs[tight.threshold + 1] > 0
    dihedral = choose_threshold(curve, target, dihedral=True)
    assert dihedral.threshold <= choice.threshold and dihedral.dihedral


@pytest.mark.parametrize("target", [0.0, 1.0, -1e-7, 2.0])
def test_a_target_outside_0_1_is_refused(curve: Calibration, target: float) -> None:
    with pytest.raises(Invalid) as caught:
        choose_threshold(curve, target)
    assert "/target_fmr" in caught.value.errors


def test_too_few_images_is_refused() -> None:
    with pytest.raises(Invalid, match="at least 2 images"):
        calibrate(1)


def test_table_summary_and_chart(curve: Calibration) -> None:
    choice = choose_threshold(curve, 0.01)
    rows = list(csv.DictReader(io.StringIO(table_csv(curve))))
    assert len(rows) == MAX_DISTANCE + 1 and [int(r["t"]) for r in rows] == list(range(MAX_DISTANCE + 1))
    assert int(rows[-1]["false_pairs"]) == curve.pairs and float(rows[-1]["tmr_overall"]) == 1.0
    assert int(rows[choice.threshold]["false_pairs"]) == choice.false_pairs
    doc = summary(curve, choice)
    assert doc["threshold"] == choice.threshold and doc["pairs"] == curve.pairs
    assert set(doc["at_threshold"]) == {"31", str(choice.threshold)}
    png = chart_png(curve, choice)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) < 150_000
    with Image.open(io.BytesIO(png)) as chart:
        chart.verify()
    with Image.open(io.BytesIO(png)) as chart:
        assert chart.size == (640, 640)


def test_the_same_seed_gives_the_same_curve() -> None:
    a, b = calibrate(12, seed=3, photos=False), calibrate(12, seed=3, photos=False)
    assert (a.false_pairs == b.false_pairs).all() and all((a.tmr[c] == b.tmr[c]).all() for c in a.columns)
