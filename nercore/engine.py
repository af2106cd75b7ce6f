"""One forward pass per text → the output of every registered aggregation strategy.

Only this module and its helpers (`nercore.windows`, `nercore.grouping`) touch
`TokenClassificationPipeline` internals: its `_sanitize_parameters` + `preprocess` (windows),
the softmax of `postprocess`, `gather_pre_entities` (once per window), `get_tag` and
`aggregate_overlapping_entities`. The strategies themselves come from `nercore.strategies`; the
engine calls each chosen row's `aggregate` on the same scores, because five pipeline calls cost
more than the forward pass on small models. Every strategy's output equals
`pipeline(..., aggregation_strategy=s, stride=stride)(text)`: tests/test_space_contract.py pins
that, and `check_internals` fails loudly first if the methods disappear.

Differences from calling the pipeline once per strategy, all deliberate:
- the model runs once per text (windows of one text, or chunks of many texts, go in padded batches);
- long texts are always windowed with `stride`, also for token-level output ("none"), which the
  pipeline refuses to stride and truncates instead. There a token seen by two windows keeps the
  prediction of the window where it has the most context on both sides (ties: the earlier one),
  and `index` is its position in the whole text's token sequence (special tokens counted as the
  pipeline counts them in the first window);
- everything returned is plain Python (float/int/str), never numpy scalars.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from nercore.context import inference_overlap
from nercore.lengths import position_limit
from nercore.grouping import WindowScores, merge_token_windows, merge_windows, softmax
from nercore.strategies import Strategy, UnknownStrategyError, get_strategy, validate_strategies
from nercore.windows import (
    Encoded,
    InternalsChangedError,
    content,
    default_stride,
    encode,
    forward_windows,
    window_capacity,
    window_step,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_CHARS = 20_000
DEFAULT_WINDOW_BATCH = 8
_INTERNALS = ("_sanitize_parameters", "preprocess", "gather_pre_entities", "aggregate", "aggregate_overlapping_entities")


class InputTooLongError(ValueError):
    """The text exceeds the configured character limit."""


@dataclass
class Prediction:
    """All strategies' entities for one text plus what the UI shows about the run."""

    entities: dict[str, list[dict]]
    num_tokens: int  # tokens of the text without special tokens
    num_windows: int
    forward_s: float  # model forward time (this text's share when batched)
    total_s: float


def check_internals(pipe: Any) -> None:
    """Fail loudly when the pipeline lacks the methods the engine calls."""
    missing = [name for name in _INTERNALS if not callable(getattr(pipe, name, None))]
    if missing:
        raise InternalsChangedError(
            f"{type(pipe).__name__} has no {', '.join(missing)} (transformers changed its token-classification "
            "pipeline); update nercore/engine.py and run tests/test_space_contract.py."
        )
    tokenizer = getattr(pipe, "tokenizer", None)
    if tokenizer is None or not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            "the pipeline needs a fast tokenizer (character offsets, word strategies and windowing depend on it); "
            f"found {type(tokenizer).__name__}."
        )


def word_boundary_method(pipe: Any) -> dict[str, str]:
    """How the pipeline decides which sub-tokens form a word for the word strategies (mirrors gather_pre_entities)."""
    backend = getattr(pipe.tokenizer, "_tokenizer", None)
    prefix = getattr(getattr(backend, "model", None), "continuing_subword_prefix", None) if backend else None
    if prefix:
        return {
            "method": "prefix",
            "description": f"the tokenizer marks word continuations with {prefix!r} ({type(backend.model).__name__}), "
            "so words are real words",
        }
    return {
        "method": "space",
        "description": "no continuation marker in this tokenizer, so the pipeline's space heuristic is used: "
        "a token not preceded by a space continues the previous word (punctuation sticks to words)",
    }


