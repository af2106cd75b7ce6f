"""The card of a model evaluated with document context: headline reading named, both readings side by side,
the model-index states the setting."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

from huggingface_hub import metadata_load

from toolkit.card import CardOptions, render_card

FIXTURE = Path(__file__).resolve().parent / "data" / "run_fixture"


def _with_context(tmp_path: Path, headline: str, other_f1: float) -> Path:
    run = Path(shutil.copytree(FIXTURE, tmp_path / "ctx-run"))
    path = run / "eval_results.json"
    results = json.loads(path.read_text())
    other = {key: copy.deepcopy(results[key]) for key in ("schema_version", "split", "num_sentences", "task",
                                                           "overall", "modes", "invalid_sequences")}
    other["overall"]["f1"] = other_f1
    other["modes"]["default"]["micro avg"]["f1"] = other_f1
    results["document_context"] = {"headline": headline, "tokens_per_side": 24,
                                   "trained": {"tokens_per_side": 24, "dropout": 0.3} if headline == "with" else None,
                                   "other": other}
    path.write_text(json.dumps(results, indent=2))
    return run


def test_the_card_shows_both_readings_and_names_the_headline_one(tmp_path):
    run = _with_context(tmp_path, "with", 0.85)
    text = render_card(run, CardOptions(repo_id="alice/ctx")).read_text()
    f1 = json.loads((run / "eval_results.json").read_text())["overall"]["f1"]
    assert "in its document (24 sub-tokens of context per side), it reaches **F1" in text
    section = text.split("### Document context", 1)[1].split("\n### ", 1)[0]
    assert "trained with up to 24 sub-tokens" in section and "context dropout 0.3" in section
    assert f"| **overall (micro)** | {100 * f1:.2f}" in section and "| 85.00" in section
    assert "**Pass whole paragraphs or documents, not single sentences**" in section
    card = metadata_load(run / "README.md")
    dataset = card["model-index"][0]["results"][0]["dataset"]
    assert dataset["args"] == {"document_context": "24 sub-tokens per side"}


def test_a_sentence_model_that_loses_in_context_says_so(tmp_path):
    run = _with_context(tmp_path, "without", 0.80)
    text = render_card(run, CardOptions(repo_id="alice/ctx")).read_text()
    assert "each sentence read alone, it reaches **F1" in text
    assert "trained on lone sentences" in text and "**Pass one sentence at a time**" in text
    assert metadata_load(run / "README.md")["model-index"][0]["results"][0]["dataset"]["args"] == {
        "document_context": "none (sentences alone)"}
