"""The loop annotators live in: predict -> `--to TOOL` -> accept in the tool -> read back as training data.

The spans read back by the span readers (toolkit.data.read_span_file) must be exactly the spans the
model predicted, for Label Studio, doccano and Prodigy, on text where characters, UTF-8 bytes and
UTF-16 units all differ (an emoji before the spans, accents, CJK).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolkit.data import read_span_file
from toolkit.predict.annotation_tools import doccano_record, label_studio_task, prodigy_task

TEXTS = [
    "\U0001F431 John Smith visited Paris.",
    "Zoë Müller met the EU in Genève \U0001F1EB\U0001F1F7 and Tokyo.",
    "東京 hosted the United Nations with Peter Blackburn.",
    "no entities here",
]
REGIONS = [
    [(2, 12, "PER", 0.99), (21, 26, "LOC", 0.8)],
    [(0, 10, "PER", 0.7), (19, 21, "ORG", 0.95), (25, 31, "LOC", 0.6), (39, 44, "LOC", 0.9)],
    [(0, 2, "LOC", 0.5), (14, 28, "ORG", 0.9), (34, 49, "PER", 0.99)],
    [],
]


def test_the_fixture_spans_name_what_they_should():
    assert TEXTS[0][2:12] == "John Smith" and TEXTS[0][21:26] == "Paris"
    assert [TEXTS[1][s:e] for s, e, *_ in REGIONS[1]] == ["Zoë Müller", "EU", "Genève", "Tokyo"]
    assert [TEXTS[2][s:e] for s, e, *_ in REGIONS[2]] == ["東京", "United Nations", "Peter Blackburn"]
    assert len(TEXTS[1].encode("utf-16-le")) // 2 > len(TEXTS[1]) < len(TEXTS[1].encode())


def accepted_in_label_studio(tasks: list[dict]) -> list[dict]:
    """What Label Studio exports after an annotator submits each pre-annotation unchanged: the
    prediction's result becomes the annotation's result (ids as Label Studio gives them)."""
    exported = []
    for number, task in enumerate(tasks, start=1):
        prediction = task["predictions"][0]
        exported.append({**task, "id": number, "annotations": [{
            "id": 100 + number, "completed_by": 1, "was_cancelled": False, "result": prediction["result"],
            "created_at": "2026-12-06T21:00:00Z", "updated_at": "2026-12-06T21:00:00Z",
        }]})
    return exported


def _plain(regions):
    return [[(s, e, label) for s, e, label, *_ in spans] for spans in regions]


def _read(path: Path, fmt: str):
    split = read_span_file(path, fmt)
    return split.texts, [[tuple(span) for span in spans] for spans in split.spans]


def test_label_studio_round_trip_gives_identical_spans(tmp_path):
    tasks = [label_studio_task(text, predictions=regions, model_version="m") for text, regions in zip(TEXTS, REGIONS)]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(accepted_in_label_studio(tasks), ensure_ascii=False), encoding="utf-8")
    assert _read(path, "label-studio") == (TEXTS, _plain(REGIONS))


def test_doccano_round_trip_gives_identical_spans(tmp_path):
    """doccano offsets are UTF-16 units on both sides (doccano#2290): the emoji before a span round-trips."""
    path = tmp_path / "export.jsonl"
    rows = [doccano_record(text, regions, meta={"nerkit_index": i}) for i, (text, regions) in enumerate(zip(TEXTS, REGIONS))]
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    assert _read(path, "doccano") == (TEXTS, _plain(REGIONS))


def test_prodigy_round_trip_gives_identical_spans(tmp_path):
    path = tmp_path / "db-out.jsonl"
    rows = [{**prodigy_task(text, regions), "answer": "accept"} for text, regions in zip(TEXTS, REGIONS)]
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    assert _read(path, "prodigy") == (TEXTS, _plain(REGIONS))


# --------------------------------------------------------------------------------------------
# End to end through the CLI: nerkit predict --to TOOL, a tiny random model
# --------------------------------------------------------------------------------------------

def _nerkit(*args: str) -> int:
    from toolkit.cli import main

    return main(list(args))


def _predicted_spans(records_path: Path, strategy: str = "first") -> list[list[tuple]]:
    records = [json.loads(line) for line in records_path.read_text(encoding="utf-8").splitlines()]
    return [sorted((e["start"], e["end"], e["entity_group"]) for e in r["entities"][strategy]) for r in records]


@pytest.fixture(scope="module")
def predicted(tiny_bert, tmp_path_factory):
    """The model's own spans (nerkit's JSONL) for TEXTS: what every tool file must carry back."""
    folder = tmp_path_factory.mktemp("round-trip")
    (folder / "in.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    assert _nerkit("predict", "--model", str(tiny_bert), "--input", str(folder / "in.txt"),
                   "--output", str(folder / "native.jsonl"), "--no-progress") == 0
    spans = _predicted_spans(folder / "native.jsonl")
    assert sum(map(len, spans)) > 0, "the tiny model predicted nothing; the round trip would prove little"
    return folder, spans


@pytest.mark.parametrize("tool, name", [("label-studio", "tasks.json"),
                                        ("doccano", "doccano.jsonl"),
                                        ("prodigy", "prodigy.jsonl")])
def test_predict_to_tool_then_read_back_gives_the_predicted_spans(predicted, tiny_bert, tool, name):
    folder, spans = predicted
    out = folder / name
    assert _nerkit("predict", "--model", str(tiny_bert), "--input", str(folder / "in.txt"), "--output", str(out),
                   "--to", tool, "--no-progress") == 0
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(name)) == [name]  # no records file left
    if tool == "label-studio":
        tasks = json.loads(out.read_text(encoding="utf-8"))
        assert all(t["predictions"][0]["model_version"] == Path(tiny_bert).name for t in tasks)
        out.write_text(json.dumps(accepted_in_label_studio(tasks), ensure_ascii=False), encoding="utf-8")
    texts, read_back = _read(out, tool)
    assert texts == TEXTS
    assert read_back == spans


