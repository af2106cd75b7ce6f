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


@pytest.fixture
def sixth(monkeypatch):
    row = Strategy("last", "each word takes the label of its last sub-token", True, _last, whole_words=True)
    monkeypatch.setattr(registry, "STRATEGIES", (*STRATEGIES, row))
    return row


def test_a_sixth_strategy_reaches_engine_service_and_ui_from_the_table_alone(sixth, rigged_bert):
    """Adding a row to STRATEGIES is the whole change: nothing else names the strategies."""
    from transformers import pipeline

    from space.config import SpaceConfig
    from nercore.engine import predict_all
    from space.service import Service
    from space.ui import build_demo

    assert validate_strategies(None)[-1] == "last" and get_strategy("last") is sixth
    assert recommendable() == ("first", "average", "max", "last", "simple")  # never "word": not a pipeline name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = pipeline("token-classification", model=str(rigged_bert))
    # "Widodo" = W ##i ##d ##o ##d ##o: its last piece is "O", so the word is no entity (like "average").
    everything = predict_all(pipe, RIGGED_TEXT)
    assert list(everything) == [*STRATEGY_NAMES, "last"]
    assert spans_of(RIGGED_TEXT, everything["word"]) == RIGGED_EXPECTED["max"]
    assert spans_of(RIGGED_TEXT, everything["last"]) == RIGGED_EXPECTED["average"]
    assert predict_all(pipe, RIGGED_TEXT, "last") == {"last": everything["last"]}

    config = SpaceConfig(default_model=str(rigged_bert), device="cpu")
    service = Service(config)
    assert spans_of(RIGGED_TEXT, service.compare(RIGGED_TEXT)["entities"]["last"]) == RIGGED_EXPECTED["average"]
    assert service.predict(RIGGED_TEXT, "last") == everything["last"]

    demo = build_demo(config)
    elem_ids = {getattr(block, "elem_id", None) for block in demo.blocks.values()}
    assert {"hl-last", "table-last"} <= elem_ids
    checkboxes = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "strategies")
    assert [choice[0] for choice in checkboxes.choices][-1] == "last"
    api_docs = {f.api_name: f.fn.__doc__ for f in demo.fns.values() if f.api_name in ("compare", "predict")}
    assert all('"last"' in doc for doc in api_docs.values()) and len(api_docs) == 2
