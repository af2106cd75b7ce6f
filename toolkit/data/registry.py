"""The file formats the toolkit reads: one `Reader` per format, in one table.

A new format is one reader module (`read(text, file, options) -> RawSplit`) plus one line in
`READERS`; file discovery, `--dataset FORMAT`, error messages, the CLI help and the card's
"is this source a file" test all read this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from toolkit.data import conll, csv_file, json_file
from toolkit.data.raw import RawSplit, ReadOptions
from nercore.errors import UserError


@dataclass(frozen=True)
class Reader:
    """One file format: its name (the source `kind`), the file extensions it claims, and its parser."""

    kind: str
    extensions: tuple[str, ...]  # lower case, with the dot; "" = files without an extension
    read: Callable[[str, str, ReadOptions], RawSplit]  # (text, file name, options) -> one split
    help: str  # one line for `--help`


READERS: tuple[Reader, ...] = (
    Reader("conll", ("", ".txt", ".conll", ".iob", ".tsv"), conll.read, "token ... tag columns (tag: last, or --tag-column)"),
    Reader("csv", (".csv",), csv_file.read, "a header row; a tokens and a tags column"),
    Reader("json", (".json", ".jsonl"), json_file.read, "a list or JSON Lines of {tokens, tags}"),
)

FORMATS: tuple[str, ...] = tuple(reader.kind for reader in READERS)  # the source kinds that are files
FILE_KINDS = FORMATS
EXTENSIONS: dict[str, Reader] = {ext: reader for reader in READERS for ext in reader.extensions}


def is_file_format(kind: object) -> bool:
    """Whether a data source `kind` (data_info/eval_results `dataset.kind`) is a file format read here."""
    return kind in FORMATS


def kinds_text(last: str = "or") -> str:
    """"conll, csv or json": the format names for messages."""
    return f"{', '.join(FORMATS[:-1])} {last} {FORMATS[-1]}" if len(FORMATS) > 1 else FORMATS[0]


def extensions_text() -> str:
    """".txt/.conll/.iob/.tsv (conll), .csv (csv), ...": what each extension means, for messages."""
    return ", ".join(f"{'/'.join(e for e in r.extensions if e)} ({r.kind})" for r in READERS)


def reader_named(kind: str) -> Reader:
    for reader in READERS:
        if reader.kind == kind:
            return reader
    raise UserError(f"unknown data format {kind!r}; the formats are {kinds_text()}.")


def reader_for(path: Path) -> Reader:
    """The reader a file's extension selects."""
    reader = EXTENSIONS.get(path.suffix.lower())
    if reader is None:
        raise UserError(
            f"{path.name}: cannot tell the format from the extension {path.suffix!r}; use {extensions_text()}, "
            f"or name the format as the dataset ({kinds_text()})."
        )
    return reader
