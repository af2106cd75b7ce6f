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
    from toolkit.audit.exports import regions

    raw = load_raw_splits("label-studio", data_files={"test": str(path)})
    split = raw.splits["test"]
    # the reader tokenizes the text itself (punctuation apart), so the texts and character spans are what
    # round-trip exactly; on these words, the tokens and tags too
    assert list(split.texts) == [" ".join(row.tokens) for row in rows]
    assert [[tuple(span) for span in spans] for spans in split.spans] == [regions(r.tokens, r.given) for r in rows]
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


def test_word_probabilities_come_from_the_first_sub_token(tmp_path):
    """"Widodo" is W ##i ##d ##o ##d ##o: its row is the softmax at "W", whatever the other pieces say."""
    import numpy as np
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from tiny_models import CONLL_LABELS
    from toolkit.audit.probabilities import label_projection, word_probabilities

    folder = build_rigged_bert(tmp_path / "m", {"W": {"B-LOC": 1}, "##i": {"B-PER": 1}, "##d": {"B-PER": 1},
                                                "##o": {"B-PER": 1}})
    model = AutoModelForTokenClassification.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.tokenize("Widodo")[:2] == ["W", "##i"]
    projection = label_projection(CONLL_LABELS, CONLL_LABELS)
    (row,) = word_probabilities(model, tokenizer, [["Widodo"]], projection, progress=False).rows
    assert row.shape == (1, len(CONLL_LABELS)) and CONLL_LABELS[int(np.argmax(row[0]))] == "B-LOC"
    np.testing.assert_allclose(row.sum(axis=1), 1.0, rtol=1e-6)
    # a model with the labels in another order is read in the dataset's order
    shuffled = CONLL_LABELS[::-1]
    assert label_projection(shuffled, CONLL_LABELS)[0, CONLL_LABELS.index(shuffled[0])] == 1.0


def test_a_calibrated_run_is_audited_with_its_calibrated_probabilities(rigged, noisy, tmp_path, capsys):
    """`nerkit calibrate` divides T into the classifier: the audit reads the weights as they are and says so."""
    import shutil

    import torch
    from transformers import AutoModelForTokenClassification

    from toolkit.audit import read_audit

    run = tmp_path / "calibrated"
    shutil.copytree(rigged, run)
    model = AutoModelForTokenClassification.from_pretrained(run)
    calibration = json.loads((Path(__file__).parent / "data" / "run_fixture" / "calibration.json").read_text())
    with torch.no_grad():  # what `nerkit calibrate` does to the weights
        model.classifier.weight.div_(calibration["temperature"])
        model.classifier.bias.div_(calibration["temperature"])
    model.save_pretrained(run)
    (run / "calibration.json").write_text(json.dumps(calibration))
    assert audit("--model", str(run), "--dataset", str(noisy), "--split", "validation",
                 "--output-dir", str(tmp_path / "a")) == 0
    assert f"temperature {calibration['temperature']:.3f} baked in" in capsys.readouterr().out
    assert audit("--model", str(rigged), "--dataset", str(noisy), "--split", "validation",
                 "--output-dir", str(tmp_path / "b")) == 0
    softer = {r.sentence_index: r.issues[0]["probability"] for r in read_audit(tmp_path / "a")}
    sharper = {r.sentence_index: r.issues[0]["probability"] for r in read_audit(tmp_path / "b")}
    assert softer.keys() <= sharper.keys() and all(softer[i] < sharper[i] for i in softer)


# --- cross-validation -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> Path:
    """A train split of 6 documents (-DOCSTART-), 30 sentences, and a small validation split."""
    folder = tmp_path_factory.mktemp("documents")
    write_conll(folder / "train.txt", [(w, tags_of(w)) for w in sentences(30, seed=2)], documents=6)
    write_conll(folder / "validation.txt", [(w, tags_of(w)) for w in sentences(6, seed=3)])
    return folder


