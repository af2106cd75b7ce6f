"""Unit tests of the evaluation, usage and limitations sections, on hand-made contexts."""

from __future__ import annotations

import dataclasses

import pytest

from card_helpers import TAG_RESULTS, make_context, scores
from toolkit.card.sections import limitations, results, usage


def with_strict(data):
    data["modes"]["strict"] = {"per_type": {"PER": scores(0.8, 0.8, 0.8, 6)}, "micro avg": scores(0.7, 0.7, 0.7, 10)}
    data["invalid_sequences"] = 3


def with_intervals(data):
    data["confidence_intervals"] = {
        "level": 0.9, "resamples": 200, "seed": 7,
        "overall": {"f1": [0.7, 0.8]}, "per_type": {"PER": {"f1": [0.8, 0.9]}},
    }


def with_strategies(data):
    data["strategies"] = {"results": {
        "none": scores(0.5, 0.5, 0.5), "simple": scores(0.6, 0.6, 0.6),
        "first": {**scores(0.7, 0.7, 0.7), "per_type": {"PER": scores(0.9, 0.9, 0.9)}},
    }}


def test_context_is_frozen():
    ctx = make_context()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.strategy = "max"  # type: ignore[misc]


def test_summary_names_types_and_scores():
    text = results.summary(make_context())
    assert "tags LOC and PER entities" in text and "**F1 75.00**" in text
    assert " on news" not in text  # neither data_info nor a Hub dataset: nothing to link
    tags = results.summary(make_context(TAG_RESULTS))
    assert "one of 2 tags" in tags and "**accuracy 90.00**" in tags


def test_results_table_with_and_without_intervals():
    plain = results.results_table(make_context())
    assert "| PER | 90.00 | 80.00 | 85.00 | 6 |" in plain and "| **macro avg** |" in plain
    ctx = make_context(edit=with_intervals)
    table = results.results_table(ctx)
    assert "F1 (90% CI)" in table
    assert "| PER | 90.00 | 80.00 | 85.00 (80.00–90.00) | 6 |" in table
    assert "| LOC | 50.00 | 50.00 | 50.00 | 4 |" in table  # no interval for LOC
    assert "| **micro avg** | 80.00 | 70.00 | 75.00 (70.00–80.00) | 10 |" in table


def test_ci_note_and_its_warning():
    ctx = make_context()
    assert results.ci_note(ctx) is None and "confidence_intervals" in ctx.warnings[-1]
    note = results.ci_note(make_context(edit=with_intervals))
    assert note == "90% confidence intervals: percentile bootstrap over sentences (200 resamples of the 10 test sentences, seed 7)."


def test_results_intro_tags_and_truncation():
    ctx = make_context(TAG_RESULTS, edit=lambda d: d.update(truncated_words=5))
    text = results.results_intro(ctx)
    assert "token accuracy **90.00**, macro F1 85.00" in text and "5 words lay beyond" in text


def test_chart_follows_the_png():
    assert results.chart(make_context()) is None
    assert results.chart(make_context(chart_png=b"png")) == "![Per-entity F1 on the test split](per_entity_f1.png)"


def test_modes_section():
    ctx = make_context()
    assert results.modes(ctx) is None and "strict-mode" in ctx.warnings[-1]
    text = results.modes(make_context(edit=with_strict))
    assert "| LOC | 50.00 | — | — |" in text and "| PER | 85.00 | 80.00 | -5.00 |" in text
    assert "**3** `I-` tags" in text
    assert results.modes(make_context(TAG_RESULTS)) is None


def test_strategies_section_marks_the_context_strategy():
    ctx = make_context()
    assert results.strategies(ctx) is None and "per-strategy" in ctx.warnings[-1]
    text = results.strategies(make_context(edit=with_strategies, strategy="first"))
    assert "| **`first`** (recommended) | **70.00** | **70.00** | **70.00** | **90.00** |" in text
    assert "| `simple` | 60.00 | 60.00 | 60.00 | — |" in text
    assert text.index("`none`") < text.index("`simple`") < text.index("`first`")  # registry order
    assert "nerkit decodes those tags" in text


