"""Predictions back to the annotation tools: each record in the shape the tool's import documentation gives."""

from __future__ import annotations

import json

import pytest

from toolkit.predict.annotation_tools import (
    check_regions,
    doccano_record,
    label_studio_task,
    prodigy_task,
    regions_from_entities,
    tool_record,
    write_tool_file,
)

TEXT = "Barack Obama visited Paris."
REGIONS = [(21, 26, "LOC", 0.91), (0, 12, "PER", 0.998)]


def test_label_studio_task_has_the_import_guides_shape():
    task = label_studio_task(TEXT, predictions=REGIONS, model_version="bert-conll")
    assert task["data"] == {"text": TEXT}
    (prediction,) = task["predictions"]
    assert prediction["model_version"] == "bert-conll"
    assert prediction["score"] == pytest.approx(0.91)  # the least sure region: the Data Manager sorts tasks by it
    first, second = prediction["result"]
    assert first == {
        "id": "p0", "from_name": "label", "to_name": "text", "type": "labels", "score": 0.998,
        "value": {"start": 0, "end": 12, "score": 0.998, "text": "Barack Obama", "labels": ["PER"]},
    }
    assert second["value"]["start"] == 21 and second["value"]["text"] == "Paris" and second["id"] == "p1"
    assert "annotations" not in task and "meta" not in task


def test_label_studio_task_with_annotations_and_predictions_for_a_reviewer():
    """The audit's shape: the dataset's label as an annotation, the model's as a scored prediction."""
    task = label_studio_task(TEXT, annotations=[(0, 12, "ORG")], predictions=[(0, 12, "PER", 0.97)],
                             model_version="m", data_field="sentence", meta={"row": 3}, data={"split": "train"})
    assert task["data"] == {"split": "train", "sentence": TEXT}
    (annotation,) = task["annotations"]
    (given,) = annotation["result"]
    assert given["value"] == {"start": 0, "end": 12, "text": "Barack Obama", "labels": ["ORG"]}
    assert "score" not in given
    (predicted,) = task["predictions"][0]["result"]
    assert predicted["value"]["labels"] == ["PER"] and predicted["value"]["score"] == 0.97
    ids = [r["id"] for r in annotation["result"] + task["predictions"][0]["result"]]
    assert len(ids) == len(set(ids))  # Label Studio wants every result id of a task distinct
    assert task["meta"] == {"row": 3}


def test_label_studio_one_prediction_per_strategy():
    task = label_studio_task(TEXT, predictions={"m (first)": REGIONS, "m (max)": REGIONS[:1]})
    assert [p["model_version"] for p in task["predictions"]] == ["m (first)", "m (max)"]
    ids = [r["id"] for p in task["predictions"] for r in p["result"]]
    assert len(ids) == len(set(ids))


def test_label_studio_offsets_are_code_points_like_label_studios_own_emoji_test():
    """Label Studio's frontend test "NER - Emoji - Text": 'test' in this text is 21..25 (code points, as Python)."""
    text = "\U0001F431 Warning: This is a test text"
    start = text.index("test")
    task = label_studio_task(text, predictions=[(start, start + 4, "region", 0.5)])
    value = task["predictions"][0]["result"][0]["value"]
    assert (value["start"], value["end"], value["text"]) == (21, 25, "test")


def test_a_task_without_entities_has_no_score():
    task = label_studio_task(TEXT, predictions=[], model_version="m")
    assert task["predictions"] == [{"model_version": "m", "result": []}]


def test_doccano_and_prodigy_records():
    assert doccano_record(TEXT, REGIONS, meta={"nerkit_index": 0}) == {
        "text": TEXT, "label": [[0, 12, "PER"], [21, 26, "LOC"]], "nerkit_index": 0}
    assert prodigy_task(TEXT, REGIONS, tokens=False) == {
        "text": TEXT, "spans": [{"start": 0, "end": 12, "label": "PER"}, {"start": 21, "end": 26, "label": "LOC"}],
        "meta": {"score": 0.91}}
    assert prodigy_task(TEXT, [(0, 12, "PER")], tokens=False) == {
        "text": TEXT, "spans": [{"start": 0, "end": 12, "label": "PER"}]}


def test_prodigy_tasks_carry_their_own_tokens():
    """Prodigy's token format (text/start/end/id/ws; spans with inclusive token_start/token_end): words cut at
    span edges, so a span inside a hyphenated word still maps onto whole tokens for ner.manual."""
    text = "Set AHU-G1-Ctrl-Md to auto."
    start = text.index("Ctrl")
    task = prodigy_task(text, [(start, start + 4, "PART", 0.8)])
    tokens = task["tokens"]
    assert [t["id"] for t in tokens] == list(range(len(tokens)))
    assert all(text[t["start"]:t["end"]] == t["text"] for t in tokens)
    assert tokens[0] == {"text": "Set", "start": 0, "end": 3, "id": 0, "ws": True}
    (span,) = task["spans"]
    assert tokens[span["token_start"]]["text"] == "Ctrl" and span["token_end"] == span["token_start"]
    assert (span["start"], span["end"], span["label"]) == (start, start + 4, "PART")
    whole = prodigy_task(TEXT, REGIONS)["spans"]
    assert [(s["token_start"], s["token_end"]) for s in whole] == [(0, 1), (3, 3)]
    padded = prodigy_task(" Paris ", [(0, 6, "LOC")])  # an edge in whitespace is no word edge: no tokens then
    assert "tokens" not in padded and padded["spans"] == [{"start": 0, "end": 6, "label": "LOC"}]