def test_min_score_applies_to_the_tool_file(predicted, tiny_bert):
    folder, spans = predicted
    out = folder / "confident.jsonl"
    assert _nerkit("predict", "--model", str(tiny_bert), "--input", str(folder / "in.txt"), "--output", str(out),
                   "--to", "doccano", "--min-score", "0.99", "--no-progress") == 0
    kept = sum(len(json.loads(line)["label"]) for line in out.read_text(encoding="utf-8").splitlines())
    assert kept < sum(map(len, spans))  # a random model is never that sure


@pytest.mark.parametrize("flags, message", [
    (["--to", "doccano", "--strategies", "first,max"], "one set of spans"),
    (["--to", "label-studio", "--strategies", "none"], "one label per sub-token"),
])
def test_flags_a_tool_cannot_hold_exit_2_and_write_nothing(predicted, tiny_bert, capsys, flags, message):
    folder, _ = predicted
    out = folder / "refused.json"
    assert _nerkit("predict", "--model", str(tiny_bert), "--input", str(folder / "in.txt"), "--output", str(out),
                   *flags, "--no-progress") == 2
    assert message in capsys.readouterr().err
    assert not list(folder.glob("refused*"))


def test_label_studio_needs_a_json_file(predicted, tiny_bert, capsys):
    folder, _ = predicted
    assert _nerkit("predict", "--model", str(tiny_bert), "--input", str(folder / "in.txt"), "--output",
                   str(folder / "tasks.jsonl"), "--to", "label-studio", "--no-progress") == 2
    assert "tasks.json" in capsys.readouterr().err


