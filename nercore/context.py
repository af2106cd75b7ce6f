"""Document context: each sentence encoded with sub-tokens of its neighbours around it.

Why: a model trained on lone sentences meets whole paragraphs in the Space and in `predict`, and
scores worse there than its card says; one trained with its document around each sentence reads
the same name in an earlier sentence, a dateline, a results table (Flair's FLERT, Schweter &
Akbik 2020; Luoma & Pyysalo 2020). The rules, in one place for training, evaluation and predict:

- context never crosses a document boundary (`documents` ids; None: every sentence alone);
- the sentence itself is never cut to make room: context fills what `max_length` leaves;
- only the sentence's own sub-tokens are labelled or scored; context positions carry nothing.

The setting travels with the model as `config.json` key `CONFIG_KEY`, so every reader of the
model gets it without being told.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

CONFIG_KEY = "document_context"
# Context read around each sentence when evaluating a model that records none (trained on lone
# sentences): the figure shows what a pasted paragraph does to such a model.
PROBE_TOKENS = 24


@dataclass(frozen=True)
class ContextSetting:
    """How a model was trained: `tokens` sub-tokens of context per side (0: none), dropped with `dropout`."""

    tokens: int = 0
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.tokens, int) or isinstance(self.tokens, bool) or not 0 <= self.tokens <= 4096:
            raise ValueError(f"context tokens must be an integer in 0..4096, got {self.tokens!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"context dropout must be in [0, 1), got {self.dropout!r}")

    @property
    def enabled(self) -> bool:
        return self.tokens > 0

    def to_json(self) -> dict:
        return {"tokens_per_side": self.tokens, "dropout": float(self.dropout)}

    @classmethod
    def from_json(cls, value: Any) -> "ContextSetting":
        if not value:
            return cls()
        if not isinstance(value, dict) or not isinstance(value.get("tokens_per_side"), int):
            raise ValueError(f"{CONFIG_KEY} must be an object like {{\"tokens_per_side\": 64, \"dropout\": 0.3}}, found {value!r:.80}")
        return cls(tokens=value["tokens_per_side"], dropout=float(value.get("dropout", 0.0)))


def model_context(config: Any) -> ContextSetting:
    """The setting a model config carries (a transformers config or its dict); none for other models."""
    value = config.get(CONFIG_KEY) if isinstance(config, dict) else getattr(config, CONFIG_KEY, None)
    return ContextSetting.from_json(value)


def safe_model_context(config: Any) -> ContextSetting:
    """`model_context`, with a malformed key read as none: someone's odd config must not stop inference."""
    try:
        return model_context(config)
    except ValueError:
        return ContextSetting()


def inference_window(config: Any) -> int | None:
    """Text sub-tokens per engine window for a model trained with document context (None: not one).

    Why: such a model, trained with N sub-tokens of context per side, would otherwise read each
    sentence inside up to 510 tokens of text, which it never saw in training. Measured on the
    CoNLL-2003 test split, whole documents, end to end, for a model trained with N=24: a 512-token
    window scores F1 81.0 / 82.1 (first / average); 64-, 96- and 128-token windows 85.8-86.0.
    A window of 4N text tokens, cut with an overlap of 2N (`inference_overlap`), puts every token at
    least N tokens from both edges of some window: the context it was trained with.
    """
    setting = safe_model_context(config)
    return 4 * setting.tokens if setting.enabled else None


def inference_overlap(config: Any, capacity: int) -> int | None:
    """The window overlap for such a model: half of its `capacity` text tokens (None: not one)."""
    return max(1, capacity // 2) if safe_model_context(config).enabled else None


def record_context(config: Any, setting: ContextSetting) -> None:
    """Store the setting on a transformers config (saved into config.json); none: the key is removed."""
    if setting.enabled:
        setattr(config, CONFIG_KEY, setting.to_json())
    elif hasattr(config, CONFIG_KEY):
        delattr(config, CONFIG_KEY)


@dataclass(frozen=True)
class Specials:
    """The special tokens a single-sequence encoding puts before and after the text ([CLS] … [SEP])."""

    prefix: tuple[int, ...]
    suffix: tuple[int, ...]

    @classmethod
    def of(cls, tokenizer) -> "Specials":
        plain = tokenizer(["hello"], is_split_into_words=True, add_special_tokens=False)["input_ids"]
        full = tokenizer(["hello"], is_split_into_words=True)["input_ids"]
        for start in range(len(full) - len(plain) + 1):
            if full[start : start + len(plain)] == plain:
                return cls(tuple(full[:start]), tuple(full[start + len(plain) :]))
        return cls((), ())

    def __len__(self) -> int:
        return len(self.prefix) + len(self.suffix)


@dataclass(frozen=True)
class Window:
    """One sentence's model input: `input_ids`, and where the sentence sits in it."""

    input_ids: list[int]
    start: int  # position of the sentence's first sub-token
    length: int  # sentence sub-tokens kept (fewer than it has only when the sentence alone exceeds max_length)
    left: int  # context sub-tokens before the sentence
    right: int  # context sub-tokens after it


def context_sizes(available_left: int, available_right: int, tokens: int, room: int) -> tuple[int, int]:
    """Context per side: up to `tokens`, as much as exists, together within `room`, split evenly when short."""
    left, right = min(tokens, available_left), min(tokens, available_right)
    room = max(room, 0)
    if left + right > room:
        left = min(left, max(room // 2, room - right))
        right = min(right, room - left)
    return left, right


def build_windows(
    sentences: Sequence[Sequence[int]],
    documents: Sequence[Any] | None,
    *,
    tokens: int,
    max_length: int,
    specials: Specials,
) -> list[Window]:
    """Each sentence's sub-token ids with up to `tokens` of its own document's neighbours per side.

    `sentences` are per-sentence sub-token ids without special tokens, in document order;
    `documents` gives each sentence's document (consecutive runs; None: no context at all).
    """
    budget = max(max_length - len(specials), 1)
    windows: list[Window] = []
    bounds = _document_bounds(documents, len(sentences)) if tokens > 0 else [(i, i + 1) for i in range(len(sentences))]
    for first, end in bounds:
        flat: list[int] = []
        offsets = []
        for index in range(first, end):
            offsets.append(len(flat))
            flat.extend(sentences[index])
        for k, index in enumerate(range(first, end)):
            own = min(len(sentences[index]), budget)
            start, stop = offsets[k], offsets[k] + len(sentences[index])
            left, right = context_sizes(start, len(flat) - stop, tokens, budget - own)
            ids = [*specials.prefix, *flat[start - left : start], *flat[start : start + own],
                   *flat[stop : stop + right], *specials.suffix]
            windows.append(Window(ids, len(specials.prefix) + left, own, left, right))
    return windows


def _document_bounds(documents: Sequence[Any] | None, count: int) -> list[tuple[int, int]]:
    """[first, end) sentence ranges of consecutive runs of one document id."""
    if documents is None:
        return [(i, i + 1) for i in range(count)]
    if len(documents) != count:
        raise ValueError(f"{len(documents)} document ids for {count} sentences")
    bounds, first = [], 0
    for index in range(1, count + 1):
        if index == count or documents[index] != documents[first]:
            bounds.append((first, index))
            first = index
    return bounds


def without_context(values: Sequence, start: int, length: int, specials: Specials) -> list:
    """The same sentence alone (context dropout): any per-position sequence of a window (ids, mask,
    labels) cut to its special-token positions around the sentence's own `length` positions at `start`."""
    head, tail = len(specials.prefix), len(specials.suffix)
    values = list(values)
    return values[:head] + values[start : start + length] + values[len(values) - tail :]