def check_text(text: Any, max_chars: int | None) -> str:
    """`text` when it is a string within `max_chars`; a clear error otherwise."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if max_chars is not None and len(text) > max_chars:
        raise InputTooLongError(
            f"The text has {len(text):,} characters; the limit is {max_chars:,} (NER_MAX_CHARS in the Space). "
            "Split it into parts and send them one by one."
        )
    return text


def window_scores(pipe: Any, text: str, chunk: dict, logits: np.ndarray, ignore_labels: Sequence[str],
                  joined: dict | None = None) -> WindowScores:
    """The pipeline's pre-entities of one window, ready for every strategy (`joined`: token strings
    already decoded, shared by the windows of one text)."""
    from transformers.pipelines.token_classification import AggregationStrategy

    ids, mask = content(chunk)
    offsets = [tuple(pair) for pair in chunk["offset_mapping"][0].tolist()]
    pre = pipe.gather_pre_entities(text, ids, softmax(logits), offsets, np.asarray(mask), AggregationStrategy.SIMPLE)
    return WindowScores(pipe, pre, ignore_labels, mask, text, joined)


def aggregate_windows(pipe: Any, strategy: Strategy, windows: Sequence[WindowScores], step: int) -> list[dict]:
    """One strategy's entities over a whole text, windows merged as the pipeline merges them.

    Token-level output (`whole_entities` False) is merged token by token (`merge_token_windows`);
    entities go through the pipeline's `aggregate_overlapping_entities`. A `whole_text` strategy
    (the word view) aggregates the windows' token scores merged into one (`merge_windows`).
    """
    if strategy.whole_text:
        return strategy.aggregate(merge_windows(windows, step)) if windows else []
    parts = []
    for window in windows:
        if not window.pre:
            parts.append([])
        elif window.fallback and strategy.pipeline_name:  # NaN scores: the pipeline's own nanmean semantics
            parts.append(window.pipeline_aggregate(strategy.pipeline_name, keep_ignored=not strategy.whole_entities))
        elif window.fallback:  # NaN scores decide nothing, and a view of nerkit's own has no pipeline to ask
            log.warning("strategy %r: a window's scores hold NaN; it contributes no entities", strategy.name)
            parts.append([])
        else:
            parts.append(strategy.aggregate(window))
    if not strategy.whole_entities:
        return merge_token_windows(windows, parts, step)
    entities = [e for part in parts for e in part]
    return pipe.aggregate_overlapping_entities(entities) if len(windows) > 1 else entities


def _postprocess(pipe: Any, encoded: Encoded, strategies: Sequence[Strategy], stride: int,
                 ignore_labels: Sequence[str]) -> tuple[dict[str, list[dict]], int]:
    step = window_step(encoded, stride)
    joined: dict = {}  # overlapping windows decode the same words: once per text
    windows = [
        window_scores(pipe, encoded.text, chunk, logits, ignore_labels, joined)
        for chunk, logits in zip(encoded.chunks, encoded.logits)
    ]
    out = {strategy.name: aggregate_windows(pipe, strategy, windows, step) for strategy in strategies}
    num_tokens = step * (len(windows) - 1) + sum(1 for m in windows[-1].special_tokens_mask if not m)
    return out, num_tokens


def _checked_stride(pipe: Any, stride: int | None) -> int:
    capacity = window_capacity(pipe.tokenizer)
    if stride is None:  # a model trained with document context: half-window overlap (nercore.context)
        stride = inference_overlap(getattr(pipe.model, "config", None), capacity) or default_stride(pipe.tokenizer)
    stride = int(stride)
    if not 1 <= stride < capacity:
        raise ValueError(
            f"stride={stride} must be between 1 and {capacity - 1} (the text tokens that fit in one window, minus one)."
        )
    return stride


def predict_detailed_batch(
    pipe: Any,
    texts: Sequence[str],
    strategies: str | Iterable[str] | None = None,
    *,
    batch_size: int = 32,
    stride: int | None = None,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    ignore_labels: Sequence[str] = ("O",),
) -> list[Prediction]:
    """Every chosen strategy's entities, counts and timings for each text; windows of all texts go
    through the model together in padded batches of `batch_size`. `stride`: window overlap in
    tokens (default a quarter window); `max_chars`: longest text accepted (None: no limit);
    `ignore_labels`: labels that mean "no entity"."""
    began = time.perf_counter()
    chosen = [get_strategy(name) for name in validate_strategies(strategies)]
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    check_internals(pipe)
    texts = [check_text(t, max_chars) for t in texts]  # validate all before any work
    stride = _checked_stride(pipe, stride)
    ignore = tuple(ignore_labels)
    results = []
    slice_size = 64 * batch_size  # bounds memory for huge lists; length-sorting happens within a slice
    for first in range(0, len(texts), slice_size):
        encoded = [encode(pipe, t, stride) for t in texts[first : first + slice_size]]
        forward_windows(pipe, encoded, batch_size)
        for e in encoded:
            t0 = time.perf_counter()
            entities, num_tokens = _postprocess(pipe, e, chosen, stride, ignore)
            results.append(Prediction(entities, num_tokens, len(e.chunks), e.forward_s, time.perf_counter() - t0))
        del encoded
    # Share tokenisation/forward overhead evenly; with one text this is just the wall time.
    shared = (time.perf_counter() - began) - sum(r.total_s for r in results)
    for r in results:
        r.total_s += shared / len(results)
    return results


@dataclass
class Pending:
    """One text between `prepare` and `finish`: its windows, whose logits whoever runs the model fills
    in (`nercore.windows.forward_items`), window by window, possibly batched with other texts' windows."""

    encoded: Encoded
    strategies: list[Strategy]
    stride: int
    ignore: tuple[str, ...]
    began: float

    @property
    def num_windows(self) -> int:
        return len(self.encoded.chunks)


