"""`nerkit audit`: a rigged model and planted label errors, ranked through the real cleanlab calls.

The rigged BERT (tests/tiny_models.rig_weights) predicts each known word's label with ~0.99
probability, so it is a model that is right about every word; the dataset is built from the same
words with a few labels deliberately wrong (a type swap, a dropped entity, a shifted boundary, a
spurious entity). Those sentences must be the suspects, ranked first, each with its kind.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from conftest import require
from tiny_models import build_rigged_bert, build_tiny_model
from toolkit.cli import main

require("cleanlab")

TABLE = {"Peter": {"B-PER": 1}, "John": {"B-PER": 1}, "Smith": {"I-PER": 1}, "Paris": {"B-LOC": 1},
         "London": {"B-LOC": 1}, "Japan": {"B-LOC": 1}, "Reuters": {"B-ORG": 1}, "German": {"B-MISC": 1}}
GOLD = {"Peter": "B-PER", "John": "B-PER", "Smith": "I-PER", "Paris": "B-LOC", "London": "B-LOC", "Japan": "B-LOC",
        "Reuters": "B-ORG", "German": "B-MISC"}
TEMPLATES = [["{per}", "visited", "{loc}", "."], ["{org}", "said", "{per}", "was", "in", "{loc}", "."],
             ["the", "{misc}", "company", "is", "in", "{loc}", "."], ["John", "Smith", "visited", "{loc}", "."]]
# sentence index -> (word index, wrong label, kind the audit must name)
PLANTED = {4: (2, "B-ORG", "wrong type"), 10: (5, "O", "missed entity"), 15: (1, "O", "boundary"),
           21: (1, "B-PER", "spurious entity")}


def sentences(count: int = 40, seed: int = 0) -> list[list[str]]:
    rng = random.Random(seed)
    fills = {"per": ["Peter", "John"], "loc": ["Paris", "London", "Japan"], "org": ["Reuters"], "misc": ["German"]}
    out = []
    for index in range(count):
        template = TEMPLATES[index % len(TEMPLATES)]
        out.append([w.format(**{k: rng.choice(v) for k, v in fills.items()}) if "{" in w else w for w in template])
    return out


def tags_of(words: list[str]) -> list[str]:
    return [GOLD.get(w, "O") for w in words]


def write_conll(path: Path, rows: list[tuple[list[str], list[str]]], documents: int = 0) -> Path:
    """CoNLL file; with `documents`, a -DOCSTART- line every len(rows)/documents sentences."""
    per_doc = len(rows) // documents if documents else None
    lines = []
    for index, (words, tags) in enumerate(rows):
        if per_doc and index % per_doc == 0:
            lines += ["-DOCSTART- -X- -X- O", ""]
        lines += [f"{w} NN O {t}" for w, t in zip(words, tags)] + [""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def rigged(tmp_path_factory) -> Path:
    import torch
    from transformers import AutoModelForTokenClassification

    directory = build_rigged_bert(tmp_path_factory.mktemp("rigged"), TABLE)
    model = AutoModelForTokenClassification.from_pretrained(directory)
    with torch.no_grad():
        model.classifier.weight.mul_(6.0)  # ~0.98 on its label: a confident model
    model.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def noisy(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("noisy")
    rows = []
    for index, words in enumerate(sentences()):
        tags = tags_of(words)
        if index in PLANTED:
            word, wrong, _ = PLANTED[index]
            tags[word] = wrong
        rows.append((words, tags))
    clean = [(words, tags_of(words)) for words in sentences(12, seed=1)]
    write_conll(folder / "train.txt", clean)
    write_conll(folder / "validation.txt", rows)
    write_conll(folder / "test.txt", clean)
    return folder


def audit(*args: str) -> int:
    return main(["audit", *args])


def test_planted_errors_are_ranked_first(rigged, noisy, tmp_path, capsys):
    from toolkit.audit import read_audit

    assert audit("--model", str(rigged), "--dataset", str(noisy), "--split", "validation",
                 "--output-dir", str(tmp_path)) == 0
    rows = read_audit(tmp_path / "audit.jsonl")
    assert {row.sentence_index for row in rows} == set(PLANTED)
    assert [row.rank for row in rows] == list(range(1, len(rows) + 1))
    assert [row.score for row in rows] == sorted(row.score for row in rows)
    for row in rows:
        word, wrong, kind = PLANTED[row.sentence_index]
        (issue,) = row.issues
        assert (issue["word"], issue["given"], issue["kind"]) == (word, wrong, kind)
        assert issue["predicted"] == GOLD.get(row.tokens[word], "O") and issue["probability"] > 0.9
        assert row.split == "validation" and row.file == "validation.txt"
        assert f"[[{row.tokens[word]}]]" in row.marked
    # file lines point at the word itself (CoNLL: one token per line)
    text = (noisy / "validation.txt").read_text().splitlines()
    for row in rows:
        issue = row.issues[0]
        assert text[issue["line"] - 1].split()[0] == issue["token"]
        assert text[row.line - 1].split()[0] == row.tokens[0]
    out = capsys.readouterr().out
    assert "per kind: missed entity 1, spurious entity 1, wrong type 1, boundary 1" in out
    assert "top 4" in out


def test_sentence_index_counts_as_evaluate_counts(rigged, noisy, tmp_path):
    """sentence_index is the row of the split `evaluate` reads (predictions_<split>.conll's order)."""
    from toolkit.audit import read_audit

    assert audit("--model", str(rigged), "--dataset", str(noisy), "--split", "validation",
                 "--output-dir", str(tmp_path)) == 0
    assert main(["evaluate", "--model", str(rigged), "--dataset", str(noisy), "--split", "validation",
                 "--output-dir", str(tmp_path), "--bootstrap", "0"]) == 0
    blocks = (tmp_path / "predictions_validation.conll").read_text().strip().split("\n\n")
    for row in read_audit(tmp_path):
        assert [line.split()[0] for line in blocks[row.sentence_index].splitlines()] == row.tokens


def test_label_studio_tasks_reimport(rigged, noisy, tmp_path):
    from toolkit.audit import read_audit

    assert audit("--model", str(rigged), "--dataset", str(noisy), "--split", "validation",
                 "--output-dir", str(tmp_path), "--to", "label-studio") == 0
    tasks = json.loads((tmp_path / "audit.label-studio.json").read_text())
    rows = read_audit(tmp_path)
    assert len(tasks) == len(rows)
    for task, row in zip(tasks, rows):
        text = task["data"]["text"]
        assert text == " ".join(row.tokens)
        (annotation,) = task["annotations"]
        (prediction,) = task["predictions"]
        given = {(r["value"]["text"], r["value"]["labels"][0]) for r in annotation["result"]}
        predicted = {(r["value"]["text"], r["value"]["labels"][0]) for r in prediction["result"]}
        assert given != predicted  # the suspect differs between the annotation and the prediction
        for result in annotation["result"] + prediction["result"]:
            value = result["value"]
            assert text[value["start"]:value["end"]] == value["text"]
        assert task["meta"]["sentence_index"] == row.sentence_index and task["meta"]["rank"] == row.rank
    _reimport(tmp_path / "audit.label-studio.json", rows)


def _reimport(path: Path, rows) -> None:
    """The task list read back by nerkit's own Label Studio reader (its annotations are the given labels)."""
    try:
        from toolkit.data import load_raw_splits
        from toolkit.data.registry import FORMATS
    except ImportError:  # pragma: no cover
        return
    if "label-studio" not in FORMATS:
        pytest.skip("no Label Studio reader in toolkit/data yet")
    raw = load_raw_splits("label-studio", data_files={"test": str(path)})
    split = raw.splits["test"]
    assert [list(t) for t in split.tokens] == [row.tokens for row in rows]
    assert [list(t) for t in split.tags] == [row.given for row in rows]


@pytest.mark.parametrize("tool", ["doccano", "prodigy"])
def test_other_tools_get_the_given_labels(rigged, noisy, tmp_path, tool):
    assert audit("--model", str(rigged), "--dataset", str(noisy), "--split", "validation",
                 "--output-dir", str(tmp_path), "--to", tool) == 0
    lines = (tmp_path / f"audit.{tool}.jsonl").read_text().splitlines()
    assert len(lines) == len(PLANTED)
    assert all(json.loads(line)["text"] for line in lines)


def test_typed_reader_names_file_line_and_field(rigged, noisy, tmp_path):
    from nercore.errors import UserError
    from toolkit.audit import AuditRow, read_audit

    assert audit("--model", str(rigged), "--dataset", str(noisy), "--split", "validation",
                 "--output-dir", str(tmp_path)) == 0
    rows = read_audit(tmp_path)
    assert all(isinstance(row, AuditRow) for row in rows)
    assert AuditRow.from_json(rows[0].to_json()) == rows[0]
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    broken = json.loads(lines[1])
    broken["issues"][0]["kind"] = "typo"
    (tmp_path / "bad.jsonl").write_text(lines[0] + "\n" + json.dumps(broken) + "\n")
    with pytest.raises(UserError, match=r"bad.jsonl line 2: field issues"):
        read_audit(tmp_path / "bad.jsonl")
