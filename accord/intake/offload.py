"""An importer run in a helper process, so that reading a file overlaps with storing what it gives.

Why: a STIX bundle or a CASE graph costs more to read (parse, spill, assemble reports) than to store,
and both are Python under one GIL; on two cores a helper process reading batch N+1 while this one
stores batch N takes the slower of the two instead of their sum. The helper opens the file itself
(from its path: a file object cannot cross a process), reads it with the same importer and options,
prepares what it read (vocabulary checks, sealing split, flattening: ``accord.intake.lines``) and sends
the prepared batches over a pipe, one batch ahead. Why prepared and not the items: pickling the
parsed models cost the writer as much as preparing them; a flat record costs a seventh of that. A
fault of the whole file is sent back and raised here as the same ``AccordError``. The helper never
touches the database and exits when the pipe closes, also when this process is killed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path

from accord.errors import AccordError
from accord.intake.formats import ImportOptions, Item
from accord.intake.lines import Chunk, prepare_items
from accord.intake.source import open_input
from accord.vocab import Vocabularies

__all__ = ["read_in_helper"]


def _worker(
    conn: Connection, path: Path, importer: str, options: ImportOptions, limit: int, vocab: Vocabularies, size: int
) -> None:
    from accord import plugins  # the helper loads the same plugins as its parent

    try:
        with path.open("rb") as raw:
            batch: list[Item] = []
            for item in plugins.importer(importer).read(open_input(raw, options.name, limit), options):
                batch.append(item)
                if len(batch) >= size:
                    conn.send(("chunk", prepare_items(batch, vocab), raw.tell()))
                    batch = []
            conn.send(("chunk", prepare_items(batch, vocab), raw.tell()))
        conn.send(("done", None, 0))
    except AccordError as exc:
        conn.send(("error", exc, 0))
    except (BrokenPipeError, EOFError):  # the parent stopped reading: nothing left to do
        return


def read_in_helper(
    path: Path,
    importer: str,
    options: ImportOptions,
    limit: int,
    vocab: Vocabularies,
    size: int,
    on_position: Callable[[int], None] | None = None,
) -> Iterator[Chunk]:
    """What the named importer reads from the file at ``path`` (opened as ``open_input`` does, at most
    ``limit`` bytes unpacked), read and prepared by a helper process in batches of ``size`` items.
    ``on_position`` gets how far into the file the helper has read, after each batch (for progress)."""
    ctx = get_context("spawn")  # not fork: the caller may hold threads (progress bar) and sockets
    here, there = ctx.Pipe(duplex=False)
    helper = ctx.Process(
        target=_worker, args=(there, path, importer, options, limit, vocab, size), name="accord-read", daemon=True
    )
    helper.start()
    there.close()
    try:
        while True:
            try:
                kind, payload, position = here.recv()
            except EOFError:
                raise RuntimeError(
                    f"the reading helper for {options.name} stopped (exit code {helper.exitcode})"
                ) from None
            if kind == "error":
                raise payload
            if kind == "done":
                return
            if on_position is not None:
                on_position(position)
            yield payload
    finally:
        here.close()
        helper.join(timeout=10)
        if helper.is_alive():
            helper.kill()
