"""Prodigy / spaCy JSON Lines: `{"text": ..., "spans": [{"start", "end", "label"}], "answer": "accept"}`.

Offsets are Python characters (code points), end exclusive; `tokens` (and each span's
`token_start`/`token_end`) may be there and are not needed. Only `answer == "accept"` records are
kept (a record without `answer`, as spaCy writes, counts as accepted); the others are counted.
"""

from __future__ import annotations

from nercore.errors import UserError
from toolkit.data.raw import ReadOptions, RawSplit
from toolkit.data.spans import SpanBuilder, object_rows


def claims(row: object) -> bool:
    return isinstance(row, dict) and isinstance(row.get("spans"), list) and all(
        isinstance(span, dict) and "start" in span for span in row["spans"]) and (
        bool(row["spans"]) or isinstance(row.get("text"), str))


def read(text: str, file: str, options: ReadOptions) -> RawSplit:
    builder = SpanBuilder(file, options)
    for place, line, row in object_rows(text, file, '{"text": ..., "spans": [...]}'):
        if row.get("answer", "accept") != "accept":
            builder.report.add("not_accepted", record=place)
            continue
        field = options.text_field or "text"
        if not isinstance(row.get(field), str):
            raise UserError(f"{place}: no text field {field!r} (this record has: {', '.join(map(str, row)) or 'nothing'}); "
                            f"name it with --text-field.")
        spans = row.get("spans") or []
        if not isinstance(spans, list):
            raise UserError(f"{place}: 'spans' must be a list of {{start, end, label}}, found {spans!r:.60}.")
        found = []
        for number, span in enumerate(spans):
            at = f" spans[{number}]"
            if not isinstance(span, dict) or not {"start", "end", "label"} <= set(span):
                raise UserError(f"{place}{at}: expected {{start, end, label}}, found {span!r:.60}.")
            found.append((span["start"], span["end"], span["label"], at))
        meta = row.get("meta") if isinstance(row.get("meta"), dict) else {}
        builder.add(row[field], found, name=place, record_id=meta.get("id", row.get("_task_hash")), line=line)
    return builder.finish()
