"""CSV in: one report per row, the columns mapped to report fields by a column mapping.

The mapping (``ImportOptions.mapping``, parsed YAML; schema and a full example in docs/formats/csv.md)
says which column gives which field, fixed values for fields the file lacks, label-to-code maps,
identifier and media-hash columns, the date format, and the delimiter and encoding. Without one,
Accord's own layout is read (``csv_default.yaml``, what the CSV exporter writes), whose ``subjects``
and ``media`` cells hold lists in the compact encoding of ``encode_subjects`` / ``encode_media``.

Rows stream: the byte stream is read a physical line at a time, each row bounded by
``max_line_bytes``, decoded, and fed to the csv module, so at most one row is held.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import IO, Annotated, Any, Literal
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from accord.errors import Invalid
from accord.intake.formats import ImportOptions, Item
from accord.intake.source import check_text_encoding
from accord.model.identifier import Identifier, IdentifierKind
from accord.model.media import Media
from accord.model.parse import errors_from, parse_obj
from accord.model.report import ReportIn, Subject, SubjectRole
from accord.plugins.hookspecs import hookimpl
from accord.vocab import load as load_vocab

__all__ = [
    "CSV",
    "CsvImporter",
    "CsvMapping",
    "compile_mapping",
    "decode_media",
    "decode_subjects",
    "default_mapping",
    "encode_media",
    "encode_subjects",
    "neutralise",
]

# We trim only ASCII whitespace: the model trims the rest itself, and Python's str.strip() would also
# eat characters (\x1c-\x1f) the model keeps, so a value could not come back as it went out.
_WS = " \t\r\n\v\f"
_BOM = "\ufeff"

ReportField = Literal[
    "external_id",
    "source",
    "received_at",
    "incident_type",
    "urgency",
    "marking",
    "location.country",
    "location.timezone",
    "narrative",
    "subjects",
    "media",
]
FixedField = Literal["source", "incident_type", "urgency", "marking", "location.country", "location.timezone"]
_LISTS = {"urgency", "subjects", "media"}  # several columns may add to these; the rest take one column
_NO_VALUES = {"received_at", "narrative", "subjects", "media"}  # fields a label map makes no sense for
_VOCAB = {
    "source": "sources",
    "incident_type": "categories",
    "marking": "markings",
    "urgency": "urgency",
    "location.country": "jurisdictions",
}


# --- the mapping schema --------------------------------------------------------------------------


def _shorthand(key: str) -> Callable[[Any], Any]:
    """``Ref: external_id`` stands for ``Ref: {field: external_id}`` (likewise ``E-mail: email``)."""
    return lambda v: {key: v} if isinstance(v, str) else v


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Spec):
    field: ReportField
    values: dict[str, str | None] | None = None  # their label -> our code; None leaves the field empty
    separator: str | None = Field(default=None, min_length=1)  # urgency only (default: one per line)


class IdentifierColumn(_Spec):
    kind: IdentifierKind
    service: str | None = Field(default=None, min_length=1)
    service_column: str | None = None
    region: str | None = Field(default=None, pattern="^[A-Z]{2}$")
    region_column: str | None = None
    instrument: Literal["iban", "card-token", "wallet"] | None = None
    chain: str | None = Field(default=None, min_length=1)
    separator: str | None = Field(default=None, min_length=1)  # several identifiers in one cell


class SubjectSpec(_Spec):
    role: SubjectRole = SubjectRole.unknown
    identifiers: dict[str, Annotated[IdentifierColumn, BeforeValidator(_shorthand("kind"))]] = Field(min_length=1)


class MediaSpec(_Spec):
    """Column names, one per media field."""

    md5: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: str | None = None
    size: str | None = None
    mime: str | None = None


class DateSpec(_Spec):
    format: str | None = Field(default=None, min_length=1)  # strptime; None: ISO 8601
    timezone: str | None = None  # IANA zone for dates written without one

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Amsterdam)") from None
        return value


class CsvMapping(_Spec):
    version: Literal[1]
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf-8"
    formula_escape: bool = False  # cells were written with a leading ' guard (our export): drop it
    dates: DateSpec = DateSpec()
    fixed: dict[FixedField, str | list[str]] = Field(default_factory=dict)
    columns: dict[str, Annotated[ColumnSpec, BeforeValidator(_shorthand("field"))]] = Field(default_factory=dict)
    subjects: list[SubjectSpec] = Field(default_factory=list)
    media: list[MediaSpec] = Field(default_factory=list)

    def column_names(self) -> list[str]:
        """Every column the mapping reads, each once, in mapping order."""
        names = list(self.columns)
        for s in self.subjects:
            for col, spec in s.identifiers.items():
                names += [c for c in (col, spec.service_column, spec.region_column) if c]
        for m in self.media:
            names += [c for c in m.model_dump().values() if c]
        return list(dict.fromkeys(n.strip(_WS) for n in names))


def _mapping_error(pointer: str, message: str) -> Invalid:
    return Invalid(f"column mapping, at {pointer or '/'}: {message}", {f"/mapping{pointer}": message})


def compile_mapping(doc: Any) -> CsvMapping:
    """The mapping ``doc`` (parsed YAML), checked; ``Invalid`` names the mapping key that is wrong."""
    _string_keys(doc, "")
    try:
        m = CsvMapping.model_validate(doc)
    except ValidationError as exc:
        ptr, msg = next(iter(errors_from(exc).items()))
        if msg == "Input should be a valid string":  # YAML reads yes/no/on/off as booleans, 01 as a number
            msg += " (quote the value in the YAML)"
        raise _mapping_error(ptr, msg) from None
    _check(m)
    return m


def _string_keys(doc: Any, at: str) -> None:
    """Say which key YAML did not read as text (pydantic would name ``True`` as 1)."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        if isinstance(doc, dict) and not isinstance(key, str):
            raise _mapping_error(
                f"{at}/{key}", f"the key {key!r} is not text: quote it (YAML reads yes/no/on/off as booleans)"
            )
        _string_keys(value, f"{at}/{_escape_pointer(str(key))}")


