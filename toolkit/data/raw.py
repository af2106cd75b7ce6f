"""The records every data source produces, and the byte-level reading all file readers share.

`RawSplit` keeps where each sentence came from (file and line), so every later error can point
at the offending line without re-reading the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nercore.errors import UserError

# File stems that name a split; "valid"/"dev" are common spellings of "validation".
SPLIT_ALIASES = {
    "train": "train",
    "validation": "validation",
    "valid": "validation",
    "dev": "validation",
    "test": "test",
}


@dataclass
class RawSplit:
    """One split's sentences; `file`/`lines` say where each sentence came from, for error messages."""

    tokens: list[list[str]]
    tags: list[list[str]]  # strings once load_raw_splits returns (integer tags are mapped to names)
    file: str | None = None  # file name (never a full path)
    lines: list[int] | None = None  # 1-based line of each sentence (of its first token for CoNLL)
    line_per_token: bool = False  # CoNLL: token j of sentence i sits on line lines[i] + j
    documents: list[int] | None = None  # document index of each sentence (consecutive runs); None: no documents

    def where(self, sentence: int, token: int | None = None) -> str:
        """'train.txt line 12 (sentence index 3)' or 'sentence index 3' when no file is known."""
        place = f"sentence index {sentence}"
        if self.file is None:
            return place
        if self.lines is None:
            return f"{self.file} ({place})"
        line = self.lines[sentence] + ((token or 0) if self.line_per_token else 0)
        return f"{self.file} line {line} ({place})"


@dataclass
class RawData:
    splits: dict[str, RawSplit]  # split name -> sentences, in file/dataset order
    label_names: list[str] | None  # from a ClassLabel feature (id order kept), or the names that mapped int tags
    label_column: str
    source: dict  # provenance, JSON-safe, no absolute paths (see data_info.json in docs/eval-results.md)


# Field/column names taken as a sentence's document id when no --document-column is given.
DOCUMENT_FIELDS = ("document_id", "doc_id", "document", "doc")


@dataclass(frozen=True)
class ReadOptions:
    label_column: str
    tokens_column: str
    tag_column: int
    delimiter: str | None
    label_names: list[str] | None
    document_column: str | None = None  # None: the first of DOCUMENT_FIELDS present, if any


def document_field(columns: list[str], named: str | None, file: str, flag: str = "--document-column") -> str | None:
    """The column holding each sentence's document id: `named` (which must exist), else a common name."""
    if named is not None:
        if named not in columns:
            raise UserError(f"{file}: no column {named!r} for {flag}; available columns: {', '.join(map(str, columns))}.")
        return named
    return next((name for name in DOCUMENT_FIELDS if name in columns), None)


def check_document_id(value, where: str, column: str):
    """A document id is a string or an integer (JSON null: the sentence stands alone)."""
    if value is None or isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise UserError(f"{where}: document id {value!r:.60} in {column!r} must be a string or an integer.")


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path.name}: no such file (looked for {path}). Check the path.") from None
    except IsADirectoryError:
        raise UserError(f"{path.name} is a folder, not a file; pass the file inside it.") from None


def decode(data: bytes, file: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        byte_in_line = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        bad = data[err.start : err.end].hex(" ")
        raise UserError(
            f"{file} line {line}, byte {byte_in_line} of the line (byte offset {err.start} in the file): "
            f"{bad} is not valid UTF-8. "
            f"Save the file as UTF-8 (for Latin-1 text: iconv -f latin1 -t utf-8 {file} > utf8_{file})."
        ) from None
    return text.removeprefix("\ufeff")


def check_columns(columns: list[str], options: ReadOptions, file: str) -> None:
    for column, flag in ((options.tokens_column, "--tokens-column"), (options.label_column, "--label-column")):
        if column not in columns:
            raise UserError(
                f"{file}: no column {column!r}; available columns: {', '.join(columns)}. Choose one with {flag}."
            )
