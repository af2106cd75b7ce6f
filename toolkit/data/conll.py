"""CoNLL column files: one token per line, whitespace- or tab-separated columns, blank lines between sentences.

The files have no column names. `label_column` picks the tag column for the 4-column CoNLL-2003
layout (`token POS chunk NER`): "pos_tags" is column 1, "chunk_tags" column 2, and anything else
(the default "ner_tags") the last column. For other layouts pass `tag_column` (0-based; column 0
is the token), which always wins over that mapping.
"""

from __future__ import annotations

from collections.abc import Iterator

from toolkit.data.raw import RawSplit, ReadOptions
from nercore.errors import UserError

# Tag columns of the 4-column CoNLL-2003 files (token POS chunk NER), by HF column name.
CONLL2003_COLUMNS = {"pos_tags": 1, "chunk_tags": 2}


def read(text: str, file: str, options: ReadOptions) -> RawSplit:
    """Whitespace- or tab-separated columns, one token per line, blank lines between sentences."""
    split = RawSplit(tokens=[], tags=[], file=file, lines=[], line_per_token=True)
    delimiter, n_columns, first_line, column = options.delimiter, 0, 0, 0
    documents: list[int] = []
    seen_tags: dict[str, str] = {}  # one string object per distinct tag, so a million "B-PER"s share one
    for document, block in _conll_blocks(text):
        documents.append(document)
        tokens, tags = [], []
        for number, line in block:
            if not n_columns and delimiter is None and "\t" in line:
                delimiter = "\t"
            fields = _columns(line, delimiter)
            if not n_columns:
                n_columns, first_line = len(fields), number
                column = _conll_tag_column(options, n_columns, file, number, line)
            elif len(fields) != n_columns:
                shown = "tab" if delimiter == "\t" else repr(delimiter) if delimiter else "whitespace"
                raise UserError(
                    f"{file} line {number}: expected {n_columns} columns (as on line {first_line}, the first token "
                    f"line) but found {len(fields)} in {line!r} ({shown}-separated). Every token line needs the "
                    f"same columns: fix the line, or pass the right delimiter."
                )
            if "" in fields:
                raise UserError(
                    f"{file} line {number} column {fields.index('') + 1}: empty value in {line!r}; "
                    f"every column needs a value (check for doubled tabs)."
                )
            tokens.append(fields[0])
            tags.append(seen_tags.setdefault(fields[column], fields[column]))
        split.tokens.append(tokens)
        split.tags.append(tags)
        split.lines.append(block[0][0])
    if "-DOCSTART-" in text:  # documents are marked; a file without the marker has none
        split.documents = documents
    return split


def _conll_blocks(text: str) -> Iterator[tuple[int, list[tuple[int, str]]]]:
    """(document index, sentence) where a sentence is a run of non-blank (line number, line).

    A -DOCSTART- line ends a sentence, is dropped, and starts the next document; a file without
    one is a single document 0 (the caller then records no documents).
    """
    block: list[tuple[int, str]] = []
    document, seen_sentence = 0, False
    for number, line in enumerate(_lines(text), start=1):
        line = line.strip()
        docstart = bool(line) and line.split(None, 1)[0] == "-DOCSTART-"
        if line and not docstart:
            block.append((number, line))
            continue
        if block:
            yield document, block
            block, seen_sentence = [], True
        if docstart and seen_sentence:
            document += 1
            seen_sentence = False
    if block:
        yield document, block


def _lines(text: str) -> Iterator[str]:
    """`text.split("\\n")` one line at a time: a list of every line of a large file would cost far more
    memory than the file (issue 26: bench/train_memory.py)."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def _columns(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return [value.strip() for value in line.split(delimiter)]


def _conll_tag_column(options: ReadOptions, n_columns: int, file: str, line_number: int, line: str) -> int:
    """The 0-based tag column for this file: tag_column, else the CoNLL-2003 name mapping, else the last."""
    if n_columns < 2:
        raise UserError(
            f"{file} line {line_number}: found one column ({line!r}); CoNLL files need the token and at least one "
            f"tag column, separated by spaces or tabs (or pass delimiter=...)."
        )
    column = options.tag_column
    if column == -1 and options.label_column in CONLL2003_COLUMNS:
        if n_columns != 4:
            raise UserError(
                f"{file}: label column {options.label_column!r} means column {CONLL2003_COLUMNS[options.label_column]} "
                f"of 4-column CoNLL-2003 files (token POS chunk NER), but line {line_number} has {n_columns} columns. "
                f"Choose the tag column with --tag-column N (0-based; 0 is the token)."
            )
        column = CONLL2003_COLUMNS[options.label_column]
    if not -n_columns <= column < n_columns or column % n_columns == 0:
        raise UserError(
            f"{file}: tag column {column} does not exist or is the token column; line {line_number} has "
            f"{n_columns} columns, so the tag column is 1..{n_columns - 1} (or -1 for the last)."
        )
    return column % n_columns
