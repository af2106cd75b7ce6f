"""Label Studio exports: the full JSON export (a list of tasks) and the JSON-MIN export.

Offsets: Label Studio's frontend counts `start`/`end` in code points of the text ("Should calculate
offsets by code points in text", its test "NER - Emoji - Text": "test" in "🐱 Warning: This is a
test text" is 21..25), the same as Python `str` positions, so they are read as they are. Versions
before label-studio-frontend#308 (2022) counted UTF-16 code units, the JavaScript string length,
where an emoji counts 2: a region whose own `text` matches only the UTF-16 reading is converted
from UTF-16 units and counted (`utf16_offsets` in the report).

Full export: `[{"id", "data": {TEXT_FIELD: ...}, "annotations": [{"result": [{"from_name", "to_name",
"type": "labels", "value": {"start", "end", "text", "labels": [...]}}], "was_cancelled",
"completed_by", "updated_at"}], "predictions": [...]}]`. Tasks with no annotation are skipped and
counted; cancelled annotations are ignored; of several, the most recently updated is used, unless
`--annotator ID` (a `completed_by` id or e-mail) names whose. JSON-MIN: one row per annotation,
the data fields at the top, each labelling control's regions under its `from_name`, and
`annotator`/`annotation_id`/`updated_at` beside them.
"""

from __future__ import annotations

from collections import Counter

from nercore.errors import UserError
from toolkit.data.json_file import json_rows
from toolkit.data.raw import ReadOptions, RawSplit
from toolkit.data.spans import SpanBuilder, utf16_to_str

TEXT_FIELDS = ("text", "content", "sentence", "document", "body")
SPAN_TYPES = ("labels",)  # result types that are text spans (hypertextlabels carry XPath offsets, not characters)


def is_full_export(row: object) -> bool:
    return isinstance(row, dict) and isinstance(row.get("data"), dict) and (
        "annotations" in row or "completions" in row or "predictions" in row)


def is_min_export(row: object) -> bool:
    """A JSON-MIN row: some key holds a list of regions with start/end and labels (or, for a row without
    entities, the annotation keys JSON-MIN writes beside the data)."""
    return isinstance(row, dict) and "data" not in row and "tokens" not in row and (
        any(_is_regions(v) for v in row.values()) or {"annotation_id", "annotator"} <= set(row))


def _is_regions(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, dict) and "start" in v and "end" in v and "labels" in v for v in value)


def read(text: str, file: str, options: ReadOptions) -> RawSplit:
    """A full export or a JSON-MIN export (told apart by the first task)."""
    rows = json_rows(text, file)
    builder = SpanBuilder(file, options)
    if not rows:
        return builder.finish()
    full = is_full_export(rows[0][1])
    tasks: dict = {}  # JSON-MIN writes one row per annotation: rows of one task id are read together
    for index, (line, row) in enumerate(rows):
        place = f"{file} task {row.get('id', f'index {index}') if isinstance(row, dict) else f'index {index}'}"
        if not isinstance(row, dict):
            raise UserError(f"{place}: expected a task object, found {row!r:.60}.")
        if full:
            _read_task(row, place, builder, options, line)
        else:
            tasks.setdefault(row.get("id", f"index {index}"), []).append((line, place, row))
    for rows_of_task in tasks.values():
        line, place, _ = rows_of_task[0]
        chosen = _chosen([row for _, _, row in rows_of_task], place, builder, options)
        if chosen is not None:
            _read_min_row(chosen, place, builder, options, line)
    return builder.finish()


def _text_of(data: dict, place: str, options: ReadOptions, where_fields: str) -> str:
    if options.text_field is not None:
        if not isinstance(data.get(options.text_field), str):
            raise UserError(f"{place}: no text field {options.text_field!r} in {where_fields} "
                            f"(it has: {', '.join(map(str, data)) or 'nothing'}). Check --text-field.")
        return data[options.text_field]
    named = next((key for key in TEXT_FIELDS if isinstance(data.get(key), str)), None)
    if named is None:  # never a guess: the one other string may be an image URL or a title
        raise UserError(f"{place}: no text field in {where_fields} (it has: {', '.join(map(str, data)) or 'nothing'}). "
                        f"Name the field the texts are in (the $name in <Text value=\"$name\">) with --text-field NAME.")
    return data[named]


def _annotator(annotation: dict) -> set[str]:
    who = annotation.get("completed_by", annotation.get("annotator"))
    if isinstance(who, dict):
        return {str(who[k]) for k in ("id", "email", "username") if who.get(k) is not None}
    return set() if who is None else {str(who)}