def test_strategies_section_says_word_is_not_a_pipeline_strategy():
    def with_word(data):
        with_strategies(data)
        data["strategies"]["results"]["word"] = scores(0.8, 0.8, 0.8)

    text = results.strategies(make_context(edit=with_word, strategy="first"))
    assert "| `word` (nerkit's own, not a `pipeline` strategy) | 80.00 | 80.00 | 80.00 | — |" in text
    assert "| `simple` | 60.00 |" in text and "| **`first`** (recommended) |" in text  # pipeline rows unchanged


def test_usage_snippet():
    text = usage.usage(make_context(widget=[{"text": "Ada lives in Paris.", "example_title": "x"}], strategy="max"))
    assert 'pipeline("token-classification", model="my-run", aggregation_strategy="max")' in text
    assert 'print(ner("Ada lives in Paris."))' in text and "is this folder's name" in text
    named = usage.usage(make_context(repo_id="alice/m"))
    assert 'model="alice/m"' in named and "folder's name" not in named and "Wolfgang" in named
    assert "print(tagger(" in usage.usage(make_context(TAG_RESULTS))


def test_limitations():
    text = limitations.limitations(make_context())
    assert "**Only 2 entity types.**" in text and "**Weakest type:** `LOC` (F1 50.00" in text
    assert "Uncased" not in text and "News domain" not in text
    uncased = make_context(tokenizer_config={"do_lower_case": True})
    assert "**Uncased base model.** The tokenizer (`do_lower_case: true`)" in limitations.limitations(uncased)
    assert "The tokenizer lowercases" in limitations.limitations(make_context(tokenizer_lowercases=True))
    conll = make_context(source={"kind": "hub", "name": "conll2003"})
    assert "**News domain, 1996–1997.**" in limitations.limitations(conll)


def test_unseen_types_from_data_info():
    info = {"splits": {"train": {"entities": {"PER": 3, "LOC": 0}}}}
    ctx = make_context(data_info=info, labels={"labels": ["O", "B-PER", "B-LOC", "B-MISC"]})
    assert limitations.unseen_types(ctx) == ["LOC", "MISC"]
    assert "**Never seen in training:** `LOC` and `MISC` are" in limitations.limitations(ctx)


def test_summary_warns_when_the_model_does_not_work():
    low = make_context(edit=lambda d: d["overall"].update(f1=0.04))
    assert "**Warning: this model does not work yet.** Its F1 4.00 on the test split is below 10.00" in results.summary(low)
    assert "Warning" not in results.summary(make_context())
    tags = make_context(TAG_RESULTS, edit=lambda d: d["overall"].update(accuracy=0.05))
    assert "Its accuracy 5.00 on the test split is below 10.00" in results.summary(tags)


def _with_confidence(data: dict) -> None:
    thresholds = [{"min_score": t, "precision": p, "recall": r, "f1": 2 * p * r / (p + r), "kept": k}
                  for t, p, r, k in ((0.5, 0.86, 0.90, 100), (0.7, 0.90, 0.88, 95), (0.8, 0.93, 0.85, 90),
                                     (0.9, 0.955, 0.80, 84), (0.95, 0.97, 0.71, 74), (0.99, 0.99, 0.40, 41))]
    entry = {"precision": 0.86, "recall": 0.9, "f1": 0.88, "support": 96, "predicted": 100, "correct": 86,
             "confidence": {"bins": 10, "entities": 100, "ece": 0.062, "per_type_ece": {"LOC": 0.05, "PER": 0.07},
                            "reliability": [{"low": 0.9, "high": 1.0, "count": 100, "confidence": 0.97,
                                             "accuracy": 0.9}],
                            "thresholds": thresholds}}
    data["strategies"] = {"split": "test", "num_sentences": 12, "results": {"first": entry}}


def test_the_confidence_section_gives_ece_the_threshold_table_and_advice():
    """Issue 18: what a score means for this model, from the recommended strategy's evaluation."""
    from toolkit.card.sections.confidence import confidence

    ctx = make_context(edit=_with_confidence)
    text = confidence(ctx)
    assert "Expected calibration error **0.062**" in text and "per type: LOC 0.050, PER 0.070" in text
    assert "| ≥ 0.9 | 95.50 | 80.00 |" in text and "| ≥ 0.99 | 99.00 | 40.00 |" in text
    assert "keep entities scored ≥ 0.9: precision 95.50, recall 80.00" in text  # the lowest reaching 95
    assert "--min-score 0.9" in text
    # thresholds (0.5, 0.7, 0.8, ...) have F1 0.8795, 0.8899, 0.8889, ...: the best is named beside the lowest
    assert "The best F1 is at ≥ 0.7: 88.99 (precision 90.00, recall 88.00), against 87.95 at ≥ 0.5." in text


