"""``accord bank`` (create, list, add, import, remove, export) and ``accord match``: banks at the console,
acting for one organisation (``--org``), audited as the node itself (docs/matching.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from accord import plugins
from accord.cli.context import command_node
from accord.cli.exit import fail, reporting
from accord.errors import Invalid
from accord.model.bank import Bank, BankIn, EntriesIn, MatchIn
from accord.model.parse import parse_obj
from accord.services import banks, matching
from accord.signals import bank_files

__all__ = ["bank_app", "match_command"]

bank_app = typer.Typer(no_args_is_help=True, help="Hash and URL banks: create, fill, export.")

err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)

OrgOption = Annotated[str, typer.Option("--org", help="organisation id (the bank's owner)")]
NameArg = Annotated[str, typer.Argument(help="bank name (or id)")]
SourceOption = Annotated[str | None, typer.Option("--source", help="where the signals came from")]
_BATCH = 5000  # entries per transaction (and per bank version) on import


def _show(bank: Bank) -> None:
    threshold = f" threshold {bank.threshold}" if bank.threshold else ""
    out.print(
        f"{bank.id} {bank.name}: {bank.type}{threshold}, {bank.marking}, version {bank.version}, {bank.entries} entries"
    )


@bank_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    org: OrgOption,
    type: Annotated[str, typer.Option("--type", help="pdq, md5, sha256 or url")],
    threshold: Annotated[
        int | None, typer.Option(help="PDQ: largest matching distance (default ACCORD_PDQ_THRESHOLD)")
    ] = None,
    marking: Annotated[str, typer.Option(help="TLP marking")] = "AMBER",
    agreement: Annotated[str | None, typer.Option(help="share with this agreement's parties")] = None,
    fp_flag_count: Annotated[int, typer.Option(help="flag an entry from this many false positives on")] = 3,
    fp_flag_share: Annotated[int, typer.Option(help="... making at least this percentage of its verdicts")] = 50,
    frame_quality: Annotated[int | None, typer.Option(help="vpdq: ignore frames of lower quality (50)")] = None,
    query_match_percent: Annotated[
        float | None, typer.Option(help="vpdq: share of a query's frames found in the entry (80)")
    ] = None,
    compared_match_percent: Annotated[
        float | None, typer.Option(help="vpdq: share of the entry's frames found in the query (0)")
    ] = None,
) -> None:
    """Create a bank."""
    with command_node(ctx) as node, reporting():
        fields = {
            "name": name,
            "type": type,
            "threshold": threshold,
            "marking": marking,
            "agreement_id": agreement,
            "fp_flag_count": fp_flag_count,
            "fp_flag_share": fp_flag_share,
            "frame_quality": frame_quality,
            "query_match_percent": query_match_percent,
            "compared_match_percent": compared_match_percent,
        }
        _show(banks.create_local(node, org, parse_obj(BankIn, fields)))


@bank_app.command("list")
def list_(ctx: typer.Context, org: OrgOption) -> None:
    """The banks the organisation sees (its own, and those shared with it)."""
    with command_node(ctx) as node, reporting():
        found = banks.list_banks_local(node, org)
    table = Table("id", "name", "type", "threshold", "marking", "owner", "version", "entries")
    for b in found:
        table.add_row(b.id, b.name, b.type, str(b.threshold), b.marking, b.org_id, str(b.version), str(b.entries))
    out.print(table)


@bank_app.command("add")
def add(
    ctx: typer.Context,
    name: NameArg,
    values: Annotated[list[str], typer.Argument()],
    org: OrgOption,
    source: SourceOption = None,
) -> None:
    """Add values (hashes or URLs) given on the command line, all or none."""
    with command_node(ctx) as node, reporting():
        bank_id = banks.resolve_local(node, org, name)
        body = parse_obj(EntriesIn, {"entries": [{"value": v, "source": source} for v in values]})
        done = banks.add_entries_local(node, org, bank_id, body)
    out.print(f"added {len(done.added)}, already present {done.already_present}")
    _show(done.bank)


def _read_entries(path: Path, bank_type: str) -> list[str]:
    """Every value of the file in the bank's canonical form; the first bad line stops the import before
    anything is written (exit 2, naming the line)."""
    kind = plugins.signal_type(bank_type)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{path}: {exc}") from None
    values = []
    try:
        for line in bank_files.read(text.splitlines()):
            if line.type is not None and line.type != bank_type:
                raise fail(f"{path}: line {line.number}: a {line.type} signal, and the bank holds {bank_type}")
            try:
                values.append(kind.validate(line.value))
            except Invalid as exc:
                raise fail(f"{path}: line {line.number}: {next(iter(exc.errors.values()), exc.detail)}") from None
    except Invalid as exc:
        raise fail(f"{path}: {next(iter(exc.errors.values()), exc.detail)}") from None
    return values


@bank_app.command("import")
def import_(
    ctx: typer.Context,
    name: NameArg,
    file: Annotated[Path, typer.Argument()],
    org: OrgOption,
    source: SourceOption = None,
) -> None:
    """Import a file: one value a line (optionally ``TYPE VALUE``), or HMA's signal-exchange CSV
    (header ``signal_type,signal_str,collab,category,tags``). Checked whole before anything is added."""
    with command_node(ctx) as node:
        with reporting():
            bank = banks.get_local(node, org, banks.resolve_local(node, org, name))
        values = _read_entries(file, bank.type)
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=not err.is_terminal,
        )
        added = present = 0
        with reporting(str(file)), bar:
            task = bar.add_task("importing", total=len(values))
            for start in range(0, len(values), _BATCH):
                chunk = values[start : start + _BATCH]
                body = parse_obj(EntriesIn, {"entries": [{"value": v, "source": source} for v in chunk]})
                done = banks.add_entries_local(node, org, bank.id, body)
                added += len(done.added)
                present += done.already_present
                bank = done.bank
                bar.update(task, advance=len(chunk))
    out.print(f"{file}: added {added}, already present {present}")
    _show(bank)


@bank_app.command("remove")
def remove(
    ctx: typer.Context, name: NameArg, entry: Annotated[int, typer.Argument(help="entry id")], org: OrgOption
) -> None:
    """Remove an entry: it stops matching from the bank's next version."""
    with command_node(ctx) as node, reporting():
        bank_id = banks.resolve_local(node, org, name)
        done = banks.remove_entry_local(node, org, bank_id, entry)
    out.print(f"entry {done.id} removed in version {done.removed_in_version}")


