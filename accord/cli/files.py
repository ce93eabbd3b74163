"""Reading report files for ingest, and the progress bars the long commands show."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from accord.errors import Invalid

__all__ = ["counting_progress", "numbered_lines", "progress"]


def numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) for NDJSON; a ``.json`` file holds one report or an array of them, numbered by
    position. Streams: a million-line file is never held in memory."""
    if path.suffix == ".json":
        try:
            doc = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise Invalid(f"malformed JSON: {exc}", {"": f"malformed JSON: {exc}"}) from None
        items = doc if isinstance(doc, list) else [doc]
        yield from ((i, orjson.dumps(item)) for i, item in enumerate(items, 1))
        return
    with path.open("rb") as fh:
        yield from enumerate(fh, 1)


def _count_lines(path: Path) -> int:
    if path.suffix == ".json":
        return 0
    n = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"\n")
    return n


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
def progress(path: Path, console: Console) -> Iterator[Callable[[int], None]]:
    total = _count_lines(path)
    with _bar(console) as bar:
        task = bar.add_task(f"ingesting {path.name}", total=total or None)
        yield lambda done: bar.update(task, completed=done)


@contextmanager
def counting_progress(total: int, console: Console, label: str) -> Iterator[Callable[[int], None]]:
    with _bar(console) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)
