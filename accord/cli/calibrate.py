"""``accord bank calibrate``: measure PDQ match rates on a benign image set and choose a bank threshold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from accord.cli.exit import fail, reporting
from accord.signals import calibrate as calibration
from accord.signals.imageset import TRANSFORMS

__all__ = ["calibrate"]

err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)

_LABELS = {"hashing": "hashing images and edits", "pairs": "counting unrelated pairs"}


def calibrate(
    images: Annotated[
        int, typer.Option("--images", help="benign images to generate (4,500 give 10,122,750 unrelated pairs)")
    ] = calibration.DEFAULT_IMAGES,
    seed: Annotated[int, typer.Option("--seed", help="seed of the image set; the same seed, the same result")] = 0,
    target_fmr: Annotated[
        float, typer.Option("--target-fmr", help="false-match rate the threshold must not exceed")
    ] = 1e-7,
    dihedral: Annotated[
        bool, typer.Option("--dihedral", help="choose for queries made with all eight rotations and mirrors")
    ] = False,
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="where calibration.png, .csv and .json are written")
    ] = Path("."),
) -> None:
    """Hash a generated benign image set and its edits, and choose the threshold for a false-match rate."""
    if images < 2:
        raise fail(f"--images: calibration needs at least 2 images, got {images}")
    if not 0 < target_fmr < 1:
        raise fail(f"--target-fmr: a false-match rate is between 0 and 1 (exclusive), got {target_fmr}")
    if out_dir.exists() and not out_dir.is_dir():
        raise fail(f"--out-dir: {out_dir} is not a directory")
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
    )
    tasks: dict[str, TaskID] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(_LABELS.get(stage, stage), total=total)
        bar.update(tasks[stage], completed=done)

    with reporting(), bar:
        curve = calibration.calibrate(images, seed, on_progress=progress)
        choice = calibration.choose_threshold(curve, target_fmr, dihedral=dihedral)
    # written only once everything is measured, so a failed run leaves no partial set of files
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "calibration.csv").write_text(calibration.table_csv(curve), encoding="utf-8")
    (out_dir / "calibration.json").write_text(
        json.dumps(calibration.summary(curve, choice), indent=2) + "\n", encoding="utf-8"
    )
    (out_dir / "calibration.png").write_bytes(calibration.chart_png(curve, choice))
    resolution = "" if choice.resolved else f" (below 1/{choice.pairs:,}: zero false pairs is all that was measured)"
    out.print(
        f"threshold {choice.threshold}: false-match rate {choice.fmr:.3g} ({choice.false_pairs:,} of "
        f"{choice.pairs:,} unrelated pairs), target {choice.target_fmr:g}{resolution}; "
        f"true-match rate {choice.tmr:.3f} (mean over {len(TRANSFORMS)} edits)"
    )
    out.print(f"wrote calibration.png, calibration.csv and calibration.json to {out_dir}")
