"""Contract: the Space's one-forward-pass output equals transformers' own pipeline, strategy by strategy.

For every pipeline strategy s (`PIPELINE_STRATEGY_NAMES`; nerkit's own `word` view has no pipeline
counterpart and is tested in tests/test_word_view.py) and text t: `predict_all(pipe, t)[s]` == `pipeline(..., aggregation_strategy=s,
stride=default_stride)(t)` — same entities, labels, words, offsets; scores within 1e-5 — for a
WordPiece BERT and a byte-level BPE RoBERTa, on varied texts including punctuation, unicode and
texts longer than the model's 128-token limit. "none" on long texts cannot be compared with the
pipeline (it refuses `stride` with "none" and truncates); it is checked against the first window
and against the full tokenisation instead.

If a transformers upgrade changes the internals nercore/engine.py (with nercore/windows.py and
nercore/grouping.py) reuses, these tests fail.
"""

from __future__ import annotations

import inspect
import json
import warnings

import pytest

from nercore.engine import (
    InputTooLongError,
    InternalsChangedError,
    UnknownStrategyError,
    check_internals,
    default_stride,
    predict_all,
    predict_all_batch,
    predict_detailed,
    window_capacity,
)
from nercore.strategies import PIPELINE_STRATEGY_NAMES, STRATEGY_NAMES, get_strategy

LONG_SENTENCE = "Peter Blackburn of Reuters reported from London, Paris and New York City on Monday. "
TEXTS = [
    "John Smith visited the United Nations in New York City.",
    "EU rejects Dutch plan to tax British cheese.",
    "Indonesian President Joko Widodo met Barack Obama in Jakarta.",
    "Hello, world! (Reuters) -- Peter Blackburn; London: 12.5% up?",
    "Emoji 👩‍👩‍👧 family 🇫🇷 flag Paris 🎉!",
    "Zürich and São Paulo are cities; Dvořák was Czech.",
    "東京タワーは日本にある。北京 and 서울 too",
    "שלום עולם مرحبا بالعالم London",
    "Combining: Zu\u0308rich, e\u0301te\u0301, Cafe\u0301 de Flore",
    "Zero\u200bwidth\u200cjoin\u200d and \ufeffBOM John",
    "Control\x00chars\x07here\tand\x1b[31m red \r\n New York",
    "   leading and trailing spaces   ",
    "",
    "a",
    "U.S.-based Apple Inc. CEO Tim Cook's iPhone 15 Pro Max — $999.",
    "ALL CAPS HEADLINE: GERMANY BEATS FRANCE 2-1",
    "<script>alert('x')</script> <b>bold</b> &amp; entities",
    "Tabs\tand\nnewlines\n\nbetween New\nYork",
    "Mr. O'Neill-Smith's co-founder, Jean-Pierre, met Dr. McDonald.",
    "Widodo" * 15,  # one word of 90 sub-tokens (BERT makes words over 100 characters [UNK])
    LONG_SENTENCE * 12 + "Finally Zürich 🎉 and Obama.",  # several 128-token windows
    "John Smith said " * 16 + "Widodo" * 15 + " in Paris.",  # a window boundary inside a word
    "x" * 700,  # BERT: one [UNK]; RoBERTa: hundreds of pieces of one word
]


def _long_texts(tokenizer):
    """Texts this tokenizer makes longer than the model's 128 tokens."""
    return [t for t in TEXTS if len(tokenizer(t, truncation=False)["input_ids"]) > tokenizer.model_max_length]


def _pipeline(path, **kwargs):
    from transformers import pipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipeline("token-classification", model=str(path), **kwargs)


def _call(pipe, text):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Tokenizer does not support real words" for BPE
        return pipe(text)


@pytest.fixture(scope="module", params=["tiny_bert", "tiny_roberta"])
def setup(request):
    path = request.getfixturevalue(request.param)
    pipe = _pipeline(path)
    stride = default_stride(pipe.tokenizer)
    references = {"none": pipe}
    for s in PIPELINE_STRATEGY_NAMES[1:]:
        references[s] = _pipeline(path, aggregation_strategy=s, stride=stride)
    return request.param, pipe, stride, references


def _assert_same_entities(got, expected, where):
    assert len(got) == len(expected), f"{where}: {len(got)} entities, pipeline gives {len(expected)}\n{got}\n{expected}"
    for i, (g, e) in enumerate(zip(got, expected)):
        assert list(g) == list(e), f"{where}[{i}]: keys {list(g)} != pipeline keys {list(e)}"
        for key, value in e.items():
            if key == "score":
                assert abs(g[key] - float(value)) <= 1e-5, f"{where}[{i}].score {g[key]} vs {value}"
            else:
                assert g[key] == value, f"{where}[{i}].{key}: {g[key]!r} vs pipeline {value!r}"


