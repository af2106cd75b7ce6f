"""The bundled default model in ./model: complete, free of training data, and true to its card."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO_ROOT
from tiny_models import CONLL_LABELS

MODEL = REPO_ROOT / "model"


def card_metadata() -> dict:
    from huggingface_hub import metadata_load

    return metadata_load(MODEL / "README.md")


def test_folder_is_complete_and_small():
    config = json.loads((MODEL / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(9)] == CONLL_LABELS
    assert config["architectures"] == ["BertForTokenClassification"]
    weights = MODEL / "model.safetensors"
    assert weights.stat().st_size < 50 * 2**20, "the bundled weights should stay under ~50 MB"
    for name in ("tokenizer.json", "tokenizer_config.json", "eval_results.json", "README.md", "training_log.json"):
        assert (MODEL / name).is_file(), name


def test_no_conll_text_is_committed():
    """Predictions and error lists quote the test set: research-only data stays out of the repo."""
    assert not list(MODEL.glob("predictions_*")) and not list(MODEL.glob("errors_*"))
    widget = card_metadata().get("widget") or []
    assert widget, "the card has widget examples"
    # the widget sentences are our own (`nerkit card --widget-text`), not CoNLL-2003 sentences
    assert all(example["example_title"].startswith("Example") for example in widget)


def test_card_numbers_are_the_evaluation_numbers():
    from huggingface_hub.repocard_data import model_index_to_eval_results

    results = json.loads((MODEL / "eval_results.json").read_text())
    _name, evals = model_index_to_eval_results(card_metadata()["model-index"])
    overall = {e.metric_type: e.metric_value for e in evals if e.metric_config is None}
    assert overall["f1"] == results["overall"]["f1"]
    per_type = {e.metric_config: e.metric_value for e in evals if e.metric_type == "f1" and e.metric_config}
    assert per_type == {t: v["f1"] for t, v in results["modes"]["default"]["per_type"].items()}
    from nercore.strategies import STRATEGY_NAMES

    assert set(results["strategies"]["results"]) == set(STRATEGY_NAMES)
    assert results["confidence_intervals"]["resamples"] == 1000


@pytest.mark.slow
def test_fresh_test_split_evaluation_matches_the_card(conll2003_dir, tmp_path):
    from toolkit.data import load_raw_splits
    from toolkit.evaluate import evaluate_model
    from toolkit.labels import prepare_labels

    data = prepare_labels(load_raw_splits(str(conll2003_dir)))
    fresh = evaluate_model(str(MODEL), data, "test", output_dir=tmp_path, progress=False)
    carded = json.loads((MODEL / "eval_results.json").read_text())
    assert fresh.num_sentences == 3453
    assert abs(fresh.overall.f1 - carded["overall"]["f1"]) <= 0.005, (fresh.overall, carded["overall"])


@pytest.mark.slow
def test_run_command_serves_the_bundled_model():
    """`python app.py` on a fresh process answers /compare with PER, ORG and LOC for every strategy."""
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "cold_start.py"), "--json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    from nercore.strategies import STRATEGY_NAMES

    assert report["model"].startswith("bundled: ") and str(REPO_ROOT) not in report["model"], "a display name, no server path"
    assert set(report["entities"]) == set(STRATEGY_NAMES)
    for strategy, entities in report["entities"].items():
        types = {label.split("-")[-1] for label, _text in entities}
        assert {"PER", "ORG", "LOC"} <= types, (strategy, entities)