def prepare(pipe: Any, text: str, strategies: str | Iterable[str] | None = None, *, stride: int | None = None,
            max_chars: int | None = DEFAULT_MAX_CHARS, ignore_labels: Sequence[str] = ("O",)) -> Pending:
    """Check and cut one text into windows (no model call): the first half of `predict_detailed`, for a
    scheduler that runs windows of many requests fairly. Raises what `predict_detailed` raises."""
    began = time.perf_counter()
    chosen = [get_strategy(name) for name in validate_strategies(strategies)]
    check_internals(pipe)
    text = check_text(text, max_chars)
    stride = _checked_stride(pipe, stride)
    encoded = encode(pipe, text, stride)
    encoded.logits = [None] * len(encoded.chunks)  # type: ignore[list-item]
    return Pending(encoded, chosen, stride, tuple(ignore_labels), began)


def finish(pipe: Any, pending: Pending) -> Prediction:
    """The second half: every strategy's entities once all of the text's windows have logits."""
    if any(logits is None for logits in pending.encoded.logits):
        raise RuntimeError("finish() before every window of the text went through the model")
    entities, num_tokens = _postprocess(pipe, pending.encoded, pending.strategies, pending.stride, pending.ignore)
    return Prediction(entities, num_tokens, pending.num_windows, pending.encoded.forward_s,
                      time.perf_counter() - pending.began)


def predict_detailed(pipe: Any, text: str, strategies: str | Iterable[str] | None = None, *,
                     window_batch_size: int = DEFAULT_WINDOW_BATCH, **options: Any) -> Prediction:
    """`predict_all` plus token/window counts and timings (what the UI shows)."""
    return predict_detailed_batch(pipe, [text], strategies, batch_size=window_batch_size, **options)[0]


def predict_all(pipe: Any, text: str, strategies: str | Iterable[str] | None = None,
                **options: Any) -> dict[str, list[dict]]:
    """{strategy: entities} for `text` from ONE forward pass (one per window for long texts).

    `strategies`: names as `validate_strategies` takes them; None means every registered one.
    `options`: `stride`, `max_chars`, `ignore_labels`, as `predict_detailed_batch` takes them.
    Token-level entities ("none") have the pipeline's keys `entity, score, index, word, start, end`;
    the others `entity_group, score, word, start, end`. Offsets index the original `text`.
    Raises InputTooLongError beyond `max_chars` characters, UnknownStrategyError for a bad name.
    """
    return predict_detailed(pipe, text, strategies, **options).entities


def predict_all_batch(pipe: Any, texts: Sequence[str], strategies: str | Iterable[str] | None = None,
                      batch_size: int = 32, **options: Any) -> list[dict[str, list[dict]]]:
    """`predict_all` for many texts: one forward per text, windows of all texts in padded batches
    of `batch_size` (sorted by length), results in input order. For evaluating thousands of sentences."""
    return [p.entities for p in predict_detailed_batch(pipe, texts, strategies, batch_size=batch_size, **options)]


__all__ = [
    "DEFAULT_MAX_CHARS", "InputTooLongError", "InternalsChangedError", "Pending", "Prediction", "UnknownStrategyError",
    "aggregate_windows", "check_internals", "check_text", "default_stride", "finish", "position_limit", "predict_all",
    "predict_all_batch", "predict_detailed", "predict_detailed_batch", "prepare", "window_capacity", "window_scores",
    "word_boundary_method",
]