def _chosen(annotations: list, place: str, builder: SpanBuilder, options: ReadOptions) -> dict | None:
    """The annotation to train on: not cancelled; the --annotator's, else the most recently updated."""
    report = builder.report
    live = []
    for annotation in annotations:
        if not isinstance(annotation, dict):
            raise UserError(f"{place}: an annotation must be an object, found {annotation!r:.60}.")
        if annotation.get("was_cancelled"):
            report.add("cancelled", record=place)
        else:
            live.append(annotation)
    if not live:
        report.add("no_annotation", record=place)
        return None
    if options.annotator is not None:
        live = [a for a in live if options.annotator in _annotator(a)]
        if not live:
            report.add("no_annotation_by_annotator", record=place)
            return None
    if len(live) > 1:
        report.add("several_annotations", record=place)
    return max(enumerate(live), key=lambda item: (str(item[1].get("updated_at") or item[1].get("created_at") or ""),
                                                  item[0]))[1]


def _read_task(task: dict, place: str, builder: SpanBuilder, options: ReadOptions, line) -> None:
    data = task["data"] if isinstance(task.get("data"), dict) else None
    if data is None:
        raise UserError(f"{place}: no 'data' object; a Label Studio task holds its text in data.<field>.")
    text = _text_of(data, place, options, "'data'")
    annotations = task.get("annotations", task.get("completions")) or []
    if not isinstance(annotations, list):
        raise UserError(f"{place}: 'annotations' must be a list, found {annotations!r:.60}.")
    annotation = _chosen(annotations, place, builder, options)
    if annotation is None:
        return
    results = annotation.get("result") or []
    if not isinstance(results, list):
        raise UserError(f"{place}: an annotation's 'result' must be a list, found {results!r:.60}.")
    regions = [r for r in results if isinstance(r, dict) and r.get("type", "labels") in SPAN_TYPES]
    if len(regions) < len(results):
        builder.report.add("other_results", len(results) - len(regions))
    control = _control(regions, place, options)
    chosen = [r for r in regions if control is None or r.get("from_name") == control]
    spans = _spans([r.get("value") for r in chosen], text, place, builder, [r.get("id") for r in chosen])
    builder.add(text, spans, name=place, record_id=task.get("id"), line=line)


def _control(regions: list[dict], place: str, options: ReadOptions) -> str | None:
    """The labelling control (from_name) to read: the one there is, or the one --label-control names."""
    names = Counter(str(r.get("from_name")) for r in regions if r.get("from_name") is not None)
    if options.spans_field is not None:
        return options.spans_field
    if len(names) > 1:
        listed = ", ".join(f"{name} ({n} regions, to_name {_to_names(regions, name)})" for name, n in names.items())
        raise UserError(f"{place}: the annotation has several labelling controls: {listed}. "
                        f"Choose one with --label-control FROM_NAME.")
    return None


def _to_names(regions: list[dict], name: str) -> str:
    return "/".join(sorted({str(r.get("to_name")) for r in regions if str(r.get("from_name")) == name}))


def _spans(values: list, text: str, place: str, builder: SpanBuilder, ids: list) -> list:
    """(start, end, label, place) per region; UTF-16 offsets (older Label Studio) converted where `text` shows them."""
    convert = utf16_to_str(text)
    spans = []
    for number, value in enumerate(values):
        at = f" region {ids[number] or number}"
        if not isinstance(value, dict) or "start" not in value or "end" not in value:
            raise UserError(f"{place}{at}: a region's value needs 'start' and 'end', found {value!r:.80}.")
        labels = value.get("labels")
        if not isinstance(labels, list) or not labels:
            raise UserError(f"{place}{at}: a region's value needs 'labels' (a list of one label), found {labels!r:.60}.")
        start, end = value["start"], value["end"]
        selected = value.get("text")
        if (isinstance(selected, str) and isinstance(start, int) and isinstance(end, int)
                and text[start:end] != selected and text[convert(start):convert(end)] == selected):
            start, end = convert(start), convert(end)
            builder.report.add("utf16_offsets", record=f"{place}{at}")
        for label in labels:
            spans.append((start, end, label, at))
    return spans


def _read_min_row(row: dict, place: str, builder: SpanBuilder, options: ReadOptions, line) -> None:
    text = _text_of(row, place, options, "the row")
    controls = [key for key, value in row.items() if _is_regions(value)]
    if options.spans_field is not None:
        controls = [options.spans_field] if options.spans_field in row else []
    elif len(controls) > 1:
        raise UserError(f"{place}: the row has several labelling controls ({', '.join(controls)}). "
                        f"Choose one with --label-control FROM_NAME.")
    regions = row[controls[0]] if controls else []
    if not isinstance(regions, list):
        raise UserError(f"{place}: {controls[0]!r} must be a list of regions, found {regions!r:.60}.")
    spans = _spans(regions, text, place, builder, [r.get("id") if isinstance(r, dict) else None for r in regions])
    builder.add(text, spans, name=place, record_id=row.get("id"), line=line)
