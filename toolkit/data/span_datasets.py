"""`datasets` sources of character spans: a text column and a column of `[{start, end, label}, ...]`.

This is the shape Argilla writes to the Hub (a `TextField` and a `SpanQuestion`: the
`<question>.responses` column holds one list of spans per annotator, `<question>.suggestion` one
list). Offsets are Python characters (code points), end exclusive. With several annotators'
responses, the first is used and the records are counted.
"""

from __future__ import annotations

from nercore.errors import UserError
from toolkit.data.raw import RawSplit, ReadOptions
from toolkit.data.spans import SpanBuilder

TEXT_COLUMNS = ("text", "content", "sentence", "document")


def _is_span_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) and {"start", "end", "label"} <= set(v) for v in value)


def _spans_of(value: object) -> list | None:
    """A list of spans, or Argilla responses (a list of such lists: the first); None when it is neither."""
    if _is_span_list(value):
        return value
    if isinstance(value, list) and value and all(_is_span_list(v) or v is None for v in value):
        return next((v for v in value if v is not None), [])
    return None


def span_columns(columns: dict, options: ReadOptions) -> tuple[str, str] | None:
    """(text column, spans column) when this dataset holds character spans, else None.

    `columns` maps each column name to its first few values.
    """
    if options.tokens_column in columns and options.spans_field is None:
        return None
    spans = options.spans_field or next(
        (name for name, values in columns.items()
         if any(v for v in values) and all(v is None or _spans_of(v) is not None for v in values)), None)
    if spans is None:
        return None
    text = options.text_field or next((name for name in TEXT_COLUMNS if name in columns), None)
    if text is None:
        strings = [name for name, values in columns.items() if values and all(isinstance(v, str) for v in values)]
        text = strings[0] if len(strings) == 1 else None
    if text is None or text not in columns:
        raise UserError(f"the dataset has a spans column {spans!r} but no text column (columns: {', '.join(columns)}); "
                        f"name it with --text-field.")
    if spans not in columns:
        raise UserError(f"no column {spans!r} (--label-control); the columns are {', '.join(columns)}.")
    return text, spans


def read_split(dataset, split: str, text_column: str, spans_column: str, options: ReadOptions) -> RawSplit:
    builder = SpanBuilder(None, options)
    columns = dataset.select_columns([text_column, spans_column]).to_dict()
    for index, (text, value) in enumerate(zip(columns[text_column], columns[spans_column])):
        place = f"split {split!r} row {index}"
        if not isinstance(text, str):
            raise UserError(f"{place}: no text in column {text_column!r} (found {text!r:.40}).")
        found = _spans_of(value) if value is not None else []
        if found is None:
            raise UserError(f"{place}: {spans_column!r} must be a list of {{start, end, label}}, found {value!r:.80}.")
        if isinstance(value, list) and value and not _is_span_list(value) and len(value) > 1:
            builder.report.add("several_annotations", record=place)
        spans = [(s["start"], s["end"], s["label"], f" {spans_column}[{n}]") for n, s in enumerate(found)]
        builder.add(text, spans, name=place, record_id=index)
    return builder.finish()