def cv_args(model: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return ["--model", str(model), "--dataset", str(data), "--split", "train", "--output-dir", str(out),
            "--epochs", "1", "--batch-size", "8", "--learning-rate", "5e-4", "--seed", "3", *extra]


def test_folds_keep_documents_whole(documents):
    from toolkit.audit.crossval import fold_groups
    from toolkit.audit.folds import assign_folds
    from toolkit.data import load_raw_splits
    from toolkit.labels import prepare_labels

    dataset = prepare_labels(load_raw_splits(str(documents))).splits["train"]
    groups, marked = fold_groups(dataset)
    assert marked and len(set(groups)) == 6
    for k in (2, 3, 6):
        folds = assign_folds(groups, k, seed=1)
        assert set(folds) == set(range(k))
        for group in set(groups):  # every document lies in one fold
            assert len({f for f, g in zip(folds, groups) if g == group}) == 1
        sizes = [folds.count(f) for f in range(k)]
        assert max(sizes) - min(sizes) <= 5  # balanced to within one document
    assert assign_folds(groups, 3, seed=1) == assign_folds(groups, 3, seed=1)
    # without documents each sentence is its own group
    lone = assign_folds(list(range(10)), 3, seed=0)
    assert sorted(lone.count(f) for f in range(3)) == [3, 3, 4]


@pytest.mark.slow  # six tiny trainings: about a minute, several on a loaded machine
def test_interrupted_cross_validation_resumes_with_the_same_result(tiny_bert, documents, tmp_path, monkeypatch,
                                                                   capsys):
    import numpy as np

    import toolkit.training
    from toolkit.audit import read_audit

    whole = tmp_path / "whole"
    assert audit(*cv_args(tiny_bert, documents, whole, "--folds", "3")) == 0
    assert sorted(p.name for p in (whole / "audit_folds").iterdir()) == ["fold_0.npz", "fold_1.npz", "fold_2.npz"]
    rows = read_audit(whole)
    assert all(row.fold in (0, 1, 2) for row in rows)

    calls = []
    real_train = toolkit.training.train

    def interrupted(config, data, **kwargs):
        calls.append(config.output_dir)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_train(config, data, **kwargs)

    monkeypatch.setattr(toolkit.training, "train", interrupted)
    resumed = tmp_path / "resumed"
    assert audit(*cv_args(tiny_bert, documents, resumed, "--folds", "3")) == 130
    assert not (resumed / "audit.jsonl").exists()
    assert sorted(p.name for p in (resumed / "audit_folds").glob("*.npz")) == ["fold_0.npz", "fold_1.npz"]
    capsys.readouterr()
    calls.clear()
    assert audit(*cv_args(tiny_bert, documents, resumed, "--folds", "3")) == 0
    assert len(calls) == 1 and calls[0].endswith("fold_2_model")  # only the unfinished fold trains again
    out = capsys.readouterr().out
    assert "fold 1/3: kept" in out and "fold 2/3: kept" in out and "fold 3/3: training" in out
    assert (resumed / "audit.jsonl").read_text() == (whole / "audit.jsonl").read_text()
    for fold in range(3):
        with np.load(whole / "audit_folds" / f"fold_{fold}.npz") as a, \
                np.load(resumed / "audit_folds" / f"fold_{fold}.npz") as b:
            assert a["indices"].tolist() == b["indices"].tolist()
            np.testing.assert_allclose(a["probabilities"], b["probabilities"], rtol=1e-6, atol=1e-7)
    # other flags: the kept folds are not reused
    calls.clear()
    monkeypatch.setattr(toolkit.training, "train", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    assert audit(*cv_args(tiny_bert, documents, resumed, "--folds", "3", "--learning-rate", "1e-4")) == 130


# --- bad input: one line, exit 2, nothing written -----------------------------------------------------


def fails(capsys, args: list[str], out: Path, expected: str) -> None:
    capsys.readouterr()
    assert audit(*args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nerkit audit: error:") and "\n" not in err, err
    assert expected in err, err
    assert not out.exists() or not any(out.iterdir())


def test_a_split_the_model_was_trained_on_is_refused(rigged, noisy, tmp_path, capsys):
    import hashlib
    import shutil

    run = tmp_path / "run"
    shutil.copytree(rigged, run)
    digest = hashlib.sha256((noisy / "train.txt").read_bytes()).hexdigest()
    (run / "training_args.json").write_text(json.dumps({"config": {"train_split": "train"}}))
    (run / "data_info.json").write_text(json.dumps(
        {"source": {"kind": "conll", "name": "noisy", "files": {"train": {"path": "train.txt", "sha256": digest}}}}))
    out = tmp_path / "out"
    fails(capsys, ["--model", str(run), "--dataset", str(noisy), "--split", "train", "--output-dir", str(out)], out,
          "was trained on this 'train' split")
    assert not (run / "audit.jsonl").exists()
    assert audit("--model", str(run), "--dataset", str(noisy), "--split", "validation", "--output-dir", str(out)) == 0


def test_bad_fold_counts_are_refused(tiny_bert, documents, tmp_path, capsys):
    out = tmp_path / "out"
    fails(capsys, cv_args(tiny_bert, documents, out, "--folds", "1"), out, "--folds must be at least 2")
    fails(capsys, cv_args(tiny_bert, documents, out, "--folds", "7"), out, "more than the split's 6 documents")


def test_labels_without_entities_are_refused(rigged, tmp_path, capsys):
    data = Path(__file__).parent / "data" / "tiny_conll"
    out = tmp_path / "out"
    fails(capsys, ["--model", str(rigged), "--dataset", str(data), "--split", "validation", "--label-column",
                   "pos_tags", "--output-dir", str(out)], out, "no entity labels")


def test_an_unknown_label_quality_is_refused_before_the_model_is_read(noisy, tmp_path):
    from nercore.errors import UserError
    from toolkit.audit import audit_model
    from toolkit.commands._data_args import load_raw_and_data
    from toolkit.cli import build_parser

    cli = build_parser().parse_args(["audit", "--model", "x", "--dataset", str(noisy), "--split", "validation"])
    _, data = load_raw_and_data(cli)
    with pytest.raises(UserError, match="unknown label quality 'margin': choose one of class-adjusted, self-confidence"):
        audit_model(str(tmp_path / "no-such-model"), data, "validation", output_dir=tmp_path, quality="margin")
    assert not list(tmp_path.iterdir())


def test_missing_cleanlab_says_how_to_install_it(rigged, noisy, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cleanlab.token_classification", None)
    out = tmp_path / "out"
    fails(capsys, ["--model", str(rigged), "--dataset", str(noisy), "--split", "validation", "--output-dir",
                   str(out)], out, "pip install 'nerkit[audit]'")


def test_noise_bench_held_out_mode_runs_as_documented(rigged, tmp_path):
    """`python bench/audit_noise.py --trained RUN` (docs/audit.md), on a clean split and the rigged model:
    the planted flips are found and ranked first, and both label qualities are printed side by side."""
    import subprocess
    import sys

    from conftest import REPO_ROOT

    conll = tmp_path / "conll"
    write_conll(conll / "test.txt", [(words, tags_of(words)) for words in sentences(200, seed=3)], documents=4)
    run = subprocess.run([sys.executable, "bench/audit_noise.py", "--trained", str(rigged), "--conll", str(conll),
                          "--noise", "0.1", "--work-dir", str(tmp_path / "work"), "--no-record"],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    planted = next(line for line in lines if line.startswith("planted "))
    assert " test sentences (10% of entities, seed 13); audited by " in planted
    recall = next(line for line in lines if line.startswith("word recall"))
    assert float(recall.split()[2]) >= 0.9  # the rigged model is sure of every word
    rows = {line.split()[0]: line.split() for line in lines if line.startswith(("class-adjusted", "self-confidence"))}
    assert rows["class-adjusted"][1] == "(default)" and set(rows) == {"class-adjusted", "self-confidence"}
    noisy = int(planted.split(" in ")[1].split()[0])  # "planted W flipped words in N of M test sentences"
    assert float(rows["class-adjusted"][2]) >= 0.9 * min(noisy, 100) / 100  # precision@100: planted ones first
    results = REPO_ROOT / "bench" / "results" / "audit_noise_test.json"
    assert results.stat().st_mtime < (conll / "test.txt").stat().st_mtime  # --no-record: left as it was
