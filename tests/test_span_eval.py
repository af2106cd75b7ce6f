"""Evaluation on span data: exact character-span P/R/F1 per type on the records' own texts, for every strategy."""

from __future__ import annotations

import copy
import json

import pytest

from nercore.errors import UserError
from nercore.runfolder import EvalResults
from toolkit.data.raw import RawData, RawSplit
from toolkit.evaluate.span_scores import GoldRecords, record_split, score_record_spans, score_records

# Raw text as an annotation tool holds it: an emoji (1 code point, 2 UTF-16 units) before the spans,
# double spaces and punctuation glued to words, which joined words would not reproduce.
TEXT = "\U0001F431 Angela  Merkel met Macron, in Paris."
GOLD = GoldRecords([TEXT, "Nothing here."], [[(2, 16, "PER"), (21, 27, "PER"), (32, 37, "LOC")], []])


def _entity(text, piece, label, score=0.9, start_at=0):
    start = text.index(piece, start_at)
    return {"entity_group": label, "score": score, "word": piece, "start": start, "end": start + len(piece)}


def test_gold_records_become_one_engine_text_each():
    split = record_split(GOLD)
    assert split.texts == [TEXT, "Nothing here."]
    assert split.gold[0] == [("PER", 2, 16), ("PER", 21, 27), ("LOC", 32, 37)]
    assert TEXT[2:16] == "Angela  Merkel" and TEXT[32:37] == "Paris"
    assert split.groups == [[0], [1]] and split.joined[0] == (TEXT, [0])


def test_scores_per_strategy_and_type_on_the_raw_text():
    outputs = [
        {"first": [_entity(TEXT, "Angela  Merkel", "PER", 0.99), _entity(TEXT, " Macron", "PER", 0.8),  # space stripped
                   _entity(TEXT, "Paris", "ORG", 0.7)],
         "max": [_entity(TEXT, "Merkel", "PER"), _entity(TEXT, "Paris", "LOC")]},
        {"first": [], "max": [_entity("Nothing here.", "Nothing", "MISC")]},
    ]
    results = score_records(GOLD, outputs, ["first", "max"])
    first, best = results["first"], results["max"]
    assert (first["correct"], first["predicted"], first["support"]) == (2, 3, 3)
    assert first["per_type"]["PER"]["f1"] == pytest.approx(1.0)
    assert first["per_type"]["LOC"]["recall"] == 0.0 and first["per_type"]["ORG"]["precision"] == 0.0
    assert (best["correct"], best["predicted"], best["support"]) == (1, 3, 3)  # half a name is a miss
    assert first["f1"] == pytest.approx(2 * (2 / 3) * (2 / 3) / (4 / 3))
    assert "confidence" in first  # the same block as the word-joined strategies


def test_spans_read_back_from_a_tool_score_the_same_way():
    predicted = [[(2, 16, "PER"), (32, 37, "LOC")], [(0, 7, "MISC")]]
    result = score_record_spans(GOLD, predicted)
    assert (result["correct"], result["predicted"], result["support"]) == (2, 3, 3)


def test_gold_records_of_a_raw_split():
    split = RawSplit(tokens=[["a"], ["b"], ["c"]], tags=[["O"]] * 3)
    assert GoldRecords.of(split) is None  # word data
    split.texts, split.spans = ["a", "", "b", "c"], [[(0, 1, "X")], [], [], []]
    split.sentence_records = [0, 2, 3]  # record 1 has no words, so no sentence
    assert GoldRecords.of(split).texts == ["a", "", "b", "c"]
    assert GoldRecords.of(split, 2).texts == ["a", "", "b"]  # the records of the first two sentences
    assert GoldRecords.of(split, 10).texts == ["a", "", "b", "c"]
    with pytest.raises(ValueError):
        GoldRecords(["a"], [])


# --------------------------------------------------------------------------------------------
# The record in eval_results.json
# --------------------------------------------------------------------------------------------

def _results(strategies: dict | None = None) -> dict:
    from card_helpers import ENTITY_RESULTS

    data = copy.deepcopy(ENTITY_RESULTS)
    if strategies is not None:
        data["strategies"] = strategies
    return data


SPAN_BLOCK = {
    "split": "test", "num_sentences": 10, "text": "raw", "num_records": 7,
    "results": {"first": {"precision": 0.9, "recall": 0.8, "f1": 0.847, "support": 20, "predicted": 18, "correct": 16,
                          "per_type": {"PER": {"precision": 0.9, "recall": 0.8, "f1": 0.847}}},
                "max": {"precision": 0.5, "recall": 0.5, "f1": 0.5}},
}


def test_the_strategies_block_records_that_it_scored_raw_texts():
    data = _results(SPAN_BLOCK)
    results = EvalResults.from_json(data)
    assert results.strategies.raw_text and results.strategies.num_records == 7
    assert results.to_json() == data and list(results.to_json()["strategies"]) == list(SPAN_BLOCK)