def _check(m: CsvMapping) -> None:
    """What the schema cannot say: the combinations that would fail every row, and unknown codes."""
    try:
        ascii_compatible = '\r\n"'.encode(m.encoding).endswith(b'\r\n"')  # after any BOM
    except (LookupError, UnicodeError):
        raise _mapping_error("/encoding", f"unknown text encoding {m.encoding!r}") from None
    if not ascii_compatible:  # UTF-16 and UTF-32 cannot be split into lines byte-wise
        raise _mapping_error("/encoding", f"{m.encoding} files cannot be read line by line; convert it to UTF-8")
    if m.delimiter in '\r\n"':
        raise _mapping_error("/delimiter", "must not be a quote or a line break")
    vocab = load_vocab()

    def code(field: str, value: str | None, pointer: str) -> None:
        if value is not None and field in _VOCAB and value not in getattr(vocab, _VOCAB[field]):
            raise _mapping_error(pointer, f"unknown {_VOCAB[field]} code {value!r}")

    for f, v in m.fixed.items():
        if isinstance(v, list) != (f == "urgency"):
            raise _mapping_error(f"/fixed/{f}", "urgency takes a list of codes, the other fields one value")
        for i, one in enumerate(v if isinstance(v, list) else [v]):
            code(f, one, f"/fixed/{f}" + (f"/{i}" if isinstance(v, list) else ""))
    given: dict[str, str] = {}
    for col, spec in m.columns.items():
        at = f"/columns/{_escape_pointer(col)}"
        if spec.field not in _LISTS and spec.field in given:
            raise _mapping_error(f"{at}/field", f"{spec.field} is already given by column {given[spec.field]!r}")
        given.setdefault(spec.field, col)
        if spec.values is not None and spec.field in _NO_VALUES:
            raise _mapping_error(f"{at}/values", f"{spec.field} cannot have a value map")
        if spec.separator is not None and spec.field != "urgency":
            raise _mapping_error(f"{at}/separator", "only urgency cells hold several values")
        for label, target in (spec.values or {}).items():
            code(spec.field, target, f"{at}/values/{_escape_pointer(label)}")
    if "received_at" not in given:
        raise _mapping_error("/columns", "no column gives received_at")
    if "incident_type" not in given and "incident_type" not in m.fixed:
        raise _mapping_error("/columns", "no column gives incident_type, and fixed has none")
    for i, s in enumerate(m.subjects):
        for col, ident in s.identifiers.items():
            _check_identifier(ident, f"/subjects/{i}/identifiers/{_escape_pointer(col)}")
    for i, media in enumerate(m.media):
        if not (media.md5 or media.sha256 or media.pdq):
            raise _mapping_error(f"/media/{i}", "needs a column for at least one of md5, sha256, pdq")


