"""Reading report files for ingest, and the progress bars the long commands show."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import yaml
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from accord.errors import Invalid

__all__ = ["byte_progress", "counting_progress", "read_mapping", "replacing"]


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write; it replaces ``path`` only if the block completes, so a failed
    run leaves no half-written output. A file system error becomes an ``Invalid`` a CLI prints cleanly."""
    partial = path.with_name(path.name + ".partial")
    try:
        yield partial
        partial.replace(path)
    except OSError as exc:
        raise Invalid.at("", f"cannot write: {exc.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)


def read_mapping(path: Path) -> dict[str, Any]:
    """A YAML column mapping (CSV import); errors name the file and line."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Invalid.at("", f"{path}: no such file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise Invalid.at("", f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(doc, dict):
        raise Invalid.at("", f"{path}: a mapping file must be a YAML mapping")
    return doc


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    )


@contextmanager
def byte_progress(raw: IO[bytes], path: Path, console: Console) -> Iterator[Callable[[], None]]:
    """A bar over the bytes of ``path`` read so far (works for every format, compressed or not)."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    )
    with bar:
        task = bar.add_task(f"importing {path.name}", total=path.stat().st_size or None)
        yield lambda: bar.update(task, completed=raw.tell())


@contextmanager
def counting_progress(total: int | None, console: Console, label: str) -> Iterator[Callable[[int], None]]:
    with _bar(console) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)
