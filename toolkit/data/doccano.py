"""doccano sequence-labelling exports (JSON Lines): `{"text": ..., "label": [[start, end, "TYPE"], ...]}`.

Older doccano versions wrote the key `labels`; relation projects write `entities: [{start_offset,
end_offset, label}]`. Offsets are what doccano's browser editor selected: UTF-16 code units, where a
character outside the BMP (an emoji) counts 2 (doccano#2290: in "👨🏻‍🚒 firemen drive firetrucks",
"firetrucks" is 22..32 in doccano, 19..29 in Python); they are converted to Python `str` positions
here and counted (`utf16_offsets`). On text without such characters the two units agree. (A project
set to "count grapheme clusters as one character" counts neither; re-export it without that option.)
"""

from __future__ import annotations

from nercore.errors import UserError
from toolkit.data.raw import ReadOptions, RawSplit
from toolkit.data.spans import SpanBuilder, object_rows, utf16_to_str

SPAN_KEYS = ("label", "labels", "entities")


def claims(row: object) -> bool:
    """A doccano record: a `label`/`labels` list of [start, end, type] triples (or `entities`), and no `tokens`
    (its text field is checked by `read`, which names the record when it is missing)."""
    if not isinstance(row, dict) or "tokens" in row:
        return False
    for key in ("label", "labels"):
        value = row.get(key)
        if isinstance(value, list) and all(isinstance(v, list) and len(v) == 3 for v in value) and (
                value or isinstance(row.get("text"), str)):
            return True
    value = row.get("entities")
    return isinstance(value, list) and all(isinstance(v, dict) and "start_offset" in v for v in value)


def read(text: str, file: str, options: ReadOptions) -> RawSplit:
    builder = SpanBuilder(file, options)
    for place, line, row in object_rows(text, file, '{"text": ..., "label": [[0, 5, "PER"]]}'):
        field = options.text_field or "text"
        if not isinstance(row.get(field), str):
            raise UserError(f"{place}: no text field {field!r} (this record has: {', '.join(map(str, row)) or 'nothing'}); "
                            f"name it with --text-field.")
        text = row[field]
        spans = _spans(row, place)
        convert = utf16_to_str(text)
        converted = [(convert(start), convert(end), label, at) for start, end, label, at in spans]
        if converted != spans:
            builder.report.add("utf16_offsets", sum(a[:2] != b[:2] for a, b in zip(converted, spans)), record=place)
        builder.add(text, converted, name=place, record_id=row.get("id"), line=line)
    return builder.finish()


def _spans(row: dict, place: str) -> list:
    key = next((k for k in SPAN_KEYS if k in row), None)
    if key is None:
        return []  # a text with no entities
    value = row[key]
    if not isinstance(value, list):
        raise UserError(f"{place}: {key!r} must be a list of [start, end, label], found {value!r:.60}.")
    spans = []
    for number, item in enumerate(value):
        at = f" {key}[{number}]"
        if key == "entities":
            if not isinstance(item, dict) or not {"start_offset", "end_offset", "label"} <= set(item):
                raise UserError(f"{place}{at}: expected {{start_offset, end_offset, label}}, found {item!r:.60}.")
            spans.append((item["start_offset"], item["end_offset"], item["label"], at))
        elif isinstance(item, list) and len(item) == 3:
            spans.append((item[0], item[1], item[2], at))
        else:
            raise UserError(f"{place}{at}: expected [start, end, label], found {item!r:.60}.")
    return spans
