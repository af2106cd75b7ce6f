"""One forward pass per text → the outputs of all five aggregation strategies.

This is the ONLY module that touches `TokenClassificationPipeline` internals. It reuses the
pipeline's own `_sanitize_parameters` + `preprocess` (tokenisation and stride windowing), the
softmax of `postprocess`, `gather_pre_entities` (once per window), `get_tag` and
`aggregate_overlapping_entities`; the five `aggregate` calls are replaced by one equivalent pass
(`_WindowAggregator`: argmaxes once, word groups shared, word strings decoded only for kept
entities) because five pipeline `aggregate` calls cost more than the forward pass on small models.
Every strategy's output equals `pipeline(..., aggregation_strategy=s, stride=stride)(text)`:
tests/test_space_contract.py pins that on real pipelines and pins `_WindowAggregator` to
`pipe.aggregate` on random scores, and `check_internals` fails loudly first if the methods
disappear, so a transformers upgrade that changes them breaks a test rather than the Space.

Differences from calling the pipeline five times, all deliberate:
- the model runs once per text (windows of one text, or chunks of many texts, go in padded
  batches; padding is on the right with attention mask 0, so real tokens see the same context);
- long texts are always windowed with `stride`, also for "none" (the pipeline refuses
  stride with "none" and truncates instead). For "none", a token seen by two windows keeps the
  prediction of the window where it has the most context on both sides (ties: the earlier
  window), and `index` is its position in the whole text's token sequence (special tokens
  counted as the pipeline counts them in the first window), not in its window;
- everything returned is plain Python (float/int/str), never numpy scalars.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from space import ALL_STRATEGIES

DEFAULT_MAX_CHARS = 20_000
DEFAULT_WINDOW_BATCH = 8
_NOT_FOR_MODEL = ("special_tokens_mask", "offset_mapping", "sentence", "is_last", "word_ids", "word_to_chars_map")
_INTERNALS = ("_sanitize_parameters", "preprocess", "gather_pre_entities", "aggregate", "aggregate_overlapping_entities")

STRATEGY_HELP = {
    "none": "every token with its own B-/I- label, no grouping",
    "simple": "adjacent tokens with the same type grouped; a word can be split between entities",
    "first": "each word takes the label of its first sub-token",
    "average": "each word takes the label with the highest mean score over its sub-tokens",
    "max": "each word takes the label of its most confident sub-token",
}


class InputTooLongError(ValueError):
    """The text exceeds the configured character limit."""


class UnknownStrategyError(ValueError):
    """A strategy name that is not one of ALL_STRATEGIES."""


class InternalsChangedError(RuntimeError):
    """transformers no longer behaves the way this module relies on; update space/inference.py."""


@dataclass
class Prediction:
    """All strategies' entities for one text plus what the UI shows about the run."""

    entities: dict[str, list[dict]]
    num_tokens: int  # tokens of the text without special tokens
    num_windows: int
    forward_s: float  # model forward time (this text's share when batched)
    total_s: float


def validate_strategies(strategies: str | Iterable[str] | None) -> tuple[str, ...]:
    """Canonical, de-duplicated strategy names in ALL_STRATEGIES order; None means all five."""
    if strategies is None:
        return ALL_STRATEGIES
    if isinstance(strategies, str):
        strategies = [strategies]
    names = []
    for raw in strategies:
        name = str(raw).strip().lower() if raw is not None else ""
        if name not in ALL_STRATEGIES:
            raise UnknownStrategyError(
                f"unknown aggregation strategy {raw!r}: expected one of {', '.join(ALL_STRATEGIES)}."
            )
        names.append(name)
    if not names:
        raise UnknownStrategyError(f"no strategy chosen: pick at least one of {', '.join(ALL_STRATEGIES)}.")
    return tuple(s for s in ALL_STRATEGIES if s in names)


def check_internals(pipe: Any) -> None:
    """Fail loudly when the pipeline lacks the methods this module calls."""
    missing = [name for name in _INTERNALS if not callable(getattr(pipe, name, None))]
    if missing:
        raise InternalsChangedError(
            f"{type(pipe).__name__} has no {', '.join(missing)} (transformers changed its token-classification "
            "pipeline); update space/inference.py and run tests/test_space_contract.py."
        )
    tokenizer = getattr(pipe, "tokenizer", None)
    if tokenizer is None or not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            "the pipeline needs a fast tokenizer (character offsets, word strategies and windowing depend on it); "
            f"found {type(tokenizer).__name__}."
        )