@bank_app.command("add-video")
def add_video(
    ctx: typer.Context,
    name: NameArg,
    files: Annotated[list[Path], typer.Argument(help="vPDQ frame lists, one video a file")],
    org: OrgOption,
    source: SourceOption = None,
) -> None:
    """Add videos to a vpdq bank, one frame list a file (the vpdq tool's file, compact lines, or JSON);
    all or none."""
    texts = [_read_text(f) for f in files]
    with command_node(ctx) as node, reporting():
        bank_id = banks.resolve_local(node, org, name)
        body = parse_obj(EntriesIn, {"entries": [{"value": t, "source": source} for t in texts]})
        try:
            done = banks.add_entries_local(node, org, bank_id, body)
        except Invalid as exc:  # name the file, not the entry's index
            pointer, message = next(iter(exc.errors.items()), ("", exc.detail))
            index = pointer.split("/")[2] if pointer.startswith("/entries/") else None
            raise fail(f"{files[int(index)] if index is not None else name}: {message}") from None
    out.print(f"added {len(done.added)}, already present {done.already_present}")
    _show(done.bank)


@bank_app.command("retract")
def retract(
    ctx: typer.Context,
    name: NameArg,
    entry: Annotated[int, typer.Argument(help="entry id")],
    org: OrgOption,
    reason: Annotated[str, typer.Option("--reason", help="why the entry was wrong")],
) -> None:
    """Retract an entry: removed, flagged, and every match it produced is marked retracted with a review
    opened for each organisation holding one."""
    with command_node(ctx) as node, reporting():
        bank_id = banks.resolve_local(node, org, name)
        done = banks.retract_entry_local(node, org, bank_id, entry, reason)
    out.print(f"entry {done.id} retracted (removed in version {done.removed_in_version})")


