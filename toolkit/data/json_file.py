"""JSON files (a list of objects) and JSON Lines files (one object per line), one sentence per object."""

from __future__ import annotations

import json
from typing import Callable

from toolkit.data.raw import RawSplit, ReadOptions, check_columns, check_document_id, document_field
from nercore.errors import UserError


def json_rows(text: str, file: str, locate: Callable[[int], str] | None = None) -> list[tuple[int | None, object]]:
    """(line number, value) per record of a JSON list (line None) or of JSON Lines (blank lines skipped).

    `locate(line)` words the place in error messages (default "FILE line N").
    """
    locate = locate or (lambda number: f"{file} line {number}")
    if text.lstrip().startswith("["):
        try:
            return [(None, row) for row in json.loads(text)]
        except json.JSONDecodeError as err:
            raise UserError(f"{locate(err.lineno)} column {err.colno}: not valid JSON ({err.msg}).") from None
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError as err:
                raise UserError(
                    f"{locate(number)} column {err.colno}: not valid JSON ({err.msg}) in {line[:80]!r}; "
                    f"JSON Lines files hold one object per line."
                ) from None
    return rows


def read(text: str, file: str, options: ReadOptions) -> RawSplit:
    """A JSON list of objects, or JSON Lines (one object per line)."""
    rows = json_rows(text, file)
    split = RawSplit(tokens=[], tags=[], file=file, lines=[] if rows and rows[0][0] else None)
    documents, doc_field = [], None
    for index, (number, row) in enumerate(rows):
        where = f"{file} line {number}" if number else f"{file} (record index {index})"
        if not isinstance(row, dict):
            raise UserError(
                f'{where}: expected an object like {{"tokens": [...], "{options.label_column}": [...]}}, '
                f"found {row!r:.80}."
            )
        if index == 0:
            check_columns(list(row), options, file)
            doc_field = document_field(list(row), options.document_column, file)
        for column in (options.tokens_column, options.label_column):
            if column not in row:
                raise UserError(f"{where}: no {column!r} key (this row has: {', '.join(row)}).")
            if not isinstance(row[column], (list, str)):
                raise UserError(f"{where}: {column!r} must be a list, found {row[column]!r:.80}.")
        tokens, tags = row[options.tokens_column], row[options.label_column]
        split.tokens.append(tokens.split() if isinstance(tokens, str) else tokens)
        split.tags.append(tags.split() if isinstance(tags, str) else tags)
        if split.lines is not None:
            split.lines.append(number)
        if doc_field is not None:
            documents.append(check_document_id(row.get(doc_field), where, doc_field))
    if doc_field is not None:
        split.documents = documents
    return split
