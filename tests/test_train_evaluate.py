"""End to end through the CLI: `nerkit train` then `nerkit evaluate` on tiny models and data."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, TESTS_DIR
from tiny_models import build_tiny_model
from nercore import runfolder
from toolkit.cli import main

TINY_CONLL = TESTS_DIR / "data" / "tiny_conll"


def train_args(model, out, *extra):
    return [
        "train", "--model", str(model), "--dataset", str(TINY_CONLL), "--output-dir", str(out),
        "--epochs", "2", "--batch-size", "8", "--learning-rate", "5e-4", "--seed", "1", *extra,
    ]


@pytest.fixture(scope="module")
def trained(tiny_bert, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "tiny-ner"
    assert main(train_args(tiny_bert, out)) == 0
    return out


def test_train_writes_the_run_folder(trained):
    for name in (runfolder.LABELS, runfolder.DATA_INFO, runfolder.TRAINING_ARGS, runfolder.TRAINING_LOG, runfolder.RUN_INFO,
                 "config.json", "model.safetensors", "tokenizer.json"):
        assert (trained / name).is_file(), name
    assert not (trained / runfolder.CHECKPOINTS).exists(), "checkpoints are removed after a finished run"
    config = json.loads((trained / "config.json").read_text())
    assert config["id2label"]["1"] == "B-PER" and config["label2id"]["I-MISC"] == 8
    labels = json.loads((trained / runfolder.LABELS).read_text())
    assert labels["labels"][0] == "O" and labels["scheme"] == "IOB2"
    log = json.loads((trained / runfolder.TRAINING_LOG).read_text())
    assert [round(row["epoch"]) for row in log["epochs"]] == [1, 2]
    assert sum(row["best"] for row in log["epochs"]) == 1
    assert {"eval_f1", "eval_precision", "eval_recall", "eval_accuracy", "eval_loss"} <= set(log["epochs"][0])
    args = json.loads((trained / runfolder.TRAINING_ARGS).read_text())
    assert args["config"]["learning_rate"] == 5e-4 and args["trainer"]["seed"] == 1
    run = json.loads((trained / runfolder.RUN_INFO).read_text())
    assert run["seed"] == 1 and run["hardware"]["device"] == "cpu" and "transformers" in run["versions"]
    info = json.loads((trained / runfolder.DATA_INFO).read_text())
    assert info["splits"]["train"]["sentences"] == 40


def test_trained_model_predicts_label_names(trained):
    from transformers import pipeline

    tagger = pipeline("token-classification", model=str(trained))
    entities = tagger("John Smith visited London .")
    assert entities, "the tiny model should predict something"
    assert all(not e["entity"].startswith("LABEL_") for e in entities)


def test_evaluate_writes_results(trained, tmp_path, capsys):
    out = tmp_path / "eval"
    code = main(["evaluate", "--model", str(trained), "--dataset", str(TINY_CONLL), "--split", "test", "--output-dir", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "micro avg" in printed and "strict IOB2" in printed
    results = json.loads((out / runfolder.EVAL_RESULTS).read_text())
    assert results["schema_version"] == 1 and results["split"] == "test" and results["task"] == "entities"
    assert results["num_sentences"] == 12
    assert set(results["modes"]["default"]["per_type"]) <= {"LOC", "MISC", "ORG", "PER"}
    assert set(results["overall"]) == {"precision", "recall", "f1", "accuracy"}
    predictions = (out / "predictions_test.conll").read_text().split("\n\n")
    assert len([block for block in predictions if block.strip()]) == 12
    assert len(predictions[0].splitlines()[0].split()) == 3
    errors = (out / "errors_test.txt").read_text()
    assert errors.startswith("# Errors on the test split: ") and "### boundary:" in errors and "## Hardest sentences first" in errors
    analysis = results["error_analysis"]  # nervaluate's schemas, type confusion, error kinds
    assert set(analysis) == {"schemas", "confusion", "breakdown"}
    assert set(analysis["schemas"]["overall"]) == {"strict", "exact", "partial", "ent_type"}
    strict, micro = analysis["schemas"]["overall"]["strict"], results["modes"]["default"]["micro avg"]
    assert strict["possible"] == micro["support"] and strict["f1"] == pytest.approx(micro["f1"])
    assert analysis["breakdown"]["overall"]["correct"] == strict["correct"]
    assert "error analysis (details and examples in errors_test.txt)" in printed


def test_output_dir_is_not_overwritten_by_accident(trained, capsys):
    before = (trained / "model.safetensors").stat().st_mtime_ns
    assert main(train_args(trained, trained)) == 2
    err = capsys.readouterr().err
    assert "already holds a trained model" in err and "--overwrite" in err and "Traceback" not in err
    assert (trained / "model.safetensors").stat().st_mtime_ns == before


def test_bad_hyperparameter_writes_nothing(tiny_bert, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(train_args(tiny_bert, out, "--warmup-ratio", "1.5")) == 2
    assert "warm-up ratio must be in [0, 1)" in capsys.readouterr().err
    assert not out.exists()


def test_missing_split_writes_nothing(tiny_bert, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(train_args(tiny_bert, out, "--eval-split", "dev")) == 2
    assert "no 'dev' split" in capsys.readouterr().err
    assert not out.exists()


def test_truncated_words_are_scored_as_O(trained, tmp_path):
    """A sentence longer than max_length: its cut words count as predicted O, never vanish."""
    long_dir = tmp_path / "long"
    long_dir.mkdir()
    words = ["John", "Smith", "visited", "London", "."] * 8  # 40 words, 8 PER + 8 LOC entities
    tags = ["B-PER", "I-PER", "O", "B-LOC", "O"] * 8
    (long_dir / "test.txt").write_text("\n".join(f"{w} {t}" for w, t in zip(words, tags)))
    out = tmp_path / "eval"
    assert main(["evaluate", "--model", str(trained), "--dataset", str(long_dir), "--split", "test",
                 "--output-dir", str(out), "--max-length", "16"]) == 0
    results = json.loads((out / runfolder.EVAL_RESULTS).read_text())
    assert results["truncated_words"] > 0
    predicted = [line.split() for line in (out / "predictions_test.conll").read_text().splitlines() if line]
    assert len(predicted) == 40, "every word appears in the predictions file"
    assert all(p == "O" for _, _, p in predicted[-results["truncated_words"]:])
    # every gold entity stays in the denominator
    assert results["modes"]["default"]["micro avg"]["support"] == 16


def test_evaluate_maps_label_names(tmp_path):
    """A model trained elsewhere with other type names needs --label-map; without it, a clear error."""
    labels = ["O", "B-PERSON", "I-PERSON", "B-GPE", "I-GPE"]
    model = build_tiny_model(tmp_path / "other", labels=labels)
    cmd = [sys.executable, "-m", "toolkit.cli", "evaluate", "--model", str(model), "--dataset", str(TINY_CONLL),
           "--split", "test", "--output-dir", str(tmp_path / "eval")]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    failed = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert failed.returncode == 2
    assert "GPE, PERSON" in failed.stderr and "--label-map" in failed.stderr and "Traceback" not in failed.stderr
    assert not (tmp_path / "eval").exists()
    mapped = subprocess.run([*cmd, "--label-map", "PERSON=PER,GPE=LOC"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert mapped.returncode == 0, mapped.stderr
    results = json.loads((tmp_path / "eval" / runfolder.EVAL_RESULTS).read_text())
    assert set(results["modes"]["default"]["per_type"]) <= {"LOC", "MISC", "ORG", "PER"}


def test_generic_label_names_are_refused(tmp_path, capsys):
    model = build_tiny_model(tmp_path / "generic", labels=[f"LABEL_{i}" for i in range(9)])
    assert main(["evaluate", "--model", str(model), "--dataset", str(TINY_CONLL), "--split", "test",
                 "--output-dir", str(tmp_path / "eval")]) == 2
    assert "id2label" in capsys.readouterr().err


def test_pos_tags_train_and_evaluate(tiny_bert, tmp_path):
    out = tmp_path / "pos"
    assert main(train_args(tiny_bert, out, "--label-column", "pos_tags", "--epochs", "1")) == 0
    assert main(["evaluate", "--model", str(out), "--dataset", str(TINY_CONLL), "--label-column", "pos_tags"]) == 0
    results = json.loads((out / runfolder.EVAL_RESULTS).read_text())
    assert results["task"] == "tags" and "NNP" in results["per_tag"]


def test_label_all_subtokens_and_resume(tiny_bert, tmp_path):
    out = tmp_path / "all"
    assert main(train_args(tiny_bert, out, "--label-all-subtokens", "--epochs", "1", "--keep-checkpoints")) == 0
    assert json.loads((out / runfolder.TRAINING_ARGS).read_text())["config"]["label_strategy"] == "all"
    assert any((out / runfolder.CHECKPOINTS).glob("checkpoint-*"))
    # resuming a finished 1-epoch run into 2 epochs continues from the checkpoint
    assert main(train_args(tiny_bert, out, "--epochs", "2", "--resume")) == 0
    log = json.loads((out / runfolder.TRAINING_LOG).read_text())
    assert round(log["epochs"][-1]["epoch"]) == 2


def test_training_from_a_half_precision_checkpoint_uses_float32_weights(trained, tmp_path, monkeypatch):
    """A model saved with --save-dtype float16 fine-tuned again: the master weights must be float32
    (transformers 5 loads the stored dtype by default, and Adam steps on float16 weights underflow)."""
    import torch
    from transformers import AutoModelForTokenClassification, Trainer

    half = tmp_path / "half"
    assert main(train_args(trained, half, "--epochs", "1", "--save-dtype", "float16")) == 0
    assert json.loads((half / "config.json").read_text())["dtype"] == "float16"
    seen = {}
    original = Trainer.train

    def record(self, *args, **kwargs):
        seen["dtypes"] = {p.dtype for p in self.model.parameters()}
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "train", record)
    assert main(train_args(half, tmp_path / "again", "--epochs", "1")) == 0
    assert seen["dtypes"] == {torch.float32}
    again = AutoModelForTokenClassification.from_pretrained(str(tmp_path / "again"))
    assert {p.dtype for p in again.parameters()} == {torch.float32}


def test_retraining_drops_what_described_the_old_weights(trained, tiny_bert, tmp_path, caplog):
    """An --overwrite run must not leave the old model's results, card or ONNX files beside the new weights
    (`nerkit card`/`push` would publish them as the new model's)."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained, run)
    assert main(["evaluate", "--model", str(run), "--dataset", str(TINY_CONLL), "--split", "test"]) == 0
    (run / "onnx").mkdir()
    (run / "onnx" / "model_quantized.onnx").write_bytes(b"old weights")
    (run / "README.md").write_text("old card")
    (run / "eval_results.onnx-int8.json").write_text("{}")
    (run / "notes.txt").write_text("the user's own file")
    old = {p.name for p in run.iterdir()}
    assert {"eval_results.json", "predictions_test.conll"} <= old
    # a run that fails before training touches nothing
    assert main(train_args(tiny_bert, run, "--overwrite", "--train-split", "nope")) == 2
    assert {p.name for p in run.iterdir()} == old
    assert main(train_args(tiny_bert, run, "--overwrite", "--epochs", "1")) == 0
    left = {p.name for p in run.iterdir()}
    assert not {"eval_results.json", "eval_results.onnx-int8.json", "predictions_test.conll", "README.md", "onnx"} & left
    assert {"notes.txt", "config.json", "model.safetensors", runfolder.LABELS} <= left
    assert "described the previous weights" in caplog.text


@pytest.mark.slow
def test_torchrun_two_cpu_processes(tiny_bert, tmp_path):
    """DDP on CPU (gloo): both ranks train, only rank 0 writes the folder."""
    out = tmp_path / "ddp"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "toolkit.cli",
         *train_args(tiny_bert, out, "--epochs", "1")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "model.safetensors").is_file()
    run = json.loads((out / runfolder.RUN_INFO).read_text())
    assert run["hardware"]["num_processes"] == 2
    assert proc.stdout.count("model and reports written to") == 1, "only rank 0 reports"


def test_results_are_written_as_one_set(tmp_path, monkeypatch):
    """If any result file cannot be produced, none is written and no *.tmp is left behind."""
    from toolkit.evaluate import report
    from nercore.runfolder import EvalResults, Overall

    results = EvalResults(split="test", task="tags", overall=Overall(1.0, 1.0, 1.0, 1.0), num_sentences=1)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "error_examples", broken)
    with pytest.raises(RuntimeError):
        report.write_results(tmp_path, "test", results, [["a"]], [["O"]], [["O"]])
    assert list(tmp_path.iterdir()) == []

    monkeypatch.undo()
    report.write_results(tmp_path, "test", results, [["a"]], [["O"]], [["O"]])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["errors_test.txt", "eval_results.json", "predictions_test.conll"]
