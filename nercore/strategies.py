"""The aggregation strategies: one ordered table that the engine, the Space, the card and the CLI all read.

Each `Strategy.aggregate` turns one window's token scores (a `nercore.grouping.WindowScores`) into
that window's entities exactly as transformers' `pipeline(..., aggregation_strategy=name)` would;
the engine runs the model once and calls every chosen entry's `aggregate` on the same scores.
Adding a strategy means adding a row to `STRATEGIES` (and its tests), nothing else.

The last row, `word`, is nerkit's own tokenizer-independent word view (`nercore.words`), not one of
transformers' `aggregation_strategy` values: its `pipeline` field is False, so readers can label it
and keep it out of what needs a pipeline name (`PIPELINE_STRATEGY_NAMES`, `recommendable`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np

from nercore.words import RULE_HELP, word_entities

if TYPE_CHECKING:  # only for the annotation: the window object comes from the engine
    from nercore.grouping import WindowScores


class UnknownStrategyError(ValueError):
    """A strategy name that is not in the registry; the message lists the valid ones."""


@dataclass(frozen=True)
class Strategy:
    """One row of the registry.

    `whole_entities` is False only for token-level output (one entity per token, B-/I- kept), which
    the engine merges across windows token by token; entity output goes through the pipeline's own
    overlap merge. `whole_words` marks strategies that never split a word between entities: the
    card recommends those first. `pipeline` is False for a strategy that is not one of transformers'
    `aggregation_strategy` values (nerkit's own `word` view): it cannot be passed to `pipeline(...)`,
    is never recommended for it and has no contract with it. `whole_text` strategies get one
    WindowScores over the whole text (overlapping windows merged token by token) instead of one per
    window, so a word is never cut by a window edge.
    """

    name: str
    help: str  # one line, shown in the UI and in --help
    whole_entities: bool
    aggregate: Callable[["WindowScores"], list[dict]]
    whole_words: bool = False
    pipeline: bool = True
    whole_text: bool = False


def _tokens(window: "WindowScores") -> list[dict]:
    return window.tokens()


def _simple(window: "WindowScores") -> list[dict]:
    return window.group_tokens()


def _first(window: "WindowScores") -> list[dict]:
    rows = [start for start, _end in window.word_bounds()]
    return window.group_words(window.token_best[rows], window.token_score[rows])


def _max(window: "WindowScores") -> list[dict]:
    token_max = window.scores.max(axis=1)
    rows = [start if end - start == 1 else start + int(token_max[start:end].argmax())
            for start, end in window.word_bounds()]
    return window.group_words(window.token_best[rows], window.token_score[rows])


def _average(window: "WindowScores") -> list[dict]:
    words = window.word_bounds()
    rows = [start for start, _end in words]
    best, score = window.token_best[rows], window.token_score[rows]  # a one-token word is its token
    for w, (start, end) in enumerate(words):
        if end - start > 1:  # exactly the pipeline's nanmean, so ties break the same way
            average = np.nanmean(window.scores[start:end], axis=0)
            best[w] = average.argmax()
            score[w] = average[best[w]]
    return window.group_words(best, score)


def _word(window: "WindowScores") -> list[dict]:
    if not window.pre:
        return []
    return word_entities(window.text, window.pre, window.labels, window.ignore)


STRATEGIES: tuple[Strategy, ...] = (
    Strategy("none", "every token with its own B-/I- label, no grouping", False, _tokens),
    Strategy("simple", "adjacent tokens with the same type grouped; a word can be split between entities",
             True, _simple),
    Strategy("first", "each word takes the label of its first sub-token", True, _first, whole_words=True),
    Strategy("average", "each word takes the label with the highest mean score over its sub-tokens", True,
             _average, whole_words=True),
    Strategy("max", "each word takes the label of its most confident sub-token", True, _max, whole_words=True),
    Strategy("word", RULE_HELP, True, _word, whole_words=True, pipeline=False, whole_text=True),
)
STRATEGY_NAMES: tuple[str, ...] = tuple(s.name for s in STRATEGIES)
# transformers' own aggregation_strategy values, for code that builds or names a pipeline.
PIPELINE_STRATEGY_NAMES: tuple[str, ...] = tuple(s.name for s in STRATEGIES if s.pipeline)


def _names() -> tuple[str, ...]:
    # The table is read at call time, so a test that swaps STRATEGIES sees its own rows everywhere.
    return tuple(s.name for s in STRATEGIES)


def get_strategy(name: str) -> Strategy:
    """The registry row called `name` (case and surrounding spaces ignored)."""
    wanted = str(name).strip().lower()
    for strategy in STRATEGIES:
        if strategy.name == wanted:
            return strategy
    raise UnknownStrategyError(f"unknown aggregation strategy {name!r}: expected one of {', '.join(_names())}.")


def validate_strategies(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Canonical, de-duplicated names in table order.

    None or "all" means every strategy; a string is comma-separated ("first,average"); an empty
    choice is an error, because a request that asks for nothing is almost always a mistake.
    """
    if value is None or (isinstance(value, str) and value.strip().lower() == "all"):
        return _names()
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    chosen = set()
    for raw in value:
        if raw is None:
            raise UnknownStrategyError(f"unknown aggregation strategy None: expected one of {', '.join(_names())}.")
        chosen.add(get_strategy(raw).name)
    if not chosen:
        raise UnknownStrategyError(f"no strategy chosen: pick at least one of {', '.join(_names())}.")
    return tuple(name for name in _names() if name in chosen)


def recommendable() -> tuple[str, ...]:
    """Pipeline strategies whose output are whole entities, best first: word-keeping ones, then the others.

    Only pipeline rows: the recommendation goes into `pipeline(..., aggregation_strategy=...)`."""
    whole = [s for s in STRATEGIES if s.whole_entities and s.pipeline]
    return tuple(s.name for s in sorted(whole, key=lambda s: not s.whole_words))


__all__ = [
    "PIPELINE_STRATEGY_NAMES", "STRATEGIES", "STRATEGY_NAMES", "Strategy", "UnknownStrategyError", "get_strategy", "recommendable",
    "validate_strategies",
]
