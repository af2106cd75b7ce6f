"""The file formats the toolkit reads: one `Reader` per format, in one table.

A new format is one reader module (`read(text, file, options) -> RawSplit`) plus one line in
`READERS`; file discovery, `--dataset FORMAT`, error messages, the CLI help and the card's
"is this source a file" test all read this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from toolkit.data import brat, conll, csv_file, doccano, json_file, label_studio, prodigy
from toolkit.data.raw import RawSplit, ReadOptions
from nercore.errors import UserError


@dataclass(frozen=True)
class Reader:
    """One file format: its name (the source `kind`), the file extensions it claims, and its parser.

    Formats that share an extension (.json, .jsonl) are told apart by `claims(first record)`: the
    first reader of that extension whose `claims` says yes reads the file, else the one without
    `claims`. `spans`: the format holds character spans (toolkit/data/spans.py), not tokens + tags.
    """

    kind: str
    extensions: tuple[str, ...]  # lower case, with the dot; "" = files without an extension
    read: Callable[[str, str, ReadOptions], RawSplit]  # (text, file name, options) -> one split
    help: str  # one line for `--help`
    claims: Callable[[object], bool] | None = None  # is this parsed first record in this format?
    spans: bool = False
    folder: bool = False  # read from a folder (brat), with brat.read_folder


READERS: tuple[Reader, ...] = (
    Reader("conll", ("", ".txt", ".conll", ".iob", ".tsv"), conll.read, "token ... tag columns (tag: last, or --tag-column)"),
    Reader("csv", (".csv",), csv_file.read, "a header row; a tokens and a tags column"),
    Reader("json", (".json", ".jsonl"), json_file.read, "a list or JSON Lines of {tokens, tags}"),
    Reader("label-studio", (".json",), label_studio.read, "Label Studio JSON or JSON-MIN export (character spans)",
           claims=lambda row: label_studio.is_full_export(row) or label_studio.is_min_export(row), spans=True),
    Reader("doccano", (".jsonl",), doccano.read, "doccano JSONL: text + label [[start, end, TYPE]]", claims=doccano.claims,
           spans=True),
    Reader("prodigy", (".jsonl",), prodigy.read, "Prodigy/spaCy JSONL: text + spans [{start, end, label}]",
           claims=prodigy.claims, spans=True),
    Reader("brat", (), brat.read, "a folder of brat standoff .txt + .ann pairs", spans=True, folder=True),
)

FORMATS: tuple[str, ...] = tuple(reader.kind for reader in READERS)  # the source kinds that are files
FILE_KINDS = FORMATS
# The reader an extension selects before its content is looked at (the first one listing it).
EXTENSIONS: dict[str, Reader] = {}
for _reader in READERS:
    for _ext in _reader.extensions:
        EXTENSIONS.setdefault(_ext, _reader)


def is_file_format(kind: object) -> bool:
    """Whether a data source `kind` (data_info/eval_results `dataset.kind`) is a file format read here."""
    return kind in FORMATS


def kinds_text(last: str = "or") -> str:
    """"conll, csv or json": the format names for messages."""
    return f"{', '.join(FORMATS[:-1])} {last} {FORMATS[-1]}" if len(FORMATS) > 1 else FORMATS[0]


def extensions_text() -> str:
    """".txt/.conll/.iob/.tsv (conll), .csv (csv), ...": what each extension means, for messages."""
    return ", ".join(f"{'a folder' if r.folder else '/'.join(e for e in r.extensions if e)} ({r.kind})" for r in READERS)


def reader_named(kind: str) -> Reader:
    for reader in READERS:
        if reader.kind == kind:
            return reader
    raise UserError(f"unknown data format {kind!r}; the formats are {kinds_text()}.")


def reader_for(path: Path, text: str | None = None) -> Reader:
    """The reader a file's extension selects; with the file's `text`, its first record picks among shared ones."""
    if path.is_dir() and brat.is_brat_folder(path):
        return reader_named("brat")
    reader = EXTENSIONS.get(path.suffix.lower())
    if reader is None:
        raise UserError(
            f"{path.name}: cannot tell the format from the extension {path.suffix!r}; use {extensions_text()}, "
            f"or name the format as the dataset ({kinds_text()})."
        )
    if text is None:
        return reader
    sharing = [r for r in READERS if path.suffix.lower() in r.extensions and r.claims is not None]
    if sharing:
        first = first_record(text)
        return next((r for r in sharing if r.claims(first)), reader)
    return reader


def first_record(text: str) -> object:
    """The first record of a JSON list or of JSON Lines (None when it does not parse)."""
    import json

    stripped = text.lstrip()
    try:
        if stripped.startswith("["):  # only the first element is parsed: exports can be hundreds of MB
            rest = stripped[1:].lstrip()
            return None if rest.startswith("]") else json.JSONDecoder().raw_decode(rest)[0]
        line = next((line for line in stripped.split("\n", 50) if line.strip()), "")
        return json.loads(line) if line else None
    except (ValueError, IndexError):
        return None