@bank_app.command("flags")
def flags(ctx: typer.Context, name: NameArg, org: OrgOption) -> None:
    """The bank's entries flagged for false positives (counts only)."""
    with command_node(ctx) as node, reporting():
        found = banks.flags_local(node, org, banks.resolve_local(node, org, name))
    for f in found:
        out.print(
            f"entry {f.entry_id}: {f.reason}, {f.false_positives} false positives of {f.verdicts} verdicts, "
            f"raised {f.raised_at.isoformat()}"
        )
    out.print(f"{len(found)} flagged entries")


@bank_app.command("rescan")
def rescan_command(
    ctx: typer.Context,
    name: NameArg,
    org: OrgOption,
    since: Annotated[
        int | None, typer.Option(help="search for entries added after this version (default: the last re-scan's)")
    ] = None,
    gpu: Annotated[bool, typer.Option("--gpu", help="search on a GPU with faiss when one is present")] = False,
) -> None:
    """Match the stored media history of every organisation that sees the bank against the entries it
    gained since a version, recording new matches as intake does."""
    from accord.services import rescan
    from accord.signals.rescan_search import gpu_available

    if gpu and not gpu_available():
        err.print("no GPU available to faiss (or faiss without GPU support): searching on the CPU")
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
    )
    with command_node(ctx) as node, reporting(), bar:
        bank_id = banks.resolve_local(node, org, name)
        task = bar.add_task("re-scanning", total=None)
        done = rescan.rescan_local(
            node,
            org,
            bank_id,
            since=since,
            gpu=gpu,
            on_start=lambda n: bar.update(task, total=n),
            on_page=lambda n: bar.update(task, advance=n),
        )
    where = "GPU" if done.on_gpu else "CPU"
    out.print(
        f"{done.entries} new entries (versions {done.since + 1}-{done.version}) against {done.records} stored "
        f"records of {done.organisations} organisation(s) on the {where}: {done.matches} new matches "
        f"in {done.reports} reports"
    )


@bank_app.command("export")
def export(
    ctx: typer.Context,
    name: NameArg,
    org: OrgOption,
    out_file: Annotated[Path, typer.Option("--out", help="file to write")],
    format: Annotated[str, typer.Option("--format", help="csv (HMA's signal-exchange layout) or stix")] = "csv",
) -> None:
    """Write the bank's entries to a file."""
    if format not in ("csv", "stix"):
        raise fail(f"--format: unknown format {format!r} (known: csv, stix)")
    with command_node(ctx) as node, reporting():
        bank_id = banks.resolve_local(node, org, name)
        dump = banks.export_local(node, org, bank_id)
    if format == "csv":
        body = bank_files.write_csv(dump.bank.name, dump.bank.type, dump.values).encode()
    elif dump.bank.type == "vpdq":
        raise fail("--format: STIX has no pattern for a vPDQ frame list; export vpdq banks as csv")
    else:
        from accord.signals.stix_bank import bundle

        with reporting("--format"):
            body = orjson.dumps(bundle(dump.bank, dump.entries), option=orjson.OPT_INDENT_2)
    out_file.write_bytes(body)
    out.print(f"{out_file}: {len(dump.entries)} entries")


_MATCH_BATCH = 10_000