def _check_identifier(spec: IdentifierColumn, at: str) -> None:
    kind = spec.kind
    if kind is IdentifierKind.account and not (spec.service or spec.service_column):
        raise _mapping_error(at, "an account column needs service or service_column")
    if kind is not IdentifierKind.account and (spec.service or spec.service_column):
        raise _mapping_error(at, "service and service_column are for accounts")
    if kind is not IdentifierKind.phone and (spec.region or spec.region_column):
        raise _mapping_error(at, "region and region_column are for phone numbers")
    if (kind is IdentifierKind.payment) != (spec.instrument is not None):
        raise _mapping_error(at, "payment columns, and only they, need an instrument (iban, card-token, wallet)")
    if (spec.instrument == "wallet") != (spec.chain is not None):
        raise _mapping_error(at, "wallet columns, and only they, need a chain")


def _whole_file(message: str) -> Invalid:
    """A fault of the whole file; the message starts with the file name."""
    return Invalid(message, {"": message})


def _escape_pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


@cache
def default_mapping() -> CsvMapping:
    """Accord's own layout (what the CSV exporter writes), from ``csv_default.yaml`` in this package."""
    text = resources.files("accord.intake.importers").joinpath("csv_default.yaml").read_text(encoding="utf-8")
    return compile_mapping(yaml.safe_load(text))


# --- the compact encoding of list cells in Accord's layout ----------------------------------------
#
# subjects: one subject per line, ``role: kind=value; attr=value | kind=value ...``
# media:    one media object per line, ``md5=...; sha256=...; size=...``
# Values are percent-escaped for the five characters that structure a cell: % ; | CR LF.

_ESCAPES = str.maketrans({"%": "%25", ";": "%3B", "|": "%7C", "\r": "%0D", "\n": "%0A"})


def _fields(pairs: dict[str, Any]) -> str:
    return "; ".join(f"{k}={str(v).translate(_ESCAPES)}" for k, v in pairs.items())


def encode_subjects(subjects: Iterable[Subject]) -> str:
    def ident(i: Identifier) -> str:
        doc = i.model_dump(mode="json", exclude_none=True, exclude={"normalised"})
        return _fields({doc.pop("kind"): doc.pop("value"), **doc})

    return "\n".join(f"{s.role.value}: " + " | ".join(ident(i) for i in s.identifiers) for s in subjects)


def encode_media(media: Iterable[Media]) -> str:
    return "\n".join(_fields(m.model_dump(mode="json", exclude_none=True)) for m in media)


def _cell_lines(cell: str) -> list[str]:
    # Split on LF only: str.splitlines() would also split on \x1c, \x85, \u2028 inside values.
    return [line.strip(_WS) for line in cell.split("\n") if line.strip(_WS)]


def _parse_fields(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        key = key.strip(_WS)
        if not sep or not key:
            raise ValueError(f"expected key=value, found {part.strip(_WS)!r}")
        if key in out:
            raise ValueError(f"{key!r} appears twice in {text.strip(_WS)!r}")
        out[key] = unquote(value.strip(_WS))
    return out


def decode_subjects(cell: str) -> list[dict[str, Any]]:
    """Subject documents (for ``ReportIn``) from a ``subjects`` cell; ValueError says what is wrong."""
    subjects = []
    for n, line in enumerate(_cell_lines(cell), 1):
        role, sep, rest = line.partition(":")
        if not sep:
            raise ValueError(f"subject {n}: expected 'role: kind=value | kind=value', found {line!r}")
        idents = []
        for text in rest.split("|"):
            try:
                fields = _parse_fields(text)
            except ValueError as exc:
                raise ValueError(f"subject {n}: {exc}") from None
            kind, value = next(iter(fields.items()))
            del fields[kind]
            idents.append({"kind": kind, "value": value, **fields})
        subjects.append({"role": role.strip(_WS), "identifiers": idents})
    return subjects


def decode_media(cell: str) -> list[dict[str, Any]]:
    media = []
    for n, line in enumerate(_cell_lines(cell), 1):
        try:
            media.append(dict(_parse_fields(line)))
        except ValueError as exc:
            raise ValueError(f"media {n}: {exc}") from None
    return media


_FORMULA = ("=", "+", "-", "@", "\t", "\r", "'")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection): a leading ' before any of
    = + - @ TAB CR, and before ' itself so that the importer's removal of one ' is exact."""
    return "'" + cell if cell.startswith(_FORMULA) else cell