def _assert_plain(result):
    json.dumps(result)  # np.float32 would not serialise
    for entities in result.values():
        for e in entities:
            assert type(e["score"]) is float
            assert type(e["start"]) is int and type(e["end"]) is int
            assert type(e["word"]) is str
            if "index" in e:
                assert type(e["index"]) is int


def test_every_strategy_equals_the_pipeline(setup):
    name, pipe, stride, references = setup
    assert window_capacity(pipe.tokenizer) == 126
    n_long = 0
    long_texts = _long_texts(pipe.tokenizer)
    for text in TEXTS:
        got = predict_all(pipe, text)
        _assert_plain(got)
        assert list(got) == list(STRATEGY_NAMES)
        n_windows = text in long_texts
        n_long += n_windows
        for s in PIPELINE_STRATEGY_NAMES:
            if s == "none" and n_windows:
                continue  # see test_none_on_long_text_*
            _assert_same_entities(got[s], _call(references[s], text), f"{name} {s} {text[:30]!r}")
    assert n_long >= 2, "the corpus must contain texts longer than the model's max length"


def test_grouped_strategies_reach_past_the_first_window(setup):
    _name, pipe, _stride, references = setup
    for text in _long_texts(pipe.tokenizer):
        enc = pipe.tokenizer(text, truncation=True, return_offsets_mapping=True)
        first_window_end = max(end for _s, end in enc["offset_mapping"])
        got = predict_all(pipe, text)
        for s in STRATEGY_NAMES:  # the word view too
            assert max(e["end"] for e in got[s]) > first_window_end, f"{s}: nothing found after the first window"


def test_none_on_long_text_matches_first_window_and_covers_every_token(setup):
    _name, pipe, stride, references = setup
    capacity = window_capacity(pipe.tokenizer)
    step = capacity - stride
    for text in _long_texts(pipe.tokenizer):
        got = predict_all(pipe, text, ["none"])["none"]
        truncated = _call(references["none"], text)
        # Tokens only the first window sees are predicted exactly as the (truncating) pipeline does.
        head = [e for e in got if e["index"] <= step]
        _assert_same_entities(head, [e for e in truncated if e["index"] <= step], "none head")
        # With no label ignored, every token of the full text appears once, in order, with its offsets.
        every = predict_all(pipe, text, ["none"], ignore_labels=())["none"]
        full = pipe.tokenizer(text, truncation=False, return_offsets_mapping=True, return_special_tokens_mask=True)
        unk = pipe.tokenizer.unk_token_id
        expected = [
            (i, text[off[0] : off[1]] if tok == unk else pipe.tokenizer.convert_ids_to_tokens(tok), tuple(off))
            for i, (tok, off, special) in enumerate(
                zip(full["input_ids"], full["offset_mapping"], full["special_tokens_mask"])
            )
            if not special
        ]
        assert len(expected) > capacity
        assert [(e["index"], e["word"], (e["start"], e["end"])) for e in every] == expected


def test_batch_equals_one_by_one(setup):
    _name, pipe, _stride, _refs = setup
    texts = TEXTS + list(reversed(TEXTS[:7]))
    batched = predict_all_batch(pipe, texts, batch_size=3)
    assert len(batched) == len(texts)
    for text, got in zip(texts, batched):
        _assert_plain(got)
        single = predict_all(pipe, text)
        for s in STRATEGY_NAMES:
            _assert_same_entities(got[s], single[s], f"batch {s} {text[:30]!r}")


def test_subset_of_strategies_and_order(tiny_bert):
    pipe = _pipeline(tiny_bert)
    got = predict_all(pipe, TEXTS[0], ["max", "none", "max"])
    assert list(got) == ["none", "max"]
    with pytest.raises(UnknownStrategyError, match="expected one of none, simple, first, average, max, word"):
        predict_all(pipe, TEXTS[0], ["bogus"])
    with pytest.raises(UnknownStrategyError, match="at least one"):
        predict_all(pipe, TEXTS[0], [])


def test_max_chars_refuses_clearly_and_long_texts_are_not_truncated(tiny_bert):
    pipe = _pipeline(tiny_bert)
    with pytest.raises(InputTooLongError, match=r"101 characters; the limit is 100"):
        predict_all(pipe, "a" * 101, max_chars=100)
    text = LONG_SENTENCE * 120  # ~10 000 characters, ~80 windows
    detail = predict_detailed(pipe, text, ["simple"], max_chars=20_000)
    assert detail.num_windows > 20
    assert max(e["end"] for e in detail.entities["simple"]) > len(text) - 60


def test_missing_internals_fail_loudly(tiny_bert):
    pipe = _pipeline(tiny_bert)

    class Changed(type(pipe)):
        gather_pre_entities = None

    pipe.__class__ = Changed
    with pytest.raises(InternalsChangedError, match="gather_pre_entities"):
        check_internals(pipe)
    with pytest.raises(InternalsChangedError):
        predict_all(pipe, "John Smith")


