"""nercore.strategies: the registry table, name validation, and a sixth strategy reaching every reader."""

from __future__ import annotations

import warnings

import pytest

from nercore import strategies as registry
from nercore.strategies import (
    PIPELINE_STRATEGY_NAMES,
    STRATEGIES,
    STRATEGY_NAMES,
    Strategy,
    UnknownStrategyError,
    get_strategy,
    recommendable,
    validate_strategies,
)

from test_space_helpers import RIGGED_EXPECTED, RIGGED_TEXT, rigged_bert, spans_of  # noqa: F401 (fixture)


def test_the_table():
    assert STRATEGY_NAMES == ("none", "simple", "first", "average", "max", "word")
    assert PIPELINE_STRATEGY_NAMES == ("none", "simple", "first", "average", "max")
    assert tuple(s.name for s in STRATEGIES) == STRATEGY_NAMES
    assert [s.name for s in STRATEGIES if not s.pipeline] == ["word"]
    for strategy in STRATEGIES:
        assert strategy.help and "\n" not in strategy.help and callable(strategy.aggregate)
        assert strategy.whole_entities == (strategy.name != "none")
        assert get_strategy(strategy.name) is strategy
    assert get_strategy(" MAX ") is get_strategy("max")
    assert recommendable() == ("first", "average", "max", "simple")


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, STRATEGY_NAMES),
        ("all", STRATEGY_NAMES),
        (" ALL ", STRATEGY_NAMES),
        ("first,average", ("first", "average")),
        ("max, none ,", ("none", "max")),
        ("simple", ("simple",)),
        (["max", "none", "max"], ("none", "max")),
        (("Average",), ("average",)),
    ],
)
def test_validate_strategies(value, expected):
    assert validate_strategies(value) == expected


def test_bad_choices_name_the_valid_ones():
    with pytest.raises(UnknownStrategyError, match="unknown aggregation strategy 'bogus': expected one of "
                                                   "none, simple, first, average, max, word."):
        validate_strategies(["simple", "bogus"])
    with pytest.raises(UnknownStrategyError, match="'nope'"):
        validate_strategies("first,nope")
    with pytest.raises(UnknownStrategyError, match="unknown aggregation strategy None"):
        validate_strategies([None])
    for empty in ([], "", " , "):
        with pytest.raises(UnknownStrategyError, match="no strategy chosen: pick at least one of none, simple"):
            validate_strategies(empty)
    with pytest.raises(UnknownStrategyError):
        get_strategy("all")
    assert issubclass(UnknownStrategyError, ValueError)


def _last(window):
    """A made-up sixth strategy: each word takes the label of its LAST sub-token."""
    rows = [end - 1 for _start, end in window.word_bounds()]
    return window.group_words(window.token_best[rows], window.token_score[rows])


SIXTH_ROWS = {
    # a view of nerkit's own, neither a pipeline strategy nor whole-text: the row the old NaN path broke
    "own": dict(name="last", help="each word takes the label of its last sub-token", aggregate=_last,
                whole_entities=True, whole_words=True, pipeline_name=None, whole_text=False,
                reference_view=True, votes_in_disagreements=False, combines_scores=False),
    # a view of nerkit's own that is compared like the pipeline rows: it votes where the strategies disagree
    "own-voting": dict(name="last", help="each word takes the label of its last sub-token", aggregate=_last,
                       whole_entities=True, whole_words=True, pipeline_name=None, whole_text=False,
                       reference_view=False, votes_in_disagreements=True, combines_scores=False),
    # a pipeline strategy under a new name (as a future transformers strategy would arrive)
    "pipeline": dict(name="last", help="each word takes the label of its first sub-token (a second name)",
                     aggregate=dict((s.name, s.aggregate) for s in STRATEGIES)["first"], whole_entities=True,
                     whole_words=True, pipeline_name="first", whole_text=False,
                     reference_view=False, votes_in_disagreements=True, combines_scores=False),
}


@pytest.fixture(params=sorted(SIXTH_ROWS))
def sixth(request, monkeypatch):
    row = Strategy(**SIXTH_ROWS[request.param])
    monkeypatch.setattr(registry, "STRATEGIES", (*STRATEGIES, row))
    return row