# --- reading ---------------------------------------------------------------------------------------


class _TooLong(Exception):
    pass


class _Lines:
    """Decoded physical lines for csv.reader (line endings kept, as csv wants), numbered, with each row's
    bytes bounded. A class, not a generator: a generator that raises is finished, and csv.reader must
    be able to go on to the next row after an over-long one."""

    def __init__(self, stream: IO[bytes], options: ImportOptions, encoding: str) -> None:
        self._stream, self._limit, self._name = stream, options.max_line_bytes, options.name
        self._utf8 = codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
        self._encoding = "utf-8" if self._utf8 else encoding
        self._decoder = codecs.getincrementaldecoder(self._encoding)()
        self.number = 0  # physical lines read
        self.start = 1  # the line the current row starts on
        self._size = 0  # bytes of the current row so far
        self.eof = False

    def new_row(self) -> None:
        self.start, self._size = self.number + 1, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw = self._stream.readline(self._limit + 1)
        if not raw:
            self.eof = True
            self._decode(b"", final=True)
            raise StopIteration
        self.number += 1
        self._size += len(raw)
        if self._size > self._limit:
            if self.number > self.start:  # inside a quoted cell: no way to find where the next row starts
                raise _whole_file(f"{self._name}:{self.start}: row longer than {self._limit:,} bytes")
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line without holding it
                raw = self._stream.readline(self._limit)
            raise _TooLong(f"row longer than {self._limit:,} bytes")
        text = self._decode(raw)
        return text.removeprefix(_BOM) if self.number == 1 and self._utf8 else text

    def _decode(self, raw: bytes, final: bool = False) -> str:
        try:
            return self._decoder.decode(raw, final)
        except UnicodeDecodeError as exc:
            raise _whole_file(
                f"{self._name}:{self.number}: not {self._encoding} text (byte {exc.start + 1} of the line); "
                "convert it to UTF-8 or name its encoding in the mapping",
            ) from None


@dataclass(frozen=True)
class _Col:
    index: int
    name: str