def test_pipeline_internals_keep_the_signatures_we_call():
    """A transformers upgrade that renames or reorders these parameters must be looked at by a human."""
    from transformers.pipelines.token_classification import AggregationStrategy, TokenClassificationPipeline

    def params(name):
        return list(inspect.signature(getattr(TokenClassificationPipeline, name)).parameters)

    assert params("gather_pre_entities")[:7] == [
        "self", "sentence", "input_ids", "scores", "offset_mapping", "special_tokens_mask", "aggregation_strategy",
    ]
    assert params("aggregate") == ["self", "pre_entities", "aggregation_strategy"]
    assert params("aggregate_overlapping_entities") == ["self", "entities"]
    assert params("preprocess")[:3] == ["self", "sentence", "offset_mapping"]
    assert "stride" in params("_sanitize_parameters")
    assert [s.value for s in AggregationStrategy] == list(PIPELINE_STRATEGY_NAMES)


LABEL_SETS = [
    None,  # the model's CoNLL BIO labels
    ["O", "PER", "ORG", "LOC", "MISC", "DATE", "TIME", "MONEY", "NORP"],  # no B-/I- prefixes (get_tag: "I")
    ["O", "B-PER", "PER", "I-PER", "B-", "X-Y", "LABEL_6", "I-LOC", "B-LOC"],  # odd mixtures
]


@pytest.mark.parametrize("model_fixture", ["tiny_bert", "tiny_roberta"])
def test_fast_aggregation_equals_pipeline_aggregate_on_random_scores(model_fixture, request):
    """The engine aggregates all strategies from one WindowScores; it must equal pipe.aggregate + the
    ignore_labels filter for any scores: random, peaked, tied, and with non-BIO label sets."""
    import numpy as np
    from transformers.pipelines.token_classification import AggregationStrategy

    from nercore.engine import aggregate_windows
    from nercore.grouping import WindowScores

    pipe = _pipeline(request.getfixturevalue(model_fixture))
    text = "Peter Blackburn of Reuters met Widodo in Zürich 🎉, New York-based U.S. officials said."
    enc = pipe.tokenizer(text, return_offsets_mapping=True, return_special_tokens_mask=True)
    rng = np.random.default_rng(0)
    original = dict(pipe.model.config.id2label)
    try:
        for labels in LABEL_SETS:
            if labels is not None:
                pipe.model.config.id2label = dict(enumerate(labels))
            for trial in range(60):
                n = len(enc["input_ids"])
                kind = trial % 4
                if kind == 0:
                    scores = rng.dirichlet(np.ones(9), size=n)
                elif kind == 1:
                    scores = rng.dirichlet(np.full(9, 0.05), size=n)  # peaked
                elif kind == 2:
                    scores = np.repeat(rng.dirichlet(np.ones(9), size=1), n, axis=0)  # every token tied
                else:
                    scores = np.round(rng.dirichlet(np.ones(9), size=n), 1)  # many exact ties
                scores = scores.astype(np.float32)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    pre = pipe.gather_pre_entities(
                        text, enc["input_ids"], scores, enc["offset_mapping"], np.array(enc["special_tokens_mask"]),
                        AggregationStrategy.SIMPLE,
                    )
                for ignore in (("O",), (), ("O", "PER", "LOC")):
                    fast = WindowScores(pipe, pre, ignore, enc["special_tokens_mask"])
                    for s in PIPELINE_STRATEGY_NAMES:
                        expected = [
                            e for e in pipe.aggregate(pre, AggregationStrategy[s.upper()])
                            if e.get("entity") not in ignore and e.get("entity_group") not in ignore
                        ]
                        got = aggregate_windows(pipe, get_strategy(s), [fast], 0)
                        _assert_same_entities(got, expected, f"{model_fixture} {labels and labels[:3]} {s} #{trial}")
        # NaN scores: the pipeline's nanmean semantics via its own aggregate.
        warnings.simplefilter("ignore", RuntimeWarning)  # "Mean of empty slice", restored by pytest
        scores[1, :] = np.nan
        pre = pipe.gather_pre_entities(text, enc["input_ids"], scores, enc["offset_mapping"],
                                       np.array(enc["special_tokens_mask"]), AggregationStrategy.SIMPLE)
        fast = WindowScores(pipe, pre, ("O",), enc["special_tokens_mask"])
        assert fast.fallback
        for s in PIPELINE_STRATEGY_NAMES[1:]:
            expected = [e for e in pipe.aggregate(pre, AggregationStrategy[s.upper()]) if e.get("entity_group") != "O"]
            assert [(e["entity_group"], e["start"], e["end"]) for e in aggregate_windows(pipe, get_strategy(s), [fast], 0)] == [
                (e["entity_group"], e["start"], e["end"]) for e in expected
            ]
    finally:
        pipe.model.config.id2label = original