def default_stride(tokenizer: Any) -> int:
    """Overlap between windows: a quarter of a window (127 tokens for 512-token models)."""
    capacity = window_capacity(tokenizer)
    return max(1, capacity // 4)


def window_capacity(tokenizer: Any) -> int:
    """Text tokens per window: model_max_length minus the special tokens added around them."""
    max_length = getattr(tokenizer, "model_max_length", None)
    if not isinstance(max_length, int) or max_length <= 0 or max_length > 100_000:
        raise ValueError(
            f"tokenizer.model_max_length is {max_length!r}; set it to the model's limit (e.g. 512) before inference "
            "(space.model.get_pipeline does this from the model config)."
        )
    capacity = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    if capacity < 2:
        raise ValueError(f"tokenizer.model_max_length={max_length} leaves no room for text tokens.")
    return capacity


def word_boundary_method(pipe: Any) -> dict[str, str]:
    """How the pipeline decides which sub-tokens form a word for first/average/max (mirrors gather_pre_entities)."""
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


_locks: "weakref.WeakKeyDictionary[Any, threading.Lock]" = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def _tokenizer_lock(pipe: Any) -> threading.Lock:
    # Fast tokenizers keep truncation/padding state in Rust and fail ("Already borrowed") when
    # two threads tokenise with the same object at once.
    with _locks_guard:
        lock = _locks.get(pipe)
        if lock is None:
            lock = _locks[pipe] = threading.Lock()
        return lock


@dataclass
class _Encoded:
    text: str
    chunks: list[dict]  # the pipeline's preprocess output, one dict per window
    logits: list[np.ndarray] = field(default_factory=list)
    forward_s: float = 0.0


def _check_text(text: Any, max_chars: int | None) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if max_chars is not None and len(text) > max_chars:
        raise InputTooLongError(
            f"the text has {len(text):,} characters; the limit is {max_chars:,}. "
            "Split it into parts, or raise the limit (max_chars / NER_MAX_CHARS)."
        )
    return text


def _encode(pipe: Any, text: str, stride: int) -> _Encoded:
    preprocess_params, _, _ = pipe._sanitize_parameters(aggregation_strategy="simple", stride=stride)
    with _tokenizer_lock(pipe):
        chunks = list(pipe.preprocess(text, **preprocess_params))
    if not chunks:
        raise InternalsChangedError("pipeline.preprocess yielded no window; update space/inference.py.")
    return _Encoded(text=text, chunks=chunks)


def _forward(pipe: Any, encoded: Sequence[_Encoded], batch_size: int) -> None:
    """Run every window of every text through the model in right-padded batches; store float32 logits."""
    import torch

    items = [(e, i) for e in encoded for i in range(len(e.chunks))]
    # Similar lengths together: less padding.
    items.sort(key=lambda item: item[0].chunks[item[1]]["input_ids"].shape[-1])
    for e in encoded:
        e.logits = [None] * len(e.chunks)  # type: ignore[list-item]
        e.forward_s = 0.0
    pad_id = pipe.tokenizer.pad_token_id
    pad_id = 0 if pad_id is None else int(pad_id)
    pad_type = int(getattr(pipe.tokenizer, "pad_token_type_id", 0) or 0)
    device = pipe.device
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        rows = [e.chunks[i] for e, i in batch]
        lengths = [row["input_ids"].shape[-1] for row in rows]
        width = max(lengths)
        keys = [k for k in rows[0] if k not in _NOT_FOR_MODEL]
        model_inputs = {}
        for key in keys:
            fill = pad_id if key == "input_ids" else pad_type if key == "token_type_ids" else 0
            parts = []
            for row, length in zip(rows, lengths):
                value = row[key]
                if length < width:
                    value = torch.nn.functional.pad(value, (0, width - length), value=fill)
                parts.append(value)
            model_inputs[key] = torch.cat(parts, dim=0).to(device)
        began = time.perf_counter()
        with torch.inference_mode():
            output = pipe.model(**model_inputs)
            logits = output["logits"] if isinstance(output, dict) else output[0]
            logits = logits.to(torch.float32).cpu().numpy()
        elapsed = time.perf_counter() - began
        for (e, i), length, row_logits in zip(batch, lengths, logits):
            e.logits[i] = row_logits[:length]
            e.forward_s += elapsed * length / sum(lengths)


def _softmax(logits: np.ndarray) -> np.ndarray:
    # Exactly TokenClassificationPipeline.postprocess's float32 numpy softmax.
    maxes = np.max(logits, axis=-1, keepdims=True)
    shifted_exp = np.exp(logits - maxes)
    return shifted_exp / shifted_exp.sum(axis=-1, keepdims=True)


def _content(chunk: dict) -> tuple[list[int], list[int]]:
    ids = chunk["input_ids"][0].tolist()
    mask = chunk["special_tokens_mask"][0].tolist()
    return ids, mask


def _window_step(encoded: _Encoded, stride: int) -> int:
    """Content tokens between the starts of consecutive windows; verifies the overlap really is there."""
    if len(encoded.chunks) == 1:
        return 0
    contents = []
    for chunk in encoded.chunks:
        ids, mask = _content(chunk)
        contents.append([t for t, m in zip(ids, mask) if not m])
    capacity = len(contents[0])
    step = capacity - stride
    for i in range(1, len(contents)):
        previous, current = contents[i - 1], contents[i]
        overlap = len(previous) - step
        if step <= 0 or overlap <= 0 or previous[step:] != current[:overlap]:
            raise InternalsChangedError(
                "the tokenizer's overflowing windows are no longer consecutive slices overlapping by `stride` "
                f"tokens (window {i}); update space/inference.py."
            )
    return step


def _postprocess(pipe: Any, encoded: _Encoded, strategies: Sequence[str], stride: int, ignore_labels: Sequence[str]):
    from transformers.pipelines.token_classification import AggregationStrategy

    text = encoded.text
    step = _window_step(encoded, stride)
    windows = []
    for chunk, logits in zip(encoded.chunks, encoded.logits):
        ids, mask = _content(chunk)
        offsets = [tuple(pair) for pair in chunk["offset_mapping"][0].tolist()]
        pre = pipe.gather_pre_entities(text, ids, _softmax(logits), offsets, np.asarray(mask), AggregationStrategy.SIMPLE)
        windows.append((_WindowAggregator(pipe, pre, ignore_labels), mask))

    out: dict[str, list[dict]] = {}
    for name in strategies:
        if name == "none":
            out[name] = _none_entities(windows, step, ignore_labels)
            continue
        entities = [e for aggregator, _mask in windows for e in aggregator.grouped(name)]
        if len(windows) > 1:
            entities = pipe.aggregate_overlapping_entities(entities)
        out[name] = entities
    num_tokens = step * (len(windows) - 1) + sum(1 for m in windows[-1][1] if not m)
    return out, num_tokens


class _WindowAggregator:
    """All strategies' entities for one window from one list of pre-entities.

    Equivalent to `pipe.aggregate(pre_entities, s)` followed by postprocess's ignore_labels filter
    (and tested against exactly that), but faster when five strategies are wanted: token argmaxes
    are computed once and vectorised, word groups are shared by first/average/max, and decoded
    word strings are only built for entities that survive the filter. It still calls the
    pipeline's own `get_tag` and the tokenizer's `convert_tokens_to_string`, and falls back to
    `pipe.aggregate` itself when scores contain NaN (nanmean semantics).
    """

    def __init__(self, pipe: Any, pre: list[dict], ignore_labels: Sequence[str]):
        self.pipe = pipe
        self.pre = pre
        self.ignore = tuple(ignore_labels)
        self.fallback = False
        if not pre:
            return
        scores = np.stack([p["scores"] for p in pre])
        if np.isnan(scores).any():
            self.fallback = True
            return
        id2label = pipe.model.config.id2label
        self.labels = [id2label[i] for i in range(scores.shape[1])]
        self.tags = {label: pipe.get_tag(label) for label in self.labels}
        self.scores = scores
        self.token_best = scores.argmax(axis=1)
        self.token_score = scores[np.arange(len(pre)), self.token_best]
        self._word_strings: dict[int, str] = {}
        self._words = None

    def _fallback(self, name: str) -> list[dict]:
        from transformers.pipelines.token_classification import AggregationStrategy

        entities = self.pipe.aggregate(self.pre, AggregationStrategy[name.upper()])
        return [
            _plain(e) for e in entities
            if e.get("entity", None) not in self.ignore and e.get("entity_group", None) not in self.ignore
        ]

    def none_all(self) -> list[dict]:
        """One entity per token, "O" included (filtered by the caller)."""
        if not self.pre:
            return []
        if self.fallback:
            saved, self.ignore = self.ignore, ()
            try:
                return self._fallback("none")
            finally:
                self.ignore = saved
        labels, best, score = self.labels, self.token_best, self.token_score
        return [
            {"entity": labels[best[i]], "score": float(score[i]), "index": int(p["index"]), "word": p["word"],
             "start": p["start"], "end": p["end"]}
            for i, p in enumerate(self.pre)
        ]

    def _word_bounds(self) -> list[tuple[int, int]]:
        # aggregate_words: the first token always opens a word; a non-subword token opens the next.
        if self._words is None:
            starts = [i for i, p in enumerate(self.pre) if i == 0 or not p["is_subword"]]
            self._words = list(zip(starts, starts[1:] + [len(self.pre)]))
        return self._words

    def _word_string(self, w: int) -> str:
        if w not in self._word_strings:
            s, e = self._words[w]
            self._word_strings[w] = self.pipe.tokenizer.convert_tokens_to_string([p["word"] for p in self.pre[s:e]])
        return self._word_strings[w]

    def grouped(self, name: str) -> list[dict]:
        if not self.pre:
            return []
        if self.fallback:
            return self._fallback(name)
        labels, pre = self.labels, self.pre
        if name == "simple":
            items = [(labels[b], float(sc), p["start"], p["end"], p["word"])
                     for b, sc, p in zip(self.token_best, self.token_score, pre)]
            return self._group(items, word_of=lambda item: item[4])
        words = self._word_bounds()
        if name == "first":
            rows = [s for s, _e in words]
            best, score = self.token_best[rows], self.token_score[rows]
        elif name == "max":
            token_max = self.scores.max(axis=1)
            rows = [s + int(np.argmax(token_max[s:e])) for s, e in words]
            best, score = self.token_best[rows], self.token_score[rows]
        elif name == "average":
            rows = [s for s, _e in words]
            best, score = self.token_best[rows], self.token_score[rows]  # a one-token word is its token
            for w, (s, e) in enumerate(words):
                if e - s > 1:  # exactly aggregate_word's nanmean, so ties break the same way
                    average = np.nanmean(np.stack([p["scores"] for p in pre[s:e]]), axis=0)
                    best[w] = average.argmax()
                    score[w] = average[best[w]]
        else:
            raise UnknownStrategyError(f"unknown aggregation strategy {name!r}")
        items = [(labels[b], float(sc), pre[s]["start"], pre[e - 1]["end"], w)
                 for w, (b, sc, (s, e)) in enumerate(zip(best, score, words))]
        return self._group(items, word_of=lambda item: self._word_string(item[4]))

    def _group(self, items: list[tuple], word_of) -> list[dict]:
        """The pipeline's group_entities + group_sub_entities + ignore_labels filter."""
        tags, out = self.tags, []

        def emit(group):
            entity_group = group[0][0].split("-", 1)[-1]
            if entity_group in self.ignore:
                return
            out.append({
                "entity_group": entity_group,
                "score": sum(item[1] for item in group) / len(group),
                "word": self.pipe.tokenizer.convert_tokens_to_string([word_of(item) for item in group]),
                "start": group[0][2],
                "end": group[-1][3],
            })

        current: list[tuple] = []
        for item in items:
            if current:
                bi, tag = tags[item[0]]
                _last_bi, last_tag = tags[current[-1][0]]
                if tag == last_tag and bi != "B":
                    current.append(item)
                    continue
                emit(current)
            current = [item]
        if current:
            emit(current)
        return out


def _none_entities(windows: list, step: int, ignore_labels: Sequence[str]) -> list[dict]:
    if len(windows) == 1:
        return [e for e in windows[0][0].none_all() if e["entity"] not in ignore_labels]
    best: dict[int, tuple[int, int, dict]] = {}  # global index -> (context, -window, entity)
    for window, (aggregator, mask) in enumerate(windows):
        content_positions = [i for i, m in enumerate(mask) if not m]
        first, last = content_positions[0], content_positions[-1]
        for entity in aggregator.none_all():
            local = entity["index"]
            context = min(local - first, last - local)
            global_index = local + window * step
            candidate = (context, -window)
            if global_index not in best or candidate > best[global_index][:2]:
                entity["index"] = global_index
                best[global_index] = (context, -window, entity)
    return [best[i][2] for i in sorted(best) if best[i][2]["entity"] not in ignore_labels]


def _plain(entity: dict) -> dict:
    """numpy scalars → Python; key order kept as the pipeline makes it."""
    out = {}
    for key, value in entity.items():
        if isinstance(value, np.generic):
            value = value.item()
        if key == "score":
            value = float(value)
        elif key in ("start", "end", "index") and value is not None:
            value = int(value)
        elif key in ("entity", "entity_group", "word"):
            value = str(value)
        out[key] = value
    return out


def predict_detailed(
    pipe: Any,
    text: str,
    strategies: Iterable[str] | None = ALL_STRATEGIES,
    *,
    stride: int | None = None,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    ignore_labels: Sequence[str] = ("O",),
    window_batch_size: int = DEFAULT_WINDOW_BATCH,
) -> Prediction:
    """`predict_all` plus token/window counts and timings (what the UI shows)."""
    return predict_detailed_batch(
        pipe, [text], strategies, batch_size=window_batch_size, stride=stride, max_chars=max_chars,
        ignore_labels=ignore_labels,
    )[0]


def predict_detailed_batch(
    pipe: Any,
    texts: Sequence[str],
    strategies: Iterable[str] | None = ALL_STRATEGIES,
    *,
    batch_size: int = 32,
    stride: int | None = None,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    ignore_labels: Sequence[str] = ("O",),
) -> list[Prediction]:
    began = time.perf_counter()
    names = validate_strategies(strategies)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    check_internals(pipe)
    texts = [_check_text(t, max_chars) for t in texts]  # validate all before any work
    stride = default_stride(pipe.tokenizer) if stride is None else int(stride)
    if not 1 <= stride < window_capacity(pipe.tokenizer):
        raise ValueError(
            f"stride={stride} must be between 1 and {window_capacity(pipe.tokenizer) - 1} "
            "(the text tokens that fit in one window, minus one)."
        )
    ignore = tuple(ignore_labels)
    results = []
    slice_size = 64 * batch_size  # bounds memory for huge lists; length-sorting happens within a slice
    for first in range(0, len(texts), slice_size):
        encoded = [_encode(pipe, t, stride) for t in texts[first : first + slice_size]]
        _forward(pipe, encoded, batch_size)
        for e in encoded:
            t0 = time.perf_counter()
            entities, num_tokens = _postprocess(pipe, e, names, stride, ignore)
            results.append(
                Prediction(
                    entities=entities,
                    num_tokens=num_tokens,
                    num_windows=len(e.chunks),
                    forward_s=e.forward_s,
                    total_s=time.perf_counter() - t0,
                )
            )
        del encoded
    # Share tokenisation/forward overhead evenly; with one text this is just the wall time.
    shared = (time.perf_counter() - began) - sum(r.total_s for r in results)
    for r in results:
        r.total_s += shared / len(results)
    return results


def predict_all(
    pipe: Any,
    text: str,
    strategies: Iterable[str] | None = ALL_STRATEGIES,
    *,
    stride: int | None = None,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    ignore_labels: Sequence[str] = ("O",),
) -> dict[str, list[dict]]:
    """{strategy: entities} for `text` from ONE forward pass (one per window for long texts).

    "none" entities have the pipeline's keys `entity, score, index, word, start, end`; the grouped
    strategies `entity_group, score, word, start, end`. Offsets index the original `text`.
    Raises InputTooLongError beyond `max_chars` characters, UnknownStrategyError for a bad name.
    """
    return predict_detailed(
        pipe, text, strategies, stride=stride, max_chars=max_chars, ignore_labels=ignore_labels
    ).entities


def predict_all_batch(
    pipe: Any,
    texts: Sequence[str],
    strategies: Iterable[str] | None = ALL_STRATEGIES,
    batch_size: int = 32,
    *,
    stride: int | None = None,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    ignore_labels: Sequence[str] = ("O",),
) -> list[dict[str, list[dict]]]:
    """`predict_all` for many texts: one forward per text, windows of all texts in padded batches
    of `batch_size` (sorted by length), results in input order. For evaluating thousands of sentences."""
    return [
        p.entities
        for p in predict_detailed_batch(
            pipe, texts, strategies, batch_size=batch_size, stride=stride, max_chars=max_chars,
            ignore_labels=ignore_labels,
        )
    ]
