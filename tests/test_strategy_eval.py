"""Per-strategy end-to-end F1 (toolkit/evaluate/strategies.py): hand-built cases where the strategies provably differ.

The model is a tiny BERT with hand-set weights (the approach of tests/test_space_helpers.py): the
encoder is the identity, so each sub-token's label distribution is the softmax of
LayerNorm(its word embedding)[:9]. With 32 hidden units that gives, by hand:

    one-hot {X: 1}               -> LayerNorm gives sqrt(31) at X and -1/sqrt(31) elsewhere,
                                    p(X) = 1 / (1 + 8 exp(-32 / sqrt(31))) = 0.975
    {O: 1, B-PER: 0.6}           -> p(O) = 0.846, p(B-PER) = 0.114
    {B-LOC: 1, O: 0.7}           -> p(B-LOC) = 0.771, p(O) = 0.184
    {O: 1, B-MISC: 0.3}          -> p(O) = 0.955, p(B-MISC) = 0.020

(`test_rigged_probabilities` recomputes these from the weights.) Every other token is a one-hot "O".
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from tiny_models import CONLL_LABELS, build_rigged_bert
from nercore import runfolder
from toolkit.cli import main
from toolkit.evaluate.labelmap import map_model_labels
from toolkit.evaluate.strategies import (
    build_pipeline,
    check_strategies,
    detokenize,
    evaluate_model_strategies,
    evaluate_strategies,
    gold_spans,
    predicted_spans,
    score_spans,
    strip_span,
    type_map,
)

TESTS_DIR = Path(__file__).resolve().parent
TINY_CONLL = TESTS_DIR / "data" / "tiny_conll"

# Sub-token -> label weights. WordPiece splits the made-up words into characters:
#   Zq  = Z ##q        : first piece O (unsure), second B-PER (sure)
#   Kv  = K ##v        : first piece B-LOC (unsure), second O (sure)
#   Jb  = J ##b        : both pieces B-ORG (a B- on a continuation piece)
#   Qxx = Q ##x ##x    : first piece B-MISC (sure), two pieces O (fairly sure)
RIGGED = {
    "Z": {"O": 1.0, "B-PER": 0.6},
    "##q": {"B-PER": 1.0},
    "K": {"B-LOC": 1.0, "O": 0.7},
    "J": {"B-ORG": 1.0},
    "##b": {"B-ORG": 1.0},
    "Q": {"B-MISC": 1.0},
    "##x": {"O": 1.0, "B-MISC": 0.3},
}
TOKENS = ["Zq", "visited", "Kv", "with", "Jb", "and", "Qxx", "."]
TAGS = ["B-PER", "O", "B-LOC", "O", "B-ORG", "O", "B-MISC", "O"]
TEXT = "Zq visited Kv with Jb and Qxx ."
#        0  3       11 14   19 22  26  30
GOLD = [("PER", 0, 2), ("LOC", 11, 13), ("ORG", 19, 21), ("MISC", 26, 29)]

# What each strategy predicts, derived by hand from the piece labels above:
#   none:    q -> PER(1,2); K -> LOC(11,12); J ##b join (same word, rule a) -> ORG(19,21); Q -> MISC(26,27)
#   simple:  like none, but ##b's B- starts a new entity: ORG(19,20) + ORG(20,21)
#   first:   word = its first piece: Zq O, Kv LOC, Jb ORG, Qxx MISC
#   average: Zq: PER (0.114+0.975)/2 = 0.54 > O (0.846+0.003)/2 = 0.42;  Kv: O (0.184+0.975)/2 = 0.58 > LOC 0.39;
#            Jb ORG; Qxx: O (0.003+2*0.955)/3 = 0.64 > MISC (0.975+2*0.020)/3 = 0.34
#   max:     most confident piece: Zq ##q (0.975, PER); Kv ##v (0.975 O > 0.771); Jb ORG; Qxx Q (0.975 > 0.955, MISC)
#   word:    nerkit's word view; its words are the pipeline's here (no punctuation inside a word), its rule is max
EXPECTED_SPANS = {
    "none": [("PER", 1, 2), ("LOC", 11, 12), ("ORG", 19, 21), ("MISC", 26, 27)],
    "simple": [("PER", 1, 2), ("LOC", 11, 12), ("ORG", 19, 20), ("ORG", 20, 21), ("MISC", 26, 27)],
    "first": [("LOC", 11, 13), ("ORG", 19, 21), ("MISC", 26, 29)],
    "average": [("PER", 0, 2), ("ORG", 19, 21)],
    "max": [("PER", 0, 2), ("ORG", 19, 21), ("MISC", 26, 29)],
    "word": [("PER", 0, 2), ("ORG", 19, 21), ("MISC", 26, 29)],
}
# (correct, predicted) overall; support is 4 for every strategy.
EXPECTED_COUNTS = {"none": (1, 4), "simple": (0, 5), "first": (3, 3), "average": (2, 2), "max": (3, 3), "word": (3, 3)}
# F1 by hand: 2PR/(P+R) with P = correct/predicted, R = correct/4.
EXPECTED_F1 = {"none": 0.25, "simple": 0.0, "first": 6 / 7, "average": 2 / 3, "max": 6 / 7, "word": 6 / 7}
# Per type (correct, predicted, support) for the strategies where the types differ.
EXPECTED_PER_TYPE = {
    "first": {"LOC": (1, 1, 1), "MISC": (1, 1, 1), "ORG": (1, 1, 1), "PER": (0, 0, 1)},
    "max": {"LOC": (0, 0, 1), "MISC": (1, 1, 1), "ORG": (1, 1, 1), "PER": (1, 1, 1)},
    "simple": {"LOC": (0, 1, 1), "MISC": (0, 1, 1), "ORG": (0, 2, 1), "PER": (0, 1, 1)},
}


@pytest.fixture(scope="module")
def rigged(tmp_path_factory) -> Path:
    return build_rigged_bert(tmp_path_factory.mktemp("strategy-rig") / "model", RIGGED)


@pytest.fixture(scope="module")
def rigged_model(rigged):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    return AutoModelForTokenClassification.from_pretrained(rigged).eval(), AutoTokenizer.from_pretrained(rigged)


def softmax_of_layernorm(weights: dict[str, float], hidden: int = 32) -> np.ndarray:
    vector = np.zeros(hidden)
    for label, weight in weights.items():
        vector[CONLL_LABELS.index(label)] = weight
    normed = (vector - vector.mean()) / math.sqrt(vector.var() + 1e-12)
    logits = normed[: len(CONLL_LABELS)]
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


# --------------------------------------------------------------------------------------------
# Pure parts
# --------------------------------------------------------------------------------------------


def test_detokenize_keeps_offsets_of_every_token():
    tokens = ["EU", "rejects", "Dutch", "plan", "to", "tax", "British", "cheese", "."]
    text, starts = detokenize(tokens)
    assert text == "EU rejects Dutch plan to tax British cheese ."
    assert all(text[s : s + len(t)] == t for s, t in zip(starts, tokens))
    assert detokenize([]) == ("", [])


def test_natural_join_glues_punctuation_as_running_text():
    tokens = ["(", "Berlin", ")", "and", "Paris", ",", "France", ".", "12", "%", "[", "x", "]"]
    text, starts = detokenize(tokens, "natural")
    assert text == "(Berlin) and Paris, France. 12% [x]"
    assert [text[s : s + len(t)] for s, t in zip(starts, tokens)] == tokens
    assert gold_spans(["Paris", ",", "France", "."], ["B-LOC", "O", "B-LOC", "O"], "natural") == [
        ("LOC", 0, 5), ("LOC", 7, 13)]
    with pytest.raises(ValueError, match="join must be one of spaces, natural"):
        detokenize(tokens, "moses")


def test_gold_spans_are_character_spans_of_seqeval_entities():
    tokens = ["Peter", "Blackburn", "visited", "New", "York", "City", "and", "U.S.", "firms"]
    tags = ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "I-LOC", "O", "I-LOC", "O"]  # a stray I- starts an entity
    text, _ = detokenize(tokens)
    spans = gold_spans(tokens, tags)
    assert [(kind, text[s:e]) for kind, s, e in spans] == [("PER", "Peter Blackburn"), ("LOC", "New York City"), ("LOC", "U.S.")]
    assert gold_spans(["a", "b"], ["O", "O"]) == []


def test_predicted_span_edges_are_stripped_of_whitespace():
    text = "met  Paris Hilton ."
    assert strip_span(text, 3, 10) == (5, 10)  # byte-level offsets that include the spaces before a word
    assert strip_span(text, 5, 11) == (5, 10)
    assert strip_span(text, 3, 5) is None
    grouped = [{"entity_group": "PER", "score": 0.9, "word": " Paris Hilton", "start": 4, "end": 17},
               {"entity_group": "LOC", "score": 0.9, "word": " ", "start": 3, "end": 5}]
    assert predicted_spans(grouped, text) == [("PER", 5, 17)]


def none_token(label: str, index: int, start: int, end: int) -> dict:
    return {"entity": label, "score": 0.9, "index": index, "word": "?", "start": start, "end": end}


def test_none_output_is_decoded_into_spans_by_the_documented_rule():
    text = "Widodo met New York and Hilton"  # W=0 ##i=1 ##d=2 ##o=3; New=11 York=15 Hil=24 ##ton=27
    tokens = [
        none_token("B-PER", 1, 0, 1),    # W
        none_token("B-LOC", 3, 2, 3),    # ##d: not adjacent (##i, index 2, was O) -> new span inside the word
        none_token("B-LOC", 4, 3, 4),    # ##o: same word, adjacent -> joins whatever its B-
        none_token("B-LOC", 7, 11, 14),  # New
        none_token("I-LOC", 8, 15, 19),  # York: I- of the span's type, adjacent -> joins
        none_token("B-PER", 10, 24, 27), # Hil
        none_token("I-ORG", 11, 27, 30), # ##ton: same word -> joins, span keeps PER
    ]
    spans = predicted_spans(tokens, text)
    assert spans == [("PER", 0, 1), ("LOC", 2, 4), ("LOC", 11, 19), ("PER", 24, 30)]
    # A B- in a new word, a type change in a new word, and a gap all start new spans.
    separate = [none_token("B-LOC", 1, 0, 3), none_token("B-LOC", 2, 4, 7), none_token("I-PER", 3, 8, 11),
                none_token("I-PER", 5, 16, 19)]
    assert predicted_spans(separate, "abc def ghi and jkl") == [("LOC", 0, 3), ("LOC", 4, 7), ("PER", 8, 11), ("PER", 16, 19)]


def test_type_map_follows_the_evaluation_label_mapping():
    model_labels = ["O", "B-PERSON", "I-PERSON", "B-GPE", "I-GPE", "B-DATE", "I-DATE", "B-EVENT", "I-EVENT"]
    mapping = map_model_labels(model_labels, CONLL_LABELS, {"PERSON": "PER", "GPE": "LOC", "DATE": "O"})
    types = type_map(model_labels, mapping.names)
    assert types == {"O": None, "PERSON": "PER", "GPE": "LOC", "DATE": None, "EVENT": "EVENT"}
    grouped = [{"entity_group": kind, "start": 0, "end": 3} for kind in ("PERSON", "DATE", "EVENT")]
    assert predicted_spans(grouped, "abc", types) == [("PER", 0, 3), ("EVENT", 0, 3)]
    # IO and BIOES label sets: the pipeline's types are the bare names / the prefixed names
    assert type_map(["O", "PER", "LOC"], map_model_labels(["O", "PER", "LOC"], CONLL_LABELS).names) == {
        "O": None, "PER": "PER", "LOC": "LOC"}
    bioes = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]
    assert type_map(bioes, map_model_labels(bioes, CONLL_LABELS).names) == {
        "O": None, "PER": "PER", "E-PER": "PER", "S-PER": "PER"}


def test_scores_by_hand_with_duplicates_and_unknown_types():
    gold = [[("PER", 0, 5), ("LOC", 10, 15)], [("ORG", 0, 3)], []]
    pred = [[("PER", 0, 5), ("PER", 0, 5), ("LOC", 10, 14)], [("ORG", 0, 3)], [("EVENT", 0, 2)]]
    result = score_spans(gold, pred)
    assert (result["correct"], result["predicted"], result["support"]) == (2, 5, 3)
    assert result["precision"] == 2 / 5 and result["recall"] == 2 / 3
    assert result["f1"] == pytest.approx(2 * 0.4 * (2 / 3) / (0.4 + 2 / 3))
    assert result["per_type"]["PER"] == {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1, "predicted": 2,
                                         "correct": 1}
    assert result["per_type"]["EVENT"]["support"] == 0 and result["per_type"]["EVENT"]["f1"] == 0.0
    assert list(result["per_type"]) == ["EVENT", "LOC", "ORG", "PER"]
    with pytest.raises(ValueError):
        score_spans(gold, pred[:2])


def test_strategy_names_are_checked():
    from nercore.errors import UserError

    assert check_strategies(None) == ("none", "simple", "first", "average", "max", "word")
    assert check_strategies("all") == check_strategies(None)
    assert check_strategies("max, first") == ("first", "max")
    with pytest.raises(UserError, match="unknown aggregation strategy 'best'"):
        check_strategies("first,best")


# --------------------------------------------------------------------------------------------
# The rigged model: strategies that provably differ
# --------------------------------------------------------------------------------------------


def test_rigged_probabilities():
    assert softmax_of_layernorm({"O": 1.0})[0] == pytest.approx(0.975, abs=5e-4)
    zq = softmax_of_layernorm(RIGGED["Z"]), softmax_of_layernorm(RIGGED["##q"])
    assert (zq[0][1] + zq[1][1]) / 2 > (zq[0][0] + zq[1][0]) / 2  # average: PER wins over O
    kv = softmax_of_layernorm(RIGGED["K"]), softmax_of_layernorm({"O": 1.0})
    assert kv[0].max() < kv[1].max() and (kv[0][0] + kv[1][0]) / 2 > (kv[0][5] + kv[1][5]) / 2
    q, x = softmax_of_layernorm(RIGGED["Q"]), softmax_of_layernorm(RIGGED["##x"])
    assert q.max() > x.max() and (q[0] + 2 * x[0]) / 3 > (q[7] + 2 * x[7]) / 3


def test_rigged_pieces_are_labelled_as_designed(rigged_model):
    from nercore.engine import predict_all

    model, tokenizer = rigged_model
    pipe = build_pipeline(model, tokenizer)
    assert tokenizer.tokenize(TEXT) == ["Z", "##q", "visited", "K", "##v", "with", "J", "##b", "and", "Q", "##x", "##x", "."]
    pieces = predict_all(pipe, TEXT, ["none"], ignore_labels=())["none"]
    labels = [(TEXT[p["start"] : p["end"]], p["entity"]) for p in pieces]
    assert labels == [("Z", "O"), ("q", "B-PER"), ("visited", "O"), ("K", "B-LOC"), ("v", "O"), ("with", "O"),
                      ("J", "B-ORG"), ("b", "B-ORG"), ("and", "O"), ("Q", "B-MISC"), ("x", "O"), ("x", "O"), (".", "O")]


def test_each_strategy_scores_as_computed_by_hand(rigged_model):
    from nercore.engine import predict_all

    model, tokenizer = rigged_model
    pipe = build_pipeline(model, tokenizer)
    assert gold_spans(TOKENS, TAGS) == GOLD and detokenize(TOKENS)[0] == TEXT
    output = predict_all(pipe, TEXT)
    for name, spans in EXPECTED_SPANS.items():
        assert predicted_spans(output[name], TEXT, type_map(CONLL_LABELS)) == spans, name

    results = evaluate_strategies(pipe, [TOKENS], [TAGS], types=type_map(CONLL_LABELS))
    assert list(results) == ["none", "simple", "first", "average", "max", "word"]
    for name, (correct, predicted) in EXPECTED_COUNTS.items():
        r = results[name]
        assert (r["correct"], r["predicted"], r["support"]) == (correct, predicted, 4), name
        assert r["precision"] == pytest.approx(correct / predicted if predicted else 0.0)
        assert r["recall"] == pytest.approx(correct / 4)
        assert r["f1"] == pytest.approx(EXPECTED_F1[name]), name
    for name, per_type in EXPECTED_PER_TYPE.items():
        got = {k: (v["correct"], v["predicted"], v["support"]) for k, v in results[name]["per_type"].items()}
        assert got == per_type, name


def test_sentences_are_summed_and_one_forward_pass_serves_all_strategies(rigged_model, monkeypatch):
    import nercore.engine as engine

    model, tokenizer = rigged_model
    pipe = build_pipeline(model, tokenizer)
    calls = []
    forward = engine.forward_windows
    monkeypatch.setattr(engine, "forward_windows", lambda p, encoded, bs: (calls.append(len(encoded)), forward(p, encoded, bs)))
    easy = (["John", "Smith", "visited", "London", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"])  # all O to the model
    results = evaluate_strategies(pipe, [TOKENS, easy[0], TOKENS], [TAGS, easy[1], TAGS], strategies="first,average")
    assert calls == [3], "one batched forward pass for three sentences and two strategies"
    assert list(results) == ["first", "average"]
    assert (results["first"]["correct"], results["first"]["predicted"], results["first"]["support"]) == (6, 6, 10)
    assert (results["average"]["correct"], results["average"]["predicted"], results["average"]["support"]) == (4, 4, 10)


def test_types_the_dataset_lacks_are_false_positives_and_dropped_types_vanish(rigged_model):
    model, tokenizer = rigged_model
    no_misc = ["O" if t.endswith("MISC") else t for t in TAGS]
    data_labels = [label for label in CONLL_LABELS if not label.endswith("MISC")]

    mapping = map_model_labels(CONLL_LABELS, data_labels)  # MISC stays MISC: unknown to the dataset
    first = evaluate_model_strategies(model, tokenizer, [TOKENS], [no_misc], mapping.names, strategies="first")["first"]
    assert (first["correct"], first["predicted"], first["support"]) == (2, 3, 3)
    assert first["per_type"]["MISC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "predicted": 1, "correct": 0}

    dropped = map_model_labels(CONLL_LABELS, data_labels, {"MISC": "O"})
    first = evaluate_model_strategies(model, tokenizer, [TOKENS], [no_misc], dropped.names, strategies="first,none")
    assert (first["first"]["correct"], first["first"]["predicted"]) == (2, 2) and "MISC" not in first["first"]["per_type"]
    assert first["none"]["predicted"] == 3  # q, K, Jb; the MISC piece is ignored like an O


def test_byte_level_offsets_never_put_whitespace_into_spans(tiny_roberta):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from nercore.engine import predict_all_batch
    from toolkit.data import load_raw_splits

    split = load_raw_splits(str(TINY_CONLL)).splits["test"]
    model = AutoModelForTokenClassification.from_pretrained(tiny_roberta).eval()
    pipe = build_pipeline(model, AutoTokenizer.from_pretrained(tiny_roberta))
    texts = [detokenize(tokens)[0] for tokens in split.tokens]
    seen = 0
    for text, output in zip(texts, predict_all_batch(pipe, texts)):
        for name, entities in output.items():
            for kind, start, end in predicted_spans(entities, text):
                seen += 1
                assert text[start:end] == text[start:end].strip() and end > start, (name, text, start, end)
    assert seen, "the random model predicts some entities"
    results = evaluate_model_strategies(model, AutoTokenizer.from_pretrained(tiny_roberta), split.tokens, split.tags)
    assert all(0 <= r["f1"] <= 1 and r["support"] == results["first"]["support"] for r in results.values())


# --------------------------------------------------------------------------------------------
# Through the CLI, into the card
# --------------------------------------------------------------------------------------------


def test_cli_writes_the_schema_the_card_renders(tiny_bert, tmp_path, capsys):
    from toolkit.card import render_card

    run = Path(shutil.copytree(tiny_bert, tmp_path / "tiny-run"))
    (run / runfolder.RUN_INFO).write_text(json.dumps({"command": f"nerkit train --model base --output-dir {run}", "seed": 1}))
    code = main(["evaluate", "--model", str(run), "--dataset", str(TINY_CONLL), "--split", "test",
                 "--strategies", "--bootstrap", "200", "--seed", "3"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "aggregation strategies, end to end on 12 sentences" in printed
    assert "95% confidence intervals (percentile bootstrap over sentences, 200 resamples, seed 3)" in printed

    results = json.loads((run / runfolder.EVAL_RESULTS).read_text())
    assert results["command"] == f"nerkit evaluate --model {run} --dataset {TINY_CONLL} --strategies --bootstrap 200 --seed 3"
    block = results["strategies"]
    assert set(block) == {"split", "num_sentences", "results"} and block["split"] == "test" and block["num_sentences"] == 12
    assert list(block["results"]) == ["none", "simple", "first", "average", "max", "word"]
    support = results["modes"]["default"]["micro avg"]["support"]
    for entry in block["results"].values():
        assert set(entry) == {"precision", "recall", "f1", "support", "predicted", "correct", "per_type", "confidence"}
        assert entry["support"] == support, "the same gold entities as seqeval's"
        confidence = entry["confidence"]  # issue 18: what a score means for this model, per strategy
        assert confidence["entities"] == sum(r["count"] for r in confidence["reliability"]) > 0
        assert [t["min_score"] for t in confidence["thresholds"]] == [0.5, 0.7, 0.8, 0.9, 0.95, 0.99]
        assert all(t["kept"] <= confidence["entities"] for t in confidence["thresholds"])
        assert 0 <= confidence["ece"] <= 1
        for kind, scores in entry["per_type"].items():
            assert set(scores) == {"precision", "recall", "f1", "support", "predicted", "correct"}
            assert all(isinstance(scores[k], float) for k in ("precision", "recall", "f1"))
    ci = results["confidence_intervals"]
    assert set(ci) == {"method", "level", "resamples", "seed", "mode", "overall", "per_type"}
    assert (ci["level"], ci["resamples"], ci["seed"], ci["mode"]) == (0.95, 200, 3, "default")
    assert set(ci["overall"]) == {"precision", "recall", "f1"}
    assert set(ci["per_type"]) == set(results["modes"]["default"]["per_type"])
    low, high = ci["overall"]["f1"]
    assert 0 <= low <= results["overall"]["f1"] <= high <= 1

    card = render_card(run).read_text()
    section = card.split("### F1 by aggregation strategy", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert rows[0].replace(" ", "").startswith("|Strategy|Precision|Recall|F1|")
    assert [row.split("|")[1].strip().strip("*").split("`")[1] for row in rows[2:7]] == [
        "none", "simple", "first", "average", "max"]
    recommended = [row for row in rows[2:7] if "(recommended)" in row]
    assert len(recommended) == 1 and "`none`" not in recommended[0]
    best = max(("first", "average", "max", "simple"), key=lambda s: block["results"][s]["f1"])
    assert f'aggregation_strategy="{best}"' in card or f"aggregation_strategy: {best}" in card
    assert "F1 (95% CI)" in card and "resamples of the 12 test sentences, seed 3" in card
    assert "nerkit evaluate --model . " in card, "the evaluation command is in the reproducibility block (run folder: .)"


def test_cli_bootstrap_defaults_and_off(tiny_bert, tmp_path):
    out = tmp_path / "eval"
    assert main(["evaluate", "--model", str(tiny_bert), "--dataset", str(TINY_CONLL), "--output-dir", str(out)]) == 0
    results = json.loads((out / runfolder.EVAL_RESULTS).read_text())
    assert results["confidence_intervals"]["resamples"] == 1000 and "strategies" not in results
    assert main(["evaluate", "--model", str(tiny_bert), "--dataset", str(TINY_CONLL), "--output-dir", str(out),
                 "--bootstrap", "0", "--strategies", "first"]) == 0
    results = json.loads((out / runfolder.EVAL_RESULTS).read_text())
    assert "confidence_intervals" not in results and list(results["strategies"]["results"]) == ["first"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--strategies", "best"], "unknown aggregation strategy 'best'"),
        (["--bootstrap", "-5"], "--bootstrap takes a number of resamples >= 0"),
        (["--ci-level", "95"], "--ci-level must be between 0 and 1"),
        (["--strategies", "--label-column", "pos_tags"], "--strategies scores entity spans"),
    ],
)
def test_cli_bad_options_write_nothing(tiny_bert, tmp_path, capsys, extra, message):
    out = tmp_path / "never"
    assert main(["evaluate", "--model", str(tiny_bert), "--dataset", str(TINY_CONLL), "--output-dir", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_confidence_report_on_hand_made_entities():
    """ECE, reliability bins and the threshold table, by hand: two sentences, four predicted entities."""
    from toolkit.evaluate.confidence import confidence_report

    gold = [[("PER", 0, 4), ("LOC", 10, 15)], [("ORG", 0, 3)]]
    scored = [[(("PER", 0, 4), 0.95), (("LOC", 9, 15), 0.91)],  # right, wrong (boundary)
              [(("ORG", 0, 3), 0.55), (("ORG", 0, 3), 0.52)]]  # right, then the same span again: wrong
    report = confidence_report(gold, scored)
    assert report["entities"] == 4
    # bin [0.9, 1.0): scores 0.95, 0.91, 1 of 2 right -> |0.93 - 0.5|; bin [0.5, 0.6): 0.55, 0.52, 1 of 2 right
    assert report["ece"] == pytest.approx(0.5 * abs(0.93 - 0.5) + 0.5 * abs(0.535 - 0.5))
    assert [(r["low"], r["count"]) for r in report["reliability"]] == [(0.5, 2), (0.9, 2)]
    table = {t["min_score"]: t for t in report["thresholds"]}
    assert (table[0.5]["kept"], table[0.5]["precision"], table[0.5]["recall"]) == (4, 0.5, 2 / 3)
    assert (table[0.9]["kept"], table[0.9]["precision"], table[0.9]["recall"]) == (2, 0.5, 1 / 3)
    assert table[0.99]["kept"] == 0 and table[0.99]["precision"] == 0
    assert report["per_type_ece"]["PER"] == pytest.approx(0.05)