class _Rows:
    """A mapping bound to one file's header: turns each row into an Item."""

    def __init__(self, m: CsvMapping, header: list[str], options: ImportOptions, line: int) -> None:
        positions: dict[str, list[int]] = {}
        for i, name in enumerate(header):
            positions.setdefault(name.strip(_WS), []).append(i)
        wanted = m.column_names()
        missing = [c for c in wanted if c not in positions]
        if missing:
            names = ", ".join(repr(c) for c in missing)
            raise Invalid(
                f"{options.name}:{line}: the header lacks {names}, named in the column mapping",
                {f"column {c!r}": "named in the column mapping but not in the file's header" for c in missing},
            )
        for c in wanted:
            if len(positions[c]) > 1:
                raise _whole_file(f"{options.name}:{line}: column {c!r} appears {len(positions[c])} times")

        def col(name: str) -> _Col:
            return _Col(positions[name.strip(_WS)][0], name.strip(_WS))

        self.m, self.width, self.col = m, len(header), col
        self.source = options.source
        self.zone = ZoneInfo(m.dates.timezone) if m.dates.timezone else None
        self.columns = [(col(name), spec, _lookup(spec)) for name, spec in m.columns.items()]

    def item(self, line: int, cells: list[str]) -> Item:
        if len(cells) > self.width and any(c.strip(_WS) for c in cells[self.width :]):
            return Item(line, None, {"": f"the row has {len(cells)} cells, the header {self.width}"})
        doc: dict[str, Any] = {}
        where: dict[str, tuple[str, bool]] = {}  # JSON pointer -> (column, cell holds a structure)
        faults: dict[str, str] = {}
        for f, value in self.m.fixed.items():
            _put(doc, f, list(value) if isinstance(value, list) else value)
        if self.source:
            doc["source"] = self.source
        for c, spec, lookup in self.columns:
            text = self._cell(cells, c)
            if text:
                try:
                    self._column(doc, where, c.name, spec, lookup, text)
                except ValueError as exc:
                    faults[f"column {c.name!r}"] = str(exc)
        self._subjects(doc, where, cells)
        self._media(doc, where, cells)
        try:
            report = parse_obj(ReportIn, doc)
        except Invalid as exc:
            for ptr, msg in exc.errors.items():
                faults.setdefault(_key(ptr, where), msg)
            return Item(line, None, faults)
        return Item(line, None, faults) if faults else Item(line, report)

    def _cell(self, cells: list[str], c: _Col) -> str:
        text = cells[c.index] if c.index < len(cells) else ""  # spreadsheets drop trailing empty cells
        if self.m.formula_escape and text.startswith("'"):
            text = text[1:]
        return text.strip(_WS)

    def _column(
        self,
        doc: dict[str, Any],
        where: dict[str, tuple[str, bool]],
        name: str,
        spec: ColumnSpec,
        lookup: dict[str, str | None] | None,
        text: str,
    ) -> None:
        field = spec.field
        where["/" + field.replace(".", "/")] = (name, False)  # first, so a failed cell keeps its own fault
        if field == "received_at":
            doc[field] = self._date(text)
        elif field == "urgency":
            codes = doc.setdefault("urgency", [])
            for part in _split(text, spec.separator or "\n"):
                code = _mapped(lookup, part)
                if code is not None and code not in codes:
                    where[f"/urgency/{len(codes)}"] = (name, False)
                    codes.append(code)
        elif field in ("subjects", "media"):
            items = decode_subjects(text) if field == "subjects" else decode_media(text)
            have = doc.setdefault(field, [])
            for i in range(len(have), len(have) + len(items)):
                where[f"/{field}/{i}"] = (name, True)
            have.extend(items)
        elif (code := _mapped(lookup, text)) is not None:
            _put(doc, field, code)

    def _date(self, text: str) -> datetime:
        fmt = self.m.dates.format
        try:
            at = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
        except ValueError:
            want = f"in the format {fmt!r}" if fmt else "in ISO 8601"
            raise ValueError(f"not a date {want}: {text!r}") from None
        if at.tzinfo is None:
            if self.zone is None:
                raise ValueError(f"{text!r} has no time zone, and the mapping names none (dates.timezone)")
            at = at.replace(tzinfo=self.zone)
        return at.astimezone(UTC)

    def _subjects(self, doc: dict[str, Any], where: dict[str, tuple[str, bool]], cells: list[str]) -> None:
        for s in self.m.subjects:
            idents: list[tuple[dict[str, Any], str]] = []
            for name, spec in s.identifiers.items():
                c = self.col(name)
                extra = {
                    "service": self._other(cells, spec.service_column) or spec.service,
                    "region": self._other(cells, spec.region_column) or spec.region,
                    "instrument": spec.instrument,
                    "chain": spec.chain,
                }
                for value in _split(self._cell(cells, c), spec.separator):
                    idents.append(
                        ({"kind": spec.kind.value, "value": value} | {k: v for k, v in extra.items() if v}, c.name)
                    )
            if idents:
                subjects = doc.setdefault("subjects", [])
                for j, (_, name) in enumerate(idents):
                    where[f"/subjects/{len(subjects)}/identifiers/{j}"] = (name, False)
                subjects.append({"role": s.role.value, "identifiers": [i for i, _ in idents]})

    def _other(self, cells: list[str], column: str | None) -> str:
        return self._cell(cells, self.col(column)) if column else ""

    def _media(self, doc: dict[str, Any], where: dict[str, tuple[str, bool]], cells: list[str]) -> None:
        for spec in self.m.media:
            found: dict[str, tuple[str, str]] = {}  # media field -> (column, value)
            for key, column in spec.model_dump(exclude_none=True).items():
                c = self.col(column)
                if value := self._cell(cells, c):
                    found[key] = (c.name, value)
            if found:
                media = doc.setdefault("media", [])
                where[f"/media/{len(media)}"] = (next(iter(found.values()))[0], False)
                where.update({f"/media/{len(media)}/{k}": (name, False) for k, (name, _) in found.items()})
                media.append({k: value for k, (_, value) in found.items()})


