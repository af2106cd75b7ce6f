"""Predictions back to the annotation tool: the import shapes of Label Studio, doccano and Prodigy.

Pure functions from a text and its regions to one record of each tool, the writing half of the
span readers in `toolkit/data/` (as spaCy pairs `offsets_to_biluo_tags` with
`biluo_tags_to_offsets`), plus `write_tool_file`, which turns `nerkit predict` records into the
file a tool imports, and `predict_to_tool` (`nerkit predict --to TOOL`), which runs predict and writes it.

A *region* is `(start, end, label, score)`: `start`/`end` are Python `str` positions in the text
(Unicode code points, `end` exclusive, so `text[start:end]` is the entity), `label` the entity
type without scheme prefix, `score` a float in [0, 1] or None.

Offsets as each tool counts them:
- Label Studio counts code points too: its frontend stores "offsets by code points in text"
  (its own test "NER - Emoji - Text": "test" in "🐱 Warning: This is a test text" is 21..25, as in
  Python) since label-studio-frontend#308 (2022); older versions counted UTF-16 units, which is
  why an emoji shifted later spans by one (label-studio#1347). So no conversion is made here.
- doccano stores what its browser editor selected: UTF-16 code units, where a character outside the
  BMP (an emoji) counts 2 (doccano#2290: "👨🏻‍🚒 firemen drive firetrucks" has "firetrucks" at
  22..32 in doccano, 19..29 in Python), unless the project counts grapheme clusters as one
  character. `doccano_record` writes UTF-16 units, the default projects' unit; the two agree on
  text without such characters.
- Prodigy is Python end to end: `str` positions.

Shapes (each tool's own import documentation):
- Label Studio: a JSON list of tasks `{"data": {"text": ...}, "predictions": [{"model_version": ...,
  "score": ..., "result": [{"id", "from_name", "to_name", "type": "labels", "value": {"start",
  "end", "score", "text", "labels": [TYPE]}}]}]}`; `value.score` is what the Regions pane sorts
  by, the prediction's `score` what the Data Manager sorts tasks by (here: its least sure region,
  so the tasks most worth a look come first). `from_name`/`to_name` must be the `<Labels name>`
  and `<Text name>` of the project's labelling config ("label"/"text" in its NER template).
- doccano JSONL (sequence labelling): `{"text": ..., "label": [[start, end, "TYPE"], ...]}`.
- Prodigy JSONL (`ner.manual`, `spans.manual`, `db-in`): `{"text": ..., "spans": [{"start",
  "end", "label"}], "meta": {...}}`; Prodigy tokenizes the text itself on import.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from nercore.tags import split_tag
from nercore.thresholds import keep_whole

TOOLS = ("label-studio", "doccano", "prodigy")
SUFFIXES = {"label-studio": ".json", "doccano": ".jsonl", "prodigy": ".jsonl"}
LABEL_STUDIO_FROM_NAME = "label"  # the <Labels name="label" toName="text"> of Label Studio's NER template
LABEL_STUDIO_TO_NAME = "text"


def check_regions(text: str, regions: Iterable[Sequence]) -> list[tuple[int, int, str, float | None]]:
    """`regions` as plain `(start, end, label, score)` tuples, sorted; a ValueError for one that cannot be imported.

    A region may be `(start, end, label)` (no score). Offsets must satisfy 0 <= start < end <= len(text).
    """
    checked = []
    for region in regions:
        if len(region) not in (3, 4):
            raise ValueError(f"region {region!r}: expected (start, end, label) or (start, end, label, score)")
        start, end, label = int(region[0]), int(region[1]), region[2]
        score = region[3] if len(region) == 4 else None
        if not 0 <= start < end <= len(text):
            raise ValueError(f"region {region!r}: expected 0 <= start < end <= {len(text)} (the text's length)")
        if not isinstance(label, str) or not label:
            raise ValueError(f"region {region!r}: the label must be a non-empty string")
        if score is not None:
            score = float(score)
            if not math.isfinite(score) or not 0.0 <= score <= 1.0:
                raise ValueError(f"region {region!r}: the score must be a number in [0, 1] or None")
        checked.append((start, end, label, score))
    return sorted(checked, key=lambda r: (r[0], r[1]))


def regions_from_entities(entities: Iterable[Mapping], min_score: float | None = None) -> list[tuple]:
    """Regions from `nerkit predict` / pipeline entity dicts (`entity_group` or `entity`, `start`, `end`,
    `score`), those scored under `min_score` dropped (nercore.thresholds, the rule of `--min-score`).

    Token-level dicts (strategy "none", B-/I- labels) are refused: one token is not an entity.
    """
    regions = []
    for entity in keep_whole(list(entities), min_score):
        label = entity.get("entity_group")
        if label is None:
            prefix, label = split_tag(str(entity.get("entity", "")))
            if prefix is not None:
                raise ValueError(f"entity {dict(entity)!r}: a token-level label ({entity['entity']}); "
                                 "use a grouping strategy (first, average, max, simple or word), not none")
        score = entity.get("score")
        regions.append((int(entity["start"]), int(entity["end"]), str(label), None if score is None else float(score)))
    return regions


def _label_studio_result(text: str, region: tuple, result_id: str, from_name: str, to_name: str) -> dict:
    start, end, label, score = region
    value: dict[str, Any] = {"start": start, "end": end}
    if score is not None:
        value["score"] = score
    value["text"] = text[start:end]
    value["labels"] = [label]
    result = {"id": result_id, "from_name": from_name, "to_name": to_name, "type": "labels", "value": value}
    if score is not None:
        result["score"] = score  # where the ML backend SDK puts it; value.score is the import guide's place
    return result


def label_studio_results(text: str, regions: Iterable[Sequence], *, id_prefix: str = "r",
                         from_name: str = LABEL_STUDIO_FROM_NAME, to_name: str = LABEL_STUDIO_TO_NAME) -> list[dict]:
    """One Label Studio `result` item per region (ids `{id_prefix}{k}`, unique within a task)."""
    return [_label_studio_result(text, region, f"{id_prefix}{k}", from_name, to_name)
            for k, region in enumerate(check_regions(text, regions))]


def label_studio_prediction(text: str, regions: Iterable[Sequence], *, model_version: str | None = None,
                            id_prefix: str = "p", from_name: str = LABEL_STUDIO_FROM_NAME,
                            to_name: str = LABEL_STUDIO_TO_NAME) -> dict:
    """One entry of a task's `predictions`: the regions, `model_version`, and the least sure region's score."""
    result = label_studio_results(text, regions, id_prefix=id_prefix, from_name=from_name, to_name=to_name)
    prediction: dict[str, Any] = {}
    if model_version is not None:
        prediction["model_version"] = model_version
    scores = [r["value"]["score"] for r in result if "score" in r["value"]]
    if scores:
        prediction["score"] = min(scores)
    prediction["result"] = result
    return prediction


def label_studio_task(text: str, *, predictions: Sequence[Sequence] | Mapping[str, Sequence[Sequence]] | None = None,
                      annotations: Sequence[Sequence] | None = None, model_version: str | None = None,
                      data_field: str = "text", meta: Mapping | None = None, data: Mapping | None = None,
                      from_name: str = LABEL_STUDIO_FROM_NAME, to_name: str = LABEL_STUDIO_TO_NAME) -> dict:
    """One Label Studio task to import: the text under `data[data_field]`, and optionally

    - `predictions`: the model's regions (shown as a pre-annotation, scored), either one list of
      regions (one prediction named `model_version`) or `{model_version: regions}` (one prediction
      each: e.g. one per aggregation strategy, told apart in Label Studio's prediction switcher);
    - `annotations`: regions someone already gave (e.g. the dataset's own labels, for a reviewer
      to compare with the prediction); their scores are ignored;
    - `meta`: the task's `meta` (shown nowhere, exported back); `data`: more data fields.

    Regions are `(start, end, label[, score])` in Python `str` positions, which Label Studio uses too
    (see the module docstring).
    """
    task_data = dict(data or {})
    task_data[data_field] = text
    task: dict[str, Any] = {"data": task_data}
    if annotations is not None:
        unscored = [tuple(r[:3]) for r in annotations]
        task["annotations"] = [{"result": label_studio_results(text, unscored, id_prefix="a", from_name=from_name,
                                                               to_name=to_name)}]
    if predictions is not None:
        named = predictions.items() if isinstance(predictions, Mapping) else [(model_version, predictions)]
        task["predictions"] = [
            label_studio_prediction(text, regions, model_version=version, id_prefix=f"p{k}-" if k else "p",
                                    from_name=from_name, to_name=to_name)
            for k, (version, regions) in enumerate(named)
        ]
    if meta:
        task["meta"] = dict(meta)
    return task


def utf16_units(text: str) -> Callable[[int], int]:
    """A function: `str` position in `text` -> the same position in UTF-16 code units (the identity when
    every character is in the BMP)."""
    if all(ord(ch) < 0x10000 for ch in text):
        return lambda position: position
    units = [0]
    for ch in text:
        units.append(units[-1] + (2 if ord(ch) >= 0x10000 else 1))
    return units.__getitem__


def doccano_record(text: str, regions: Iterable[Sequence], *, meta: Mapping | None = None) -> dict:
    """One doccano sequence-labelling JSONL record: `{"text", "label": [[start, end, TYPE], ...]}`, offsets
    in UTF-16 code units as doccano's editor counts them (module docstring).

    `meta` fields become extra keys (doccano keeps them as the example's metadata). Scores are not
    part of doccano's format.
    """
    unit = utf16_units(text)
    record: dict[str, Any] = {"text": text,
                              "label": [[unit(s), unit(e), label] for s, e, label, _ in check_regions(text, regions)]}
    for key, value in (meta or {}).items():
        if key not in record:
            record[key] = value
    return record


def prodigy_tokens(text: str, spans: Sequence[tuple]) -> tuple[list[dict], list[tuple[int, int]]] | None:
    """Prodigy `tokens` for `text` (nercore's word splitter, cut at every span edge: the words nerkit trains
    on) and each span's `(token_start, token_end)` (inclusive); None when a span edge is not a word edge."""
    from toolkit.data.spans import words_and_tags

    words, _tags = words_and_tags(text, [(s, e, label) for s, e, label, *_ in spans])
    tokens = [{"text": text[a:b], "start": a, "end": b, "id": i, "ws": b < len(text) and text[b].isspace()}
              for i, (a, b) in enumerate(words)]
    first = {a: i for i, (a, _) in enumerate(words)}
    last = {b: i for i, (_, b) in enumerate(words)}
    if any(s not in first or e not in last for s, e, *_ in spans):
        return None
    return tokens, [(first[s], last[e]) for s, e, *_ in spans]


def prodigy_task(text: str, regions: Iterable[Sequence], *, meta: Mapping | None = None, tokens: bool = True) -> dict:
    """One Prodigy task: `{"text", "tokens", "spans": [{"start", "end", "token_start", "token_end", "label"}],
    "meta"}`; `meta` is shown in the task's corner (the least sure span's score is added as `score` when
    there are scores). With `tokens` (when every span edge is a word edge), the task carries its own
    tokens, so `ner.manual` shows the spans even where spaCy's tokenizer would split the text otherwise."""
    checked = check_regions(text, regions)
    task: dict[str, Any] = {"text": text}
    spans = [{"start": s, "end": e, "label": label} for s, e, label, _ in checked]
    tokenized = prodigy_tokens(text, checked) if tokens else None
    if tokenized is not None:
        task["tokens"] = tokenized[0]
        spans = [{"start": span["start"], "end": span["end"], "token_start": first, "token_end": last,
                  "label": span["label"]} for span, (first, last) in zip(spans, tokenized[1])]
    task["spans"] = spans
    task_meta = dict(meta or {})
    scores = [score for *_, score in checked if score is not None]
    if scores and "score" not in task_meta:
        task_meta["score"] = round(min(scores), 4)
    if task_meta:
        task["meta"] = task_meta
    return task


def _record_meta(record: Mapping) -> dict:
    meta = {"nerkit_index": record["index"]}
    if record.get("id") is not None:
        meta["nerkit_id"] = record["id"]
    return meta


def tool_record(tool: str, record: Mapping, strategies: Sequence[str], model_version: str,
                min_score: float | None = None, *, data_field: str = "text") -> dict:
    """One `nerkit predict` record (`{"index", "id"?, "text", "entities": {strategy: [...]}}`) as `tool`'s record.

    Label Studio gets one prediction per strategy (`model_version` "{model_version} ({strategy})"
    when there are several), the text under `data[data_field]` (the field of the tasks it was read
    from, so the project's `<Text value="$field">` finds it); doccano and Prodigy hold one set of
    spans, so `strategies` must be one.
    """
    text = record["text"]
    per_strategy = {name: regions_from_entities(record["entities"][name], min_score) for name in strategies}
    if tool == "label-studio":
        versions = {(model_version if len(strategies) == 1 else f"{model_version} ({name})"): regions
                    for name, regions in per_strategy.items()}
        return label_studio_task(text, predictions=versions, meta=_record_meta(record), data_field=data_field)
    if len(strategies) != 1:
        raise ValueError(f"{tool} holds one set of spans per text; got the strategies {', '.join(strategies)}")
    regions = per_strategy[strategies[0]]
    if tool == "doccano":
        return doccano_record(text, regions, meta=_record_meta(record))
    if tool == "prodigy":
        return prodigy_task(text, regions, meta=_record_meta(record))
    raise ValueError(f"unknown annotation tool {tool!r}; expected one of {', '.join(TOOLS)}")


def _dump(record: Mapping) -> str:
    return json.dumps(record, ensure_ascii=False, allow_nan=False)


def tool_lines(tool: str, records: Iterable[dict]) -> Iterator[str]:
    """The text of `tool`'s file, piece by piece: a JSON list (one task per line) for Label Studio,
    JSON Lines for doccano and Prodigy. Constant memory, whatever the corpus size."""
    if tool != "label-studio":
        for record in records:
            yield _dump(record) + "\n"
        return
    yield "["
    for number, record in enumerate(records):
        yield ("\n" if number == 0 else ",\n") + _dump(record)
    yield "\n]\n"


def write_tool_file(tool: str, records: Iterable[Mapping], path: Path, *, strategies: Sequence[str],
                    model_version: str, min_score: float | None = None,
                    convert: Callable[..., dict] = tool_record) -> int:
    """Write `records` (nerkit predict records) as `tool`'s import file at `path`, atomically
    (`path.partial`, renamed when complete). Returns the number of records written."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    count = 0

    def converted() -> Iterator[dict]:
        nonlocal count
        for record in records:
            count += 1
            yield convert(tool, record, strategies, model_version, min_score)

    try:
        with open(partial, "w", encoding="utf-8", newline="\n") as out:
            for piece in tool_lines(tool, converted()):
                out.write(piece)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return count


def model_version_of(model: str, revision: str | None = None) -> str:
    """The name a tool shows for the predictions: a Hub id as it is, a local folder by its name only
    (a pre-annotation file must not carry the user's paths)."""
    path = Path(model)
    name = path.name if path.exists() else model
    return f"{name}@{revision}" if revision else name


def _check_tool(config, tool: str) -> tuple[str, ...]:
    """The strategies a `--to tool` run writes; a UserError, before any work, for flags the tool cannot hold."""
    from nercore.errors import UserError

    if tool not in TOOLS:
        raise UserError(f"--to {tool!r}: expected one of {', '.join(TOOLS)}.")
    names = config.check()
    if "none" in names:
        raise UserError(f"--to {tool} --strategies none: 'none' gives one label per sub-token, not entities; "
                        "choose a grouping strategy (first, average, max, simple or word).")
    if tool != "label-studio" and len(names) != 1:
        raise UserError(f"--to {tool} holds one set of spans per text, but --strategies gives {len(names)} "
                        f"({', '.join(names)}); choose one (Label Studio can hold one prediction per strategy).")
    output = Path(config.output)
    if tool == "label-studio" and output.suffix.lower() != ".json":
        raise UserError(f"--output {output}: Label Studio imports tasks from a .json file (one JSON list); "
                        f"name it e.g. {output.with_suffix('.json').name}.")
    source = Path(config.input.source)
    if source.exists() and source.resolve() == output.resolve():
        raise UserError(f"--output {output}: is the input file; write the tasks to another file.")
    return names


def _read_records(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def predict_to_tool(config, tool: str):
    """`nerkit predict --to TOOL`: the run's records (`toolkit.predict.run.predict_corpus`, resumable, in
    `OUTPUT.records.jsonl`), then `tool`'s import file at `config.output`, written whole; the records
    file is removed once the tool file is complete. Returns the run's `PredictSummary`, for the tool file."""
    from dataclasses import replace

    from toolkit.predict.run import predict_corpus

    names = _check_tool(config, tool)
    output = Path(config.output)
    work = output.with_name(output.name + ".records.jsonl")
    finished = None
    if config.resume:  # a finished run: its tool file checked against the input, nothing redone
        from toolkit.predict.tool_resume import finished_run

        finished = finished_run(config, tool, names, work, _data_field(config, tool),
                                model_version_of(config.model, config.revision))
    if finished is not None:
        return finished
    summary = predict_corpus(replace(config, output=work))
    if summary.world > 1 and summary.rank != 0:
        return summary  # rank 0 writes the tool file from the merged records
    data_field = _data_field(config, tool)
    write_tool_file(tool, _read_records(work), output, strategies=names,
                    model_version=model_version_of(config.model, config.revision),
                    convert=lambda *args: tool_record(*args, data_field=data_field))
    work.unlink()  # --min-score was applied when the records were written
    return replace(summary, output=output)


def _data_field(config, tool: str) -> str:
    """The `data` field Label Studio tasks get: the one the input's tasks held their text in, else `text`."""
    if tool != "label-studio":
        return "text"

    return source_text_field(config.input) or "text"


def source_text_field(spec) -> str | None:
    """The `data` field the first task of a Label Studio input holds its text in (None for other inputs), so
    `--to label-studio` writes the tasks back under the field the project's labelling config reads."""
    import json

    from nercore.errors import UserError
    from toolkit.data.raw import decode, read_bytes
    from toolkit.predict.inputs import DocStream
    from toolkit.predict.tool_inputs import is_label_studio_task, task_text_field

    path = Path(spec.source)
    if not path.is_file() or DocStream(spec).kind not in ("label-studio", "jsonl"):
        return None
    with open(path, "rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf").lstrip()
    try:
        if head.startswith(b"["):
            rows = json.loads(decode(read_bytes(path), path.name))
            row = rows[0] if isinstance(rows, list) and rows else None
        else:
            with open(path, encoding="utf-8-sig") as handle:
                row = json.loads(next((line for line in handle if line.strip()), "null"))
    except (json.JSONDecodeError, UnicodeDecodeError, UserError):
        return None
    if not is_label_studio_task(row, spec):
        return None
    return task_text_field(row, spec, path.name)


__all__ = [
    "LABEL_STUDIO_FROM_NAME", "LABEL_STUDIO_TO_NAME", "SUFFIXES", "TOOLS", "check_regions", "doccano_record",
    "label_studio_prediction", "label_studio_results", "label_studio_task", "model_version_of", "predict_to_tool",
    "prodigy_task", "prodigy_tokens", "regions_from_entities", "tool_lines", "tool_record", "utf16_units", "write_tool_file",
]
