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
) -> None:
    """Create a bank."""
    with command_node(ctx) as node, reporting():
        body = parse_obj(
            BankIn, {"name": name, "type": type, "threshold": threshold, "marking": marking, "agreement_id": agreement}
        )
        _show(banks.create_local(node, org, body))


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
        body = bank_files.write_csv(dump.bank.name, dump.bank.type, [e.value for e in dump.entries]).encode()
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
    input: Annotated[Path, typer.Option("--input", help="one hash (or URL) a line; - for standard input")],
    org: OrgOption,
) -> None:
    """Match every line of a file against one bank; print one JSON object per input line, in order:
    {"hash": ..., "matches": [{"entry": ..., "distance": ..., "bank": ...}]}. A bad line stops the run
    before anything is printed (exit 2, naming the line)."""
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


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{path}: {exc}") from None