def _lookup(spec: ColumnSpec) -> dict[str, str | None] | None:
    """The value map keyed for matching: labels compared without case and surrounding spaces."""
    return None if spec.values is None else {k.strip(_WS).casefold(): v for k, v in spec.values.items()}


def _mapped(lookup: dict[str, str | None] | None, text: str) -> str | None:
    if lookup is None:
        return text
    key = text.casefold()
    if key not in lookup:
        known = ", ".join(repr(k) for k in list(lookup)[:12])
        raise ValueError(f"{text!r} is not a value the column mapping knows (it knows {known})")
    return lookup[key]


def _split(text: str, separator: str | None) -> list[str]:
    parts = text.split(separator) if separator else [text]
    return [p.strip(_WS) for p in parts if p.strip(_WS)]


def _put(doc: dict[str, Any], field: str, value: Any) -> None:
    if field.startswith("location."):
        doc.setdefault("location", {})[field.removeprefix("location.")] = value
    else:
        doc[field] = value


def _key(pointer: str, where: dict[str, tuple[str, bool]]) -> str:
    """The fault key for a model error: the column that gave the value (with the pointer when the cell
    holds a structure), or the bare pointer for a value no column gave (a fixed value, a missing field)."""
    probe = pointer
    while probe:
        if probe in where:
            name, structured = where[probe]
            return f"column {name!r} {pointer}" if structured else f"column {name!r}"
        probe = probe.rpartition("/")[0]
    return pointer


class CsvImporter:
    name = "csv"
    description = "CSV, one report per row, columns mapped by a YAML column mapping (default: Accord's layout)"

    def sniff(self, head: bytes, filename: str) -> bool:
        body = head.removeprefix(codecs.BOM_UTF8)
        if body.lstrip(b" \t\r\n").startswith((b"{", b"[", b"<")):  # JSON and XML are never ours
            return False
        if filename.lower().endswith((".csv", ".csv.gz")):
            return True
        first = body.split(b"\n", 1)[0].rstrip(b"\r")
        return first == ",".join(default_mapping().columns).encode()

    def read(self, stream: IO[bytes], options: ImportOptions) -> Iterator[Item]:
        m = default_mapping() if options.mapping is None else compile_mapping(options.mapping)
        if not (options.source or "source" in m.fixed or any(s.field == "source" for s in m.columns.values())):
            raise _whole_file(f"{options.name}: no source: map a column or a fixed value, or name one")
        if codecs.lookup(m.encoding).name in ("utf-8", "utf-8-sig") and hasattr(stream, "peek"):
            check_text_encoding(stream.peek(65536)[:65536], options.name)
        # csv's own per-field cap (128 KiB by default) would cut rows the row bound allows
        csv.field_size_limit(max(csv.field_size_limit(), options.max_line_bytes))
        lines = _Lines(stream, options, m.encoding)
        reader = csv.reader(lines, delimiter=m.delimiter, strict=True)
        rows: _Rows | None = None
        while True:
            lines.new_row()
            try:
                cells = next(reader)
            except StopIteration:
                if rows is None:
                    raise _whole_file(f"{options.name}: empty file: a CSV file starts with a header row") from None
                return
            except _TooLong as exc:
                if rows is None:
                    raise _whole_file(f"{options.name}:{lines.start}: header {exc}") from None
                yield Item(lines.start, None, {"": str(exc)})
                continue
            except csv.Error as exc:
                if lines.eof:  # only an open quote makes csv fail at the end
                    raise _whole_file(
                        f"{options.name}:{lines.start}: quoted cell not closed at the end of the file (truncated?)"
                    ) from None
                if rows is None:
                    raise _whole_file(f"{options.name}:{lines.start}: unreadable header row: {exc}") from None
                yield Item(lines.start, None, {"": f"malformed CSV row: {exc}"})
                continue
            if not any(c.strip(_WS) for c in cells):  # blank lines and rows of empty cells are not reports
                continue
            if rows is None:
                rows = _Rows(m, cells, options, lines.start)
            else:
                yield rows.item(lines.start, cells)


CSV = CsvImporter()


@hookimpl
def accord_importers() -> list[CsvImporter]:
    return [CSV]