def match_command(
    ctx: typer.Context,
    bank: Annotated[str, typer.Option("--bank", help="bank name (or id)")],
    org: OrgOption,
    input: Annotated[
        Path | None, typer.Option("--input", help="one hash (or URL) a line; - for standard input")
    ] = None,
    image: Annotated[
        list[Path] | None, typer.Option("--image", help="an image file, hashed with PDQ, MD5 and SHA-256 (repeatable)")
    ] = None,
    frames: Annotated[
        list[Path] | None, typer.Option("--frames", help="a video's vPDQ frame list file (repeatable)")
    ] = None,
) -> None:
    """Match every line of a file against one bank; print one JSON object per input line, in order:
    {"hash": ..., "matches": [{"entry": ..., "distance": ..., "bank": ...}]}. A bad line stops the run
    before anything is printed (exit 2, naming the line). With --image, one object per image
    ({"file", "pdq", "quality", "md5", "sha256", "matches"}); with --frames, one per frame list
    ({"file", "video", "matches"} with the match percentages)."""
    given = [x for x in (input, image, frames) if x]
    if len(given) != 1:
        raise fail("give one of --input, --image or --frames")
    if image:
        _match_images(ctx, bank, org, image)
        return
    if frames:
        _match_frames(ctx, bank, org, frames)
        return
    assert input is not None
    text = sys.stdin.read() if str(input) == "-" else _read_text(input)
    with command_node(ctx) as node:
        with reporting():
            found = banks.get_local(node, org, banks.resolve_local(node, org, bank))
            bank_id = found.id
        kind = plugins.signal_type(found.type)
        lines = text.splitlines()
        queries = []
        for number, line in enumerate(lines, start=1):
            try:
                queries.append(f"{found.type}:{kind.validate(line)}")
            except Invalid as exc:
                raise fail(f"{input}: line {number}: {next(iter(exc.errors.values()), exc.detail)}") from None
        with reporting(str(input)):
            for start in range(0, len(queries), _MATCH_BATCH):
                body = MatchIn(hashes=queries[start : start + _MATCH_BATCH], banks=[bank_id])
                for line, result in zip(
                    lines[start : start + _MATCH_BATCH], matching.match_local(node, org, body), strict=True
                ):
                    matches = [{"entry": m.entry, "distance": m.distance, "bank": found.name} for m in result.matches]
                    sys.stdout.write(orjson.dumps({"hash": line.strip(), "matches": matches}).decode() + "\n")


def _match_images(ctx: typer.Context, bank: str, org: str, paths: list[Path]) -> None:
    """Every image is read and hashed before anything is matched: a file that is not an image stops the run
    first (exit 2, naming it)."""
    hashed = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise fail(f"{path}: {exc}") from None
        with reporting(str(path)):
            hashed.append((path, matching.image_hashes(data)))
    with command_node(ctx) as node, reporting():
        found = banks.get_local(node, org, banks.resolve_local(node, org, bank))
        if found.type not in ("pdq", "md5", "sha256"):
            raise fail(f"bank {found.name!r} holds {found.type} signals; an image matches pdq, md5 or sha256 banks")
        for path, h in hashed:
            results = matching.match_local(node, org, matching.image_query(h, [found.id]))
            hits = [
                {"entry": m.entry, "type": m.type, "distance": m.distance, "bank": found.name}
                for r in results
                for m in r.matches
            ]
            line = {"file": str(path), "pdq": h.pdq, "quality": h.quality, "md5": h.md5, "sha256": h.sha256}
            sys.stdout.write(orjson.dumps({**line, "matches": hits}).decode() + "\n")


def _match_frames(ctx: typer.Context, bank: str, org: str, paths: list[Path]) -> None:
    texts = [_read_text(p) for p in paths]
    with command_node(ctx) as node:
        with reporting():
            found = banks.get_local(node, org, banks.resolve_local(node, org, bank))
        if found.type != "vpdq":
            raise fail(f"bank {found.name!r} holds {found.type} signals; a frame list matches vpdq banks")
        try:
            results = matching.match_local(node, org, MatchIn(videos=texts, banks=[found.id]))
        except Invalid as exc:
            pointer, message = next(iter(exc.errors.items()), ("", exc.detail))
            index = pointer.split("/")[2] if pointer.startswith("/videos/") else None
            raise fail(f"{paths[int(index)] if index is not None else bank}: {message}") from None
        for path, r in zip(paths, results, strict=True):
            hits = [
                {
                    "entry": m.entry,
                    "distance": m.distance,
                    "query_match_percent": m.query_match_percent,
                    "compared_match_percent": m.compared_match_percent,
                    "bank": found.name,
                }
                for m in r.matches
            ]
            sys.stdout.write(orjson.dumps({"file": str(path), "video": r.hash, "matches": hits}).decode() + "\n")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{path}: {exc}") from None
