"""NDJSON lines to prepared, flattened reports, in this process or in a helper process beside the writer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection
from typing import TypeVar

from accord.errors import AccordError
from accord.intake.formats import Item, faults_of
from accord.intake.prepare import prepare
from accord.intake.record import FlatReport, flatten
from accord.model.parse import parse_json
from accord.model.report import ReportIn
from accord.vocab import Vocabularies

__all__ = ["Chunk", "batched", "prepare_items", "prepared_chunks"]

T = TypeVar("T")

Line = tuple[int, "bytes | str | AccordError"]  # an AccordError stands for a line refused on reading (too long)


@dataclass(frozen=True)
class Chunk:
    """One batch of non-blank lines: those that parsed, and (line, pointer, message) for those that did not."""

    lines: int
    reports: list[tuple[int, FlatReport]]
    faults: list[tuple[int, str, str]]


def _faults(line: int, exc: AccordError) -> list[tuple[int, str, str]]:
    return [(line, ptr, msg) for ptr, msg in faults_of(exc).items()]


def prepare_chunk(lines: Sequence[Line], vocab: Vocabularies) -> Chunk:
    prepared: list[tuple[int, FlatReport]] = []
    faults: list[tuple[int, str, str]] = []
    for number, text in lines:
        try:
            if isinstance(text, AccordError):
                raise text
            prepared.append((number, flatten(prepare(parse_json(ReportIn, text), vocab))))
        except AccordError as exc:
            faults.extend(_faults(number, exc))
    return Chunk(len(lines), prepared, faults)


def prepare_items(items: Sequence[Item], vocab: Vocabularies) -> Chunk:
    """The same for items an importer has already parsed."""
    prepared: list[tuple[int, FlatReport]] = []
    faults: list[tuple[int, str, str]] = []
    for item in items:
        if item.report is None:
            faults.extend((item.line, ptr, msg) for ptr, msg in item.faults.items())
            continue
        try:
            prepared.append((item.line, flatten(prepare(item.report, vocab))))
        except AccordError as exc:
            faults.extend(_faults(item.line, exc))
    return Chunk(len(items), prepared, faults)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` items, then the rest; always at least one list (possibly empty), so callers
    report a final state even for empty input."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    yield batch


def _batches(lines: Iterable[Line], size: int) -> Iterator[list[Line]]:
    batch: list[Line] = []
    for number, text in lines:
        if isinstance(text, AccordError) or text.strip():
            batch.append((number, text))
            if len(batch) >= size:
                yield batch
                batch = []
    yield batch  # possibly empty: the caller still reports a final state


def _worker(conn: Connection, vocab: Vocabularies) -> None:
    while True:
        try:
            batch = conn.recv()
        except EOFError:  # the parent closed the pipe or died: nothing left to do
            return
        conn.send(prepare_chunk(batch, vocab))


def prepared_chunks(lines: Iterable[Line], size: int, vocab: Vocabularies, *, workers: int = 0) -> Iterator[Chunk]:
    """Parse and prepare ``lines`` in batches of ``size``, in order.

    With ``workers`` > 0 a helper process parses batch N+1 while the caller stores batch N: the parse
    (pydantic validation, identifier normalisation) is about a third of bulk intake's CPU, and threads
    cannot overlap it with the store under the GIL (measured: slower than one thread, and so was a
    ProcessPoolExecutor, whose result thread fights the writer for the GIL). The helper sends flat
    records (``accord.intake.record``), about 15 µs a report to pickle and unpickle; when it sent the
    parsed models (105 µs) the helper gained 2%. Whether to use one is the caller's choice
    (``accord.services.imports`` does for native files of 8 MiB or more). The pipe is driven from
    this thread only, one batch ahead, so neither side can block the other on a full pipe. The helper
    never touches the database and exits when the pipe closes, also when this process is killed.
    """
    batches = _batches(lines, size)
    if workers <= 0:
        for batch in batches:
            yield prepare_chunk(batch, vocab)
        return
    ctx = get_context("spawn")  # not fork: the caller may hold threads (progress bar) and sockets
    here, there = ctx.Pipe()
    helper = ctx.Process(target=_worker, args=(there, vocab), name="accord-parse", daemon=True)
    helper.start()
    there.close()
    try:
        here.send(next(batches))  # _batches always yields at least one (possibly empty) batch
        for following in batches:
            ready: Chunk = here.recv()
            here.send(following)
            yield ready
        yield here.recv()
    finally:
        here.close()
        helper.join(timeout=10)
        if helper.is_alive():
            helper.kill()
