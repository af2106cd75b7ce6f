"""The aggregation strategies: one ordered table that the engine, the Space, the card and the CLI all read.

Each `Strategy.aggregate` turns one window's token scores (a `nercore.grouping.WindowScores`) into
that window's entities exactly as transformers' `pipeline(..., aggregation_strategy=name)` would;
the engine runs the model once and calls every chosen entry's `aggregate` on the same scores.
Adding a strategy means adding a row to `STRATEGIES` (and its tests), nothing else: every reader
(engine, Space, card, `evaluate`, `predict`) reads the table at call time (`names()`,
`pipeline_names()`, `get_strategy`), and a row declares everything it is; no capability has a default.

The last row, `word`, is nerkit's own tokenizer-independent word view (`nercore.words`), not one of
transformers' `aggregation_strategy` values. Each role is its own field, so no reader infers one
from another: `pipeline_name` None only means "no `aggregation_strategy` value" (kept out of
`pipeline_names()` and `recommendable`); `reference_view` says the Space shows the row for
reference; `votes_in_disagreements` (see `reference_names()`) whether its spans count where the
strategies disagree; `combines_scores` whether a temperature can move its entities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

import numpy as np

from nercore.errors import shown
from nercore.words import RULE_HELP, word_entities

if TYPE_CHECKING:  # only for the annotation: the window object comes from the engine
    from nercore.grouping import WindowScores


class UnknownStrategyError(ValueError):
    """A strategy name that is not in the registry; the message lists the valid ones."""


@dataclass(frozen=True, kw_only=True)
class Strategy:
    """One row of the registry; every field is declared by the row (none has a default).

    `whole_entities` is False only for token-level output (one entity per token, B-/I- kept), which
    the engine merges across windows token by token; entity output goes through the pipeline's own
    overlap merge. `whole_words` marks strategies that never split a word between entities: the
    card recommends those first. `pipeline_name` is the transformers `aggregation_strategy` value the
    row reproduces (what the card's snippet passes to `pipeline(...)`, and what the engine asks the
    pipeline for on NaN scores), or None for a view of nerkit's own (`word`): never recommended for
    `pipeline(...)`, no contract with it, and its own `aggregate` handles every window. `whole_text`
    strategies get one WindowScores over the whole text (overlapping windows merged token by token)
    instead of one per window, so a word is never cut by a window edge.

    `reference_view` rows are shown beside the compared ones as a reference (the Space says so, from
    the row). `votes_in_disagreements` is False for rows whose spans neither make nor grow a
    disagreement region nor count in the threshold shared by the compared rows (`reference_names()`;
    `nercore.spans.disagreements`, `nercore.thresholds`); a reference view never votes.
    `combines_scores` marks rows whose word labels compare or average probabilities across a word's
    sub-tokens, so rescaling the scores (a temperature, `nerkit calibrate`) can move their entities;
    the others follow each sub-token's argmax.
    """

    name: str
    help: str  # one line, shown in the UI and in --help
    aggregate: Callable[["WindowScores"], list[dict]]
    whole_entities: bool
    whole_words: bool
    pipeline_name: str | None
    whole_text: bool
    reference_view: bool
    votes_in_disagreements: bool
    combines_scores: bool

    def __post_init__(self) -> None:
        if self.reference_view and self.votes_in_disagreements:
            raise ValueError(f"strategy {self.name!r}: a reference view is shown for reference, so it cannot vote in "
                             "disagreements (set votes_in_disagreements=False).")
        if self.pipeline_name is not None and self.pipeline_name not in _TRANSFORMERS_STRATEGIES:
            raise ValueError(f"strategy {self.name!r}: pipeline_name {self.pipeline_name!r} is not one of transformers' "
                             f"aggregation strategies ({', '.join(_TRANSFORMERS_STRATEGIES)}); use None for a view of "
                             "nerkit's own.")

    @property
    def pipeline(self) -> bool:
        """Whether `pipeline(..., aggregation_strategy=...)` can produce this row."""
        return self.pipeline_name is not None


# transformers' AggregationStrategy values (transformers.pipelines.token_classification); checked
# against the installed transformers by tests/test_space_strategies.py.
_TRANSFORMERS_STRATEGIES = ("none", "simple", "first", "average", "max")


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
    Strategy(name="none", help="every token with its own B-/I- label, no grouping", aggregate=_tokens,
             whole_entities=False, whole_words=False, pipeline_name="none", whole_text=False,
             reference_view=False, votes_in_disagreements=True, combines_scores=False),
    Strategy(name="simple", help="adjacent tokens with the same type grouped; a word can be split between entities",
             aggregate=_simple, whole_entities=True, whole_words=False, pipeline_name="simple", whole_text=False,
             reference_view=False, votes_in_disagreements=True, combines_scores=False),
    Strategy(name="first", help="each word takes the label of its first sub-token", aggregate=_first,
             whole_entities=True, whole_words=True, pipeline_name="first", whole_text=False, reference_view=False,
             votes_in_disagreements=True, combines_scores=False),
    Strategy(name="average", help="each word takes the label with the highest mean score over its sub-tokens",
             aggregate=_average, whole_entities=True, whole_words=True, pipeline_name="average",
             whole_text=False, reference_view=False, votes_in_disagreements=True, combines_scores=True),
    Strategy(name="max", help="each word takes the label of its most confident sub-token", aggregate=_max,
             whole_entities=True, whole_words=True, pipeline_name="max", whole_text=False,
             reference_view=False, votes_in_disagreements=True, combines_scores=True),
    Strategy(name="word", help=RULE_HELP, aggregate=_word, whole_entities=True, whole_words=True, pipeline_name=None,
             whole_text=True, reference_view=True, votes_in_disagreements=False, combines_scores=True),
)


def names() -> tuple[str, ...]:
    """Every row's name, in table order. Read at call time, so a new row (or a test's table) is seen everywhere."""
    return tuple(s.name for s in STRATEGIES)


def pipeline_names() -> tuple[str, ...]:
    """The rows `pipeline(...)` can produce, for code that builds or names a pipeline."""
    return tuple(s.name for s in STRATEGIES if s.pipeline)


def reference_names() -> tuple[str, ...]:
    """Rows that do not vote in disagreements (`votes_in_disagreements` False): the `reference` argument of
    `nercore.spans.disagreements` and `nercore.thresholds`."""
    return tuple(s.name for s in STRATEGIES if not s.votes_in_disagreements)


def __getattr__(attribute: str):
    """`STRATEGY_NAMES` and `PIPELINE_STRATEGY_NAMES`, computed from the table when read (PEP 562)."""
    if attribute == "STRATEGY_NAMES":
        return names()
    if attribute == "PIPELINE_STRATEGY_NAMES":
        return pipeline_names()
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")



def get_strategy(name: str) -> Strategy:
    """The registry row called `name` (case and surrounding spaces ignored)."""
    wanted = str(name).strip().lower()
    for strategy in STRATEGIES:
        if strategy.name == wanted:
            return strategy
    raise UnknownStrategyError(f"unknown aggregation strategy {shown(name)}: expected one of {', '.join(names())}.")


def validate_strategies(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Canonical, de-duplicated names in table order.

    None or "all" means every strategy; a string is comma-separated ("first,average"); an empty
    choice is an error, because a request that asks for nothing is almost always a mistake.
    """
    if value is None or (isinstance(value, str) and value.strip().lower() == "all"):
        return names()
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    chosen = set()
    for raw in value:
        if raw is None:
            raise UnknownStrategyError(f"unknown aggregation strategy None: expected one of {', '.join(names())}.")
        chosen.add(get_strategy(raw).name)
    if not chosen:
        raise UnknownStrategyError(f"no strategy chosen: pick at least one of {', '.join(names())}.")
    return tuple(name for name in names() if name in chosen)


def recommendable() -> tuple[str, ...]:
    """Pipeline strategies whose output are whole entities, best first: word-keeping ones, then the others.

    Only pipeline rows: the recommendation goes into `pipeline(..., aggregation_strategy=...)`."""
    whole = [s for s in STRATEGIES if s.whole_entities and s.pipeline]
    return tuple(s.name for s in sorted(whole, key=lambda s: not s.whole_words))


def best_recommendable(f1: Mapping[str, float]) -> str | None:
    """The recommendable strategy with the highest F1 in `f1` (ties: the earlier in `recommendable()`);
    None when none was measured or all scored 0. The card's recommendation and calibration's choice."""
    order = recommendable()
    candidates = [name for name in order if name in f1]
    if not candidates:
        return None
    best = max(candidates, key=lambda name: (f1[name], -order.index(name)))
    return best if f1[best] > 0 else None


__all__ = [
    "STRATEGIES", "Strategy", "UnknownStrategyError", "best_recommendable", "get_strategy", "names", "pipeline_names",
    "recommendable", "reference_names",
    "validate_strategies",
]