def test_an_evaluation_without_confidence_figures_leaves_the_section_out_with_a_warning():
    from toolkit.card.sections.confidence import confidence

    def older(data: dict) -> None:
        _with_confidence(data)
        del data["strategies"]["results"]["first"]["confidence"]

    ctx = make_context(edit=older)
    assert confidence(ctx) is None and "no confidence figures" in ctx.warnings[-1]
    assert confidence(make_context()) is None  # no strategies block at all: the strategies section warns


def test_the_calibration_text_reads_which_rows_combine_scores_from_the_table(tmp_path, monkeypatch):
    """Issue 24: the card named `average` and `max` itself. A row that combines scores (`combines_scores`) is
    listed from the table; one that does not is left out, whatever its name."""
    import json
    import shutil
    from pathlib import Path

    from nercore import strategies as registry
    from toolkit.card.context import build_context
    from toolkit.card.sections import confidence

    run = Path(shutil.copytree(Path(__file__).parent / "data" / "run_fixture", tmp_path / "run"))
    calibration = json.loads((run / "calibration.json").read_text())
    for reading in calibration["readings"].values():
        for side in ("before", "after"):
            reading[side]["last"] = dict(reading[side]["first"], f1=0.5)
    (run / "calibration.json").write_text(json.dumps(calibration))
    rows = {s.name: s for s in registry.STRATEGIES}
    table = (*(dataclasses.replace(s, combines_scores=False) if s.name == "average" else s for s in registry.STRATEGIES),
             dataclasses.replace(rows["max"], name="last", pipeline_name=None, reference_view=True,
                                 votes_in_disagreements=False, combines_scores=True))
    monkeypatch.setattr(registry, "STRATEGIES", table)
    text = confidence.confidence(build_context(run))
    assert "Entities move only where scores decide: `max` and `last` combine them, and where a text" in text
    assert "| first 90.87 → 90.87; max 90.70 → 90.70; last 50.00 → 50.00 |" in text
    assert "average 90.83" not in text
    monkeypatch.setattr(registry, "STRATEGIES", tuple(dataclasses.replace(s, combines_scores=False) for s in table))
    text = confidence.confidence(build_context(run))
    assert "Entities move only where scores decide: where a text" in text and "| first 90.87 → 90.87 |" in text


def test_a_reference_view_never_votes():
    from nercore.strategies import STRATEGIES, Strategy, reference_names

    assert reference_names() == ("word",) and [s.name for s in STRATEGIES if s.reference_view] == ["word"]
    assert [s.name for s in STRATEGIES if s.combines_scores] == ["average", "max", "word"]
    word = next(s for s in STRATEGIES if s.name == "word")
    with pytest.raises(ValueError, match="cannot vote in disagreements"):
        Strategy(**{**{f.name: getattr(word, f.name) for f in dataclasses.fields(word)}, "votes_in_disagreements": True})


def test_the_card_says_which_context_the_strategy_f1_used():
    """Issue 24: `--context-tokens` set the word-level readings, while the per-strategy F1 read documents in the
    engine's windows (from the model's trained setting), and nothing said so."""
    from toolkit.card.sections.context import document_context

    def with_context(headline, trained, tokens=8):
        def edit(data):
            with_strategies(data)
            other = {k: data[k] for k in ("schema_version", "split", "num_sentences", "task", "overall", "modes")}
            data["document_context"] = {"headline": headline, "tokens_per_side": tokens, "trained": trained,
                                        "other": other}
        return edit

    text = document_context(make_context(edit=with_context("with", {"tokens_per_side": 24, "dropout": 0.3})))
    assert "up to 8 sub-tokens of the neighbouring sentences" in text  # the word-level reading: --context-tokens 8
    assert ("The F1 by aggregation strategy reads each document as one text through the pipeline, as the demo Space "
            "does: in windows of 96 text sub-tokens, overlapping by 48 (from the 24 per side it was trained with), "
            "whatever the evaluation's context setting") in text
    text = document_context(make_context(edit=with_context("with", None)))
    assert "in windows of the model's full length, whatever the evaluation's context setting" in text
    text = document_context(make_context(edit=with_context("without", None)))
    assert "The F1 by aggregation strategy reads each sentence alone, as the headline does." in text
