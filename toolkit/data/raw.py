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
    # Character-span sources only (Label Studio, doccano, Prodigy, brat, span datasets); None for word sources.
    # A *record* is one annotated text (a task, a line, a .txt file); a *sentence* is one row of tokens/tags.
    # See `SpanRecords` below and toolkit/data/spans.py for the contract.
    texts: list[str] | None = None  # each record's raw text, exactly as the tool holds it
    spans: list[list[tuple[int, int, str]]] | None = None  # each record's gold spans (see SPAN_CONTRACT)
    record_names: list[str] | None = None  # each record's place for messages: "tasks.json task 17", "a.ann"
    record_ids: list[str | int | None] | None = None  # the tool's own id of each record (task id, brat file stem)
    sentence_records: list[int] | None = None  # for each sentence: the index of its record in `texts`
    word_offsets: list[list[tuple[int, int]]] | None = None  # for each sentence: each word's (start, end) in its record's text
    span_report: dict | None = None  # what reading changed: counts and first examples (toolkit.data.spans.SpanReport)

    @property
    def has_spans(self) -> bool:
        """True when the split came from character spans (texts/spans are set)."""
        return self.texts is not None and self.spans is not None

    def where(self, sentence: int, token: int | None = None) -> str:
        """'train.txt line 12 (sentence index 3)' or 'sentence index 3' when no file is known."""
        place = f"sentence index {sentence}"
        if self.record_names is not None and self.sentence_records is not None:
            return f"{self.record_names[self.sentence_records[sentence]]} ({place})"
        if self.file is None:
            return place
        if self.lines is None:
            return f"{self.file} ({place})"
        line = self.lines[sentence] + ((token or 0) if self.line_per_token else 0)
        return f"{self.file} line {line} ({place})"


SPAN_CONTRACT = """\
Character spans, as every span reader returns them in `RawSplit.spans[record]`:
- a list of `(start, end, label)` tuples, sorted by start (then end);
- `start`/`end` index the record's text in Python `str` positions (Unicode code points, whatever
  unit the tool exported: Label Studio's UTF-16 code units are converted), `end` exclusive,
  `0 <= start < end <= len(text)`, so `text[start:end]` is the entity;
- whitespace at either edge already trimmed; no two spans overlap (refused or resolved by
  `overlaps`: "longest" or "first"); `label` is the entity type without scheme prefix ("PER").
- `tokens`/`tags` hold the same records as words (nercore.words.split_words, also cut at every span
  edge) with IOB2 tags; `word_offsets[sentence]` gives each word's (start, end) in
  `texts[sentence_records[sentence]]`. Until the tokenizer step (toolkit.span_alignment) splits long
  texts, there is one sentence per record (`sentence_records[i] == i`).
"""


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
    # Character-span sources (toolkit/data/spans.py):
    text_field: str | None = None  # Label Studio data key / dataset text column; None: found by name
    spans_field: str | None = None  # dataset column of {start, end, label} lists; None: found by name
    annotator: str | None = None  # Label Studio: the annotator (completed_by id or email) whose annotation is used
    overlaps: str = "refuse"  # overlapping spans: "refuse" (error naming both), "longest" or "first"
    fragments: str = "refuse"  # brat discontinuous entities: "refuse", "join" (first start..last end) or "drop"


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
