"""CSV files: a header row, then one sentence per row, with a tokens column and a tags column."""

from __future__ import annotations

import ast
import csv
import io
import json
import re

from toolkit.data.raw import RawSplit, ReadOptions, check_columns, document_field
from nercore.errors import UserError

_INT = re.compile(r"-?\d+")


def read(text: str, file: str, options: ReadOptions) -> RawSplit:
    """A header row, then one sentence per row; list cells hold a JSON list or space-separated words."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise UserError(
            f"{file} is empty; expected a header row with {options.tokens_column!r} and {options.label_column!r}."
        )
    check_columns(header, options, file)
    token_index, tag_index = header.index(options.tokens_column), header.index(options.label_column)
    split = RawSplit(tokens=[], tags=[], file=file, lines=[])
    doc_field = document_field(header, options.document_column, file)
    doc_index = header.index(doc_field) if doc_field else None
    documents: list[str | None] = []
    end_line = reader.line_num
    for row in reader:
        line, end_line = end_line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise UserError(
                f"{file} line {line}: expected {len(header)} fields (as in the header) but found {len(row)}; "
                f"quote cells that contain commas."
            )
        split.tokens.append(_csv_list(row[token_index], file, line, options.tokens_column, ints=False))
        split.tags.append(_csv_list(row[tag_index], file, line, options.label_column, ints=True))
        split.lines.append(line)
        if doc_index is not None:
            documents.append(row[doc_index].strip() or None)
    if doc_index is not None:
        split.documents = documents
    return split


def _csv_list(cell: str, file: str, line: int, column: str, *, ints: bool) -> list:
    cell = cell.strip()
    if not cell.startswith("["):
        return [int(value) if ints and _INT.fullmatch(value) else value for value in cell.split()]
    try:
        return json.loads(cell)
    except json.JSONDecodeError:
        pass
    try:  # pandas writes list cells as Python reprs: ['EU', 'rejects']
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        raise UserError(
            f"{file} line {line} column {column!r}: {cell[:80]!r} starts like a list but is not valid JSON; "
            f'write ["EU", "rejects"] or space-separated words.'
        ) from None
    return value if isinstance(value, list) else [value]