def test_older_files_without_the_fields_still_load():
    block = {key: value for key, value in SPAN_BLOCK.items() if key not in ("text", "num_records")}
    results = EvalResults.from_json(_results(block))
    assert not results.strategies.raw_text and results.strategies.text is None
    assert "text" not in results.to_json()["strategies"]


def test_a_bad_text_value_names_the_field():
    with pytest.raises(UserError, match="strategies.text"):
        EvalResults.from_json(_results({**SPAN_BLOCK, "text": "sentences"}))


# --------------------------------------------------------------------------------------------
# The card: which figure is the headline, and why
# --------------------------------------------------------------------------------------------

def test_card_headline_is_the_span_f1_for_span_data():
    from card_helpers import make_context
    from toolkit.card.sections.results import results_intro, strategies, summary

    ctx = make_context(_results(SPAN_BLOCK))
    text = summary(ctx)
    assert "**F1 84.70**" in text and "character spans" in text and "word-level seqeval F1 75.00" in text
    assert "headline above is the exact character-span F1" in results_intro(ctx)
    section = strategies(ctx)
    assert "7 texts, as the annotation tool exported them" in section and "words are joined" not in section


def test_card_keeps_the_seqeval_headline_for_word_data():
    from card_helpers import make_context
    from toolkit.card.sections.results import results_intro, strategies, summary

    block = {key: value for key, value in SPAN_BLOCK.items() if key not in ("text", "num_records")}
    ctx = make_context(_results(block))
    assert "**F1 75.00**" in summary(ctx) and "seqeval, default mode" in summary(ctx)
    assert "character-span F1" not in results_intro(ctx)
    assert "words are joined with single spaces" in strategies(ctx)


# --------------------------------------------------------------------------------------------
# End to end: nerkit evaluate's library call on span data
# --------------------------------------------------------------------------------------------

def _span_data():
    from toolkit.labels import prepare_labels

    texts = ["John  Smith visited London.", "The EU met in Paris, France."]
    spans = [[(0, 11, "PER"), (20, 26, "LOC")], [(4, 6, "ORG"), (14, 19, "LOC"), (21, 27, "LOC")]]
    tokens = [["John", "Smith", "visited", "London", "."], ["The", "EU", "met", "in", "Paris", ",", "France", "."]]
    tags = [["B-PER", "I-PER", "O", "B-LOC", "O"], ["O", "B-ORG", "O", "O", "B-LOC", "O", "B-LOC", "O"]]
    split = RawSplit(tokens=tokens, tags=tags)
    raw = RawData({"test": split}, None, "ner_tags", {"kind": "json", "name": "tasks.json"})
    return prepare_labels(raw), GoldRecords(texts, spans)


def test_evaluate_model_scores_every_strategy_on_the_raw_texts(tiny_bert, tmp_path):
    from nercore.engine import predict_all_batch
    from nercore.strategies import names
    from toolkit.evaluate import evaluate_model
    from toolkit.evaluate.strategies import type_map
    from toolkit.model_loading import build_pipeline
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    data, records = _span_data()
    results = evaluate_model(str(tiny_bert), data, "test", output_dir=tmp_path, progress=False, bootstrap=0,
                             records=records)
    block = results.strategies
    assert block.raw_text and block.num_records == 2 and list(block.results) == list(names())
    assert results.default is not None  # the word-level seqeval figures stay beside them
    written = json.loads((tmp_path / "eval_results.json").read_text())
    assert written["strategies"]["text"] == "raw"

    model = AutoModelForTokenClassification.from_pretrained(tiny_bert).eval()
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    pipe = build_pipeline(model, AutoTokenizer.from_pretrained(tiny_bert))
    outputs = predict_all_batch(pipe, records.texts, ["first"], 8, max_chars=None)
    expected = score_records(records, outputs, ["first"], type_map(labels))["first"]
    got = block.results["first"]
    assert (got.correct, got.predicted, got.support) == (expected["correct"], expected["predicted"], 5)


def test_nerkit_evaluate_on_a_label_studio_export(tiny_bert, tmp_path):
    """The command: a Label Studio export as --test-file gets the raw-text strategies block and a card headline."""
    from toolkit.cli import main
    from toolkit.predict.annotation_tools import label_studio_task

    texts = ["\U0001F431 John  Smith visited London.", "The EU met in Paris, France."]
    spans = [[(2, 13, "PER"), (22, 28, "LOC")], [(4, 6, "ORG"), (14, 19, "LOC"), (21, 27, "LOC")]]
    tasks = [label_studio_task(text, annotations=regions) for text, regions in zip(texts, spans)]
    for number, task in enumerate(tasks, start=1):
        task["id"] = number
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "eval"
    assert main(["evaluate", "--model", str(tiny_bert), "--test-file", str(export), "--split", "test",
                 "--bootstrap", "0", "--output-dir", str(out)]) == 0
    block = json.loads((out / "eval_results.json").read_text())["strategies"]
    assert block["text"] == "raw" and block["num_records"] == 2
    assert all(result["support"] == 5 for result in block["results"].values())