def test_a_row_declares_every_capability_and_a_real_pipeline_name():
    with pytest.raises(TypeError):
        Strategy(name="x", help="h", aggregate=_last, whole_entities=True)  # no defaults: the row says what it is
    with pytest.raises(ValueError, match="not one of transformers' aggregation strategies"):
        Strategy(**{**SIXTH_ROWS["pipeline"], "pipeline_name": "longest"})
    from transformers.pipelines.token_classification import AggregationStrategy

    assert {s.value for s in AggregationStrategy} == {s.pipeline_name for s in STRATEGIES if s.pipeline}


def test_a_nan_window_goes_to_the_rows_own_aggregate_not_a_keyerror(monkeypatch, rigged_bert):
    """The old path: a non-pipeline, non-whole-text row sent NaN windows to AggregationStrategy[name.upper()]."""
    import numpy as np
    from transformers import pipeline
    from transformers.pipelines.token_classification import AggregationStrategy

    from nercore.engine import aggregate_windows
    from nercore.grouping import WindowScores

    row = Strategy(**SIXTH_ROWS["own"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = pipeline("token-classification", model=str(rigged_bert))
        enc = pipe.tokenizer(RIGGED_TEXT, return_offsets_mapping=True, return_special_tokens_mask=True)
        scores = np.full((len(enc["input_ids"]), len(pipe.model.config.id2label)), 1 / 9)
        scores[1, :] = np.nan
        pre = pipe.gather_pre_entities(RIGGED_TEXT, enc["input_ids"], scores, enc["offset_mapping"],
                                       np.array(enc["special_tokens_mask"]), AggregationStrategy.SIMPLE)
        window = WindowScores(pipe, pre, ("O",), enc["special_tokens_mask"])
        assert window.fallback
        assert aggregate_windows(pipe, row, [window], 0) == []  # NaN scores decide nothing for it
        with pytest.raises(KeyError):  # what the old code did with the row's name
            pipe.aggregate(pre, AggregationStrategy[row.name.upper()])


def test_a_sixth_strategy_reaches_engine_service_and_ui_from_the_table_alone(sixth, rigged_bert):
    """Adding a row to STRATEGIES is the whole change: nothing else names the strategies."""
    from transformers import pipeline

    from space.config import SpaceConfig
    from nercore.engine import predict_all
    from space.service import Service
    from space.ui import build_demo

    assert validate_strategies(None)[-1] == "last" and get_strategy("last") is sixth
    expected_recommendable = ("first", "average", "max", "last", "simple") if sixth.pipeline else \
        ("first", "average", "max", "simple")  # never a view of nerkit's own: not a pipeline name
    assert recommendable() == expected_recommendable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = pipeline("token-classification", model=str(rigged_bert))
    # "Widodo" = W ##i ##d ##o ##d ##o: its last piece is "O", so the word is no entity (like "average").
    everything = predict_all(pipe, RIGGED_TEXT)
    assert list(everything) == [*STRATEGY_NAMES, "last"]
    assert spans_of(RIGGED_TEXT, everything["word"]) == RIGGED_EXPECTED["max"]
    last = RIGGED_EXPECTED["first" if sixth.pipeline else "average"]
    assert spans_of(RIGGED_TEXT, everything["last"]) == last
    assert predict_all(pipe, RIGGED_TEXT, "last") == {"last": everything["last"]}

    config = SpaceConfig(default_model=str(rigged_bert), device="cpu")
    service = Service(config)
    assert spans_of(RIGGED_TEXT, service.compare(RIGGED_TEXT)["entities"]["last"]) == last
    assert service.predict(RIGGED_TEXT, "last") == everything["last"]
    if not sixth.pipeline:  # `first` finds "Widodo", `last` does not: a region only where its row says it votes
        assert bool(service.compare(RIGGED_TEXT, "first,last")["disagreements"]) == sixth.votes_in_disagreements

    demo = build_demo(config)
    elem_ids = {getattr(block, "elem_id", None) for block in demo.blocks.values()}
    assert {"hl-last", "table-last"} <= elem_ids
    checkboxes = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "strategies")
    assert [choice[1] for choice in checkboxes.choices][-1] == "last"
    api_docs = {f.api_name: f.fn.__doc__ for f in demo.fns.values() if f.api_name in ("compare", "predict")}
    assert all('"last"' in doc for doc in api_docs.values()) and len(api_docs) == 2
    intro = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "intro-more").value
    said = {"own": "The `last` row is nerkit's own view, not a pipeline strategy, shown for reference",
            "own-voting": "The `last` row is nerkit's own view, not a pipeline strategy, compared like the others"}
    for row, sentence in said.items():  # the explanatory text comes from the rows' roles, not from a name
        assert (sentence in intro) == (sixth == Strategy(**SIXTH_ROWS[row]))
    assert "The `word` row is nerkit's own view, not a pipeline strategy, shown for reference" in intro
    assert ("`last`)" in intro) == sixth.pipeline  # a pipeline row is one of the "grouped N ways"