@pytest.mark.parametrize("region", [(5, 5, "PER"), (-1, 3, "PER"), (0, 28, "PER"), (0, 3, ""), (0, 3, "PER", 1.5),
                                    (0, 3, "PER", float("nan")), (0, 3)])
def test_regions_a_tool_cannot_import_are_refused(region):
    with pytest.raises(ValueError):
        check_regions(TEXT, [region])


def test_regions_from_pipeline_entities_apply_min_score():
    entities = [{"entity_group": "PER", "score": 0.99, "word": "Barack Obama", "start": 0, "end": 12},
                {"entity_group": "LOC", "score": 0.4, "word": "Paris", "start": 21, "end": 26}]
    assert regions_from_entities(entities) == [(0, 12, "PER", 0.99), (21, 26, "LOC", 0.4)]
    assert regions_from_entities(entities, min_score=0.5) == [(0, 12, "PER", 0.99)]
    with pytest.raises(ValueError, match="token-level"):
        regions_from_entities([{"entity": "B-PER", "score": 0.9, "start": 0, "end": 6}])


def _record(index=0, **extra):
    entities = {"first": [{"entity_group": "PER", "score": 0.99, "start": 0, "end": 12},
                          {"entity_group": "LOC", "score": 0.4, "start": 21, "end": 26}],
                "max": [{"entity_group": "PER", "score": 0.95, "start": 0, "end": 12}]}
    return {"index": index, **extra, "text": TEXT, "entities": entities}


def test_tool_record_per_tool():
    ls = tool_record("label-studio", _record(id="doc-1"), ["first", "max"], "bert-conll", min_score=0.5)
    assert [p["model_version"] for p in ls["predictions"]] == ["bert-conll (first)", "bert-conll (max)"]
    assert len(ls["predictions"][0]["result"]) == 1  # --min-score dropped the 0.4 entity
    assert ls["meta"] == {"nerkit_index": 0, "nerkit_id": "doc-1"}
    single = tool_record("label-studio", _record(), ["first"], "bert-conll")
    assert single["predictions"][0]["model_version"] == "bert-conll"
    assert tool_record("doccano", _record(), ["first"], "m")["label"] == [[0, 12, "PER"], [21, 26, "LOC"]]
    assert tool_record("prodigy", _record(), ["max"], "m")["spans"] == [
        {"start": 0, "end": 12, "token_start": 0, "token_end": 1, "label": "PER"}]
    with pytest.raises(ValueError, match="one set of spans"):
        tool_record("doccano", _record(), ["first", "max"], "m")


@pytest.mark.parametrize("tool", ["label-studio", "doccano", "prodigy"])
def test_write_tool_file_is_what_the_tool_parses(tmp_path, tool):
    path = tmp_path / "out"
    count = write_tool_file(tool, [_record(0), _record(1)], path, strategies=["first"], model_version="m")
    assert count == 2 and not (tmp_path / "out.partial").exists()
    text = path.read_text(encoding="utf-8")
    if tool == "label-studio":
        tasks = json.loads(text)  # one JSON list, as Label Studio's import expects
        assert [t["meta"]["nerkit_index"] for t in tasks] == [0, 1]
    else:
        rows = [json.loads(line) for line in text.splitlines()]
        assert [r["text"] for r in rows] == [TEXT, TEXT]


def test_write_tool_file_leaves_nothing_on_failure(tmp_path):
    path = tmp_path / "out.json"
    bad = {"index": 0, "text": "ab", "entities": {"first": [{"entity_group": "PER", "score": 0.9, "start": 0, "end": 9}]}}
    with pytest.raises(ValueError):
        write_tool_file("label-studio", [_record(0), bad], path, strategies=["first"], model_version="m")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_corpus_is_an_empty_list(tmp_path):
    path = tmp_path / "out.json"
    write_tool_file("label-studio", [], path, strategies=["first"], model_version="m")
    assert json.loads(path.read_text()) == []


def test_doccano_offsets_are_utf16_units_as_its_editor_counts_them():
    """doccano#2290: in "👨🏻‍🚒 firemen drive firetrucks" doccano has "firetrucks" at 22..32, Python at 19..29."""
    text = "\U0001F468\U0001F3FB\u200D\U0001F692 firemen drive firetrucks"
    start = text.index("firetrucks")
    assert (start, start + 10) == (19, 29)
    assert doccano_record(text, [(start, start + 10, "VEHICLE")])["label"] == [[22, 32, "VEHICLE"]]
    assert doccano_record("Zoë in 東京", [(7, 9, "LOC")])["label"] == [[7, 9, "LOC"]]  # BMP only: the same numbers