def test_several_strategies_become_several_label_studio_predictions(predicted, tiny_bert):
    folder, spans = predicted
    out = folder / "both.json"
    assert _nerkit("predict", "--model", str(tiny_bert), "--input", str(folder / "in.txt"), "--output", str(out),
                   "--to", "label-studio", "--strategies", "first,max", "--no-progress") == 0
    tasks = json.loads(out.read_text(encoding="utf-8"))
    name = Path(tiny_bert).name
    assert [p["model_version"] for p in tasks[0]["predictions"]] == [f"{name} (first)", f"{name} (max)"]
    got = [sorted((r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in t["predictions"][0]["result"])
           for t in tasks]
    assert got == spans


@pytest.mark.parametrize("fmt", ["label-studio", "doccano", "prodigy"])
def test_predict_reads_a_tool_export_as_its_own_texts(predicted, tiny_bert, fmt):
    """Predicting on an export: each record's text exactly as the tool holds it (emoji, double spaces), so the
    predicted offsets index that text; the tool's id is kept."""
    folder, _ = predicted
    texts = [text.replace(" ", "  ", 1) for text in TEXTS[:3]]
    regions = [[(0, 1, "MISC")]] * 3
    if fmt == "label-studio":
        tasks = accepted_in_label_studio([label_studio_task(t, predictions=r) for t, r in zip(texts, regions)])
        source = folder / "export-in.json"
        source.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    else:
        build = doccano_record if fmt == "doccano" else prodigy_task
        source = folder / f"export-in-{fmt}.jsonl"
        source.write_text("".join(json.dumps(build(t, r), ensure_ascii=False) + "\n" for t, r in zip(texts, regions)),
                          encoding="utf-8")
    out = folder / f"from-{fmt}.jsonl"
    assert _nerkit("predict", "--model", str(tiny_bert), "--input", str(source), "--format", fmt,
                   "--output", str(out), "--no-progress") == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in records] == texts
    if fmt == "label-studio":
        assert [r["id"] for r in records] == [1, 2, 3]
    for record in records:
        for entity in record["entities"]["first"]:
            assert record["text"][entity["start"]:entity["end"]].strip()


def test_every_label_studio_task_is_predicted_labelled_or_not(predicted, tiny_bert):
    """The tasks file a project holds (most tasks not yet labelled): --format auto reads each task's data.text,
    and --to label-studio gives back one pre-annotated task per task, in order, on the same text."""
    folder, _ = predicted
    tasks = [{"id": 7, "data": {"text": TEXTS[0]}}, {"id": 8, "data": {"text": TEXTS[1]}, "annotations": []},
             accepted_in_label_studio([label_studio_task(TEXTS[2], predictions=REGIONS[2])])[0]]
    source = folder / "project-tasks.json"
    source.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    out = folder / "pre-annotated.json"
    assert _nerkit("predict", "--model", str(tiny_bert), "--input", str(source), "--output", str(out),
                   "--to", "label-studio", "--no-progress") == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert [t["data"]["text"] for t in written] == TEXTS[:3]
    assert [t["meta"]["nerkit_id"] for t in written] == [7, 8, 1]


def test_doccano_round_trip_on_text_inside_the_bmp(tmp_path):
    """Where code points and UTF-16 units agree (accents, CJK; no emoji), doccano's numbers are Python's."""
    texts = TEXTS[1:]
    texts[0] = texts[0].replace(" \U0001F1EB\U0001F1F7", "")  # the flag is outside the BMP
    regions = [[(0, 10, "PER", 0.7), (19, 21, "ORG", 0.95), (25, 31, "LOC", 0.6), (36, 41, "LOC", 0.9)], *REGIONS[2:]]
    assert [texts[0][s:e] for s, e, *_ in regions[0]] == ["Zoë Müller", "EU", "Genève", "Tokyo"]
    path = tmp_path / "bmp.jsonl"
    path.write_text("".join(json.dumps(doccano_record(t, r), ensure_ascii=False) + "\n" for t, r in zip(texts, regions)),
                    encoding="utf-8")
    assert _read(path, "doccano") == (texts, _plain(regions))


def test_the_docs_show_every_tool_going_back():
    """docs/annotations.md's "Predictions back to the tool" runs `--to` for each tool (tests/test_annotations_doc.py
    runs the page's commands; this checks that none of the tools is missing from it)."""
    from conftest import REPO_ROOT
    from toolkit.predict.annotation_tools import TOOLS

    page = (REPO_ROOT / "docs" / "annotations.md").read_text(encoding="utf-8")
    section = page.split("## Predictions back to the tool", 1)[1]
    for tool in TOOLS:
        assert f"--to {tool}" in section, tool