def test_a_sixth_strategy_reaches_evaluate_the_card_and_predict_from_the_table_alone(sixth, tiny_bert, tmp_path):
    import json
    from pathlib import Path

    from toolkit.card import CardOptions, build_card
    from toolkit.data import load_raw_splits
    from toolkit.evaluate import evaluate_model
    from toolkit.labels import prepare_labels
    from toolkit.predict import InputSpec, PredictConfig, predict_corpus

    data = prepare_labels(load_raw_splits(str(Path(__file__).parent / "data" / "tiny_conll")))
    results = evaluate_model(str(tiny_bert), data, "test", output_dir=tmp_path, progress=False, bootstrap=0,
                             strategies="all")
    assert list(results.strategies.results)[-1] == "last"
    card = str(build_card(tmp_path, CardOptions(repo_id="alice/tiny")).card)
    label = "`last`" if sixth.pipeline else "`last` (nerkit's own, not a `pipeline` strategy)"
    assert f"| {label} |" in card or f"| **{label}" in card
    if not sixth.pipeline:  # never the recommendation for `pipeline(...)`, whatever it scored
        assert "aggregation_strategy=\"last\"" not in card and "`last` has the highest" not in card
    (tmp_path / "in.txt").write_text("John Smith lives in London.\n")
    predict_corpus(PredictConfig(str(tiny_bert), InputSpec(str(tmp_path / "in.txt")), tmp_path / "out.jsonl",
                                 strategies="all", progress=False))
    assert list(json.loads((tmp_path / "out.jsonl").read_text())["entities"])[-1] == "last"


def test_the_cards_recommendation_without_results_reads_the_rows_roles(monkeypatch):
    """Issue 24: with no strategy results the card recommended `average` or `first` by name. It takes the first
    recommendable row that keeps words whole and combines scores (trained on every sub-token) or does not."""
    import dataclasses

    from toolkit.card.facts import recommended_strategy

    assert [recommended_strategy({}, "test", how, True)[0] for how in ("all", "first", None)] == ["average", "first",
                                                                                                 "first"]
    renamed = {"first": "initial", "average": "mean"}
    table = tuple(dataclasses.replace(s, name=renamed.get(s.name, s.name)) for s in STRATEGIES)
    monkeypatch.setattr(registry, "STRATEGIES", table)
    assert [recommended_strategy({}, "test", how, True)[0] for how in ("all", "first", None)] == ["mean", "initial",
                                                                                                 "initial"]
    best, why = recommended_strategy({}, "test", "all", True)
    assert "`mean` (each word takes the label with the highest mean score over its sub-tokens)" in why
    table = tuple(dataclasses.replace(s, combines_scores=False) if s.name == "mean" else s for s in table)
    monkeypatch.setattr(registry, "STRATEGIES", table)
    assert recommended_strategy({}, "test", "all", True)[0] == "max"  # the next row that combines scores


@pytest.mark.parametrize("row", ["own", "own-voting"])
def test_the_uis_threshold_dims_by_the_rows_vote_not_its_pipeline(row, monkeypatch):
    """A span that `first` (0.9) and `last` (0.3) both find: where `last` votes, the shared threshold judges it
    by the lower score and dims it in `first` too; a reference row is judged on its own (`votes_in_disagreements`)."""
    from space import ui

    monkeypatch.setattr(registry, "STRATEGIES", (*STRATEGIES, Strategy(**SIXTH_ROWS[row])))
    table = registry.STRATEGIES
    page = ui._Page(*(object() for _ in range(7)), texts={s.name: s.name for s in table})
    span = {"entity_group": "PER", "start": 0, "end": 4, "word": "John"}
    result = {"strategies": ["first", "last"], "disagreements": [], "message": "", "labels": [],
              "entities": {"first": [dict(span, score=0.9)], "last": [dict(span, score=0.3)]}}
    first = ui._dimmed_views(page, table, "John runs.", result, 0.5)[page.texts["first"]]
    assert ('class="ent low"' in first) == Strategy(**SIXTH_ROWS[row]).votes_in_disagreements
