"""`nerkit train` on annotation-tool exports, through the real CLI with a tiny model."""

from __future__ import annotations

import json

import pytest

from conftest import TESTS_DIR
from test_span_alignment import long_document, write_ls_folder
from toolkit.cli import main

TINY_CONLL = TESTS_DIR / "data" / "tiny_conll"


def train(model, data, out, *extra):
    return main(["train", "--model", str(model), "--dataset", str(data), "--output-dir", str(out), "--epochs", "1",
                 "--batch-size", "8", "--learning-rate", "5e-4", "--seed", "1", *extra])


def test_conll_and_label_studio_train_to_the_same_f1(tiny_bert, tmp_path):
    ls = write_ls_folder(tmp_path / "ls", TINY_CONLL)
    assert train(tiny_bert, TINY_CONLL, tmp_path / "conll-run") == 0
    assert train(tiny_bert, ls, tmp_path / "ls-run") == 0
    logs = [json.loads((tmp_path / run / "training_log.json").read_text()) for run in ("conll-run", "ls-run")]
    assert [row["eval_f1"] for row in logs[0]["epochs"]] == [row["eval_f1"] for row in logs[1]["epochs"]]
    info = json.loads((tmp_path / "ls-run" / "data_info.json").read_text())
    assert info["source"]["kind"] == "label-studio" and info["span_alignment"]["train"]["counts"]["records"] == 40
    run = tmp_path / "ls-run"
    assert main(["evaluate", "--model", str(run), "--dataset", str(ls), "--split", "test"]) == 0
    assert main(["card", str(run)]) == 0
    card = (tmp_path / "ls-run" / "README.md").read_text()
    assert "character spans from an annotation tool" in card and "| records read | 40 | 12 | 12 |" in card


def test_long_document_trains_in_chunks_with_context(tiny_bert, tmp_path):
    text, spans = long_document()
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "validation"):
        rows = [{"text": text, "label": spans}, {"text": "John Smith visited Paris.", "label": [[0, 10, "PER"]]}]
        (data / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "run"
    assert train(tiny_bert, data, out, "--context-tokens", "16", "--max-length", "96") == 0
    info = json.loads((out / "data_info.json").read_text())
    counts = info["span_alignment"]["train"]["counts"]
    assert counts["chunked_records"] == 1 and info["splits"]["train"]["sentences"] == counts["chunks"] + 1
    assert info["splits"]["train"]["documents"] == 2
    assert json.loads((out / "config.json").read_text())["document_context"]["tokens_per_side"] == 16


@pytest.mark.parametrize("row, extra, message", [
    ({"text": "Ann in Oslo", "label": [[7, 3, "LOC"]]}, [], "train.jsonl line 1 label[0]: span start 7, end 3: end must not be before start"),
    ({"text": "Ann in Oslo", "label": [[7, 30, "LOC"]]}, [], "train.jsonl line 1 label[0]: span 7-30 (LOC) ends past the text, which has 11 characters"),
    ({"text": "Ann in Oslo", "label": [[7, 11, "CITY"]]}, ["--labels", "LABELS"], "train.jsonl line 1 label[0]: label 'CITY' is not in the label list given with --labels (LOC, PER)"),
    ({"content": "Ann in Oslo", "label": [[7, 11, "LOC"]]}, [], "train.jsonl line 1: no text field 'text'"),
])
def test_malformed_record_is_one_line_exit_2_nothing_written(tiny_bert, tmp_path, capsys, row, extra, message):
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"text": "Oslo", "label": [[0, 4, "LOC"]]}) + "\n" + json.dumps(row) + "\n")
    data.write_text(json.dumps(row) + "\n")
    labels = tmp_path / "labels.txt"
    labels.write_text("PER\nLOC\n")
    extra = [str(labels) if value == "LABELS" else value for value in extra]
    out = tmp_path / "run"
    assert train(tiny_bert, data, out, *extra) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_label_studio_error_names_the_task(tiny_bert, tmp_path, capsys):
    tasks = [{"id": 17, "data": {"image": "x.png"}, "annotations": []}]
    (tmp_path / "train.json").write_text(json.dumps(tasks))
    assert train(tiny_bert, tmp_path / "train.json", tmp_path / "run") == 2
    assert "train.json task 17: no text field in 'data' (it has: image)" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_bare_types_as_labels_for_span_data(tiny_bert, tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"text": "Ann in Oslo", "label": [[7, 11, "LOC"]]}) + "\n")
    labels = tmp_path / "labels.txt"
    labels.write_text("PER\nLOC\n")
    out = tmp_path / "run"
    assert train(tiny_bert, data, out, "--labels", str(labels), "--eval-split", "train") == 0
    assert json.loads((out / "labels.json").read_text())["labels"] == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
