"""Long texts as overlapping windows of the model's length, and one padded forward pass over them all.

Windows are cut by the pipeline's own `_sanitize_parameters` + `preprocess` (the tokenizer's
stride overflow), so a window is exactly what `pipeline(..., stride=s)` would feed the model.
Gradio-free and cache-free: the window length is the tokenizer's, set by `nercore.lengths.fit_tokenizer`.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

_NOT_FOR_MODEL = ("special_tokens_mask", "offset_mapping", "sentence", "is_last", "word_ids", "word_to_chars_map")


class InternalsChangedError(RuntimeError):
    """transformers no longer behaves the way the engine relies on; update nercore/windows.py or nercore/engine.py."""


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


def default_stride(tokenizer: Any) -> int:
    """Overlap between windows: a quarter of a window (127 tokens for 512-token models)."""
    return max(1, window_capacity(tokenizer) // 4)


_locks: "weakref.WeakKeyDictionary[Any, threading.Lock]" = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()
_long_pipes: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()
LONG_TEXT_CHARS = 2_000  # texts longer than this are cut by their own tokenizer copy (`encode`)


def _tokenizer_lock(pipe: Any) -> threading.Lock:
    # Fast tokenizers keep truncation/padding state in Rust and fail ("Already borrowed") when
    # two threads tokenise with the same object at once.
    with _locks_guard:
        lock = _locks.get(pipe)
        if lock is None:
            lock = _locks[pipe] = threading.Lock()
        return lock


def _long_text_pipe(pipe: Any) -> Any:
    """`pipe` with a tokenizer of its own, for long texts: cutting a 20,000-character text into windows
    takes ~0.1-0.2 s under the tokenizer's lock, and a one-line request must not queue behind eight."""
    import copy

    with _locks_guard:
        clone = _long_pipes.get(pipe)
    if clone is None:
        clone = copy.copy(pipe)
        clone.tokenizer = copy.deepcopy(pipe.tokenizer)
        with _locks_guard:
            clone = _long_pipes.setdefault(pipe, clone)
    return clone


@dataclass
class Encoded:
    """One text's windows and, after `forward_windows`, their logits."""

    text: str
    chunks: list[dict]  # the pipeline's preprocess output, one dict per window
    logits: list[np.ndarray] = field(default_factory=list)
    forward_s: float = 0.0


def encode(pipe: Any, text: str, stride: int) -> Encoded:
    """The pipeline's own windows of `text`, overlapping by `stride` tokens."""
    preprocess_params, _, _ = pipe._sanitize_parameters(aggregation_strategy="simple", stride=stride)
    cutter = _long_text_pipe(pipe) if len(text) > LONG_TEXT_CHARS else pipe
    with _tokenizer_lock(cutter):
        chunks = list(cutter.preprocess(text, **preprocess_params))
    if not chunks:
        raise InternalsChangedError("pipeline.preprocess yielded no window; update nercore/windows.py.")
    return Encoded(text=text, chunks=chunks)


def _padded_batch(pipe: Any, rows: list[dict], lengths: list[int]) -> dict:
    """Right-padded model inputs (attention mask 0 on padding, so real tokens see the same context)."""
    import torch

    pad_id = pipe.tokenizer.pad_token_id
    pad_id = 0 if pad_id is None else int(pad_id)
    pad_type = int(getattr(pipe.tokenizer, "pad_token_type_id", 0) or 0)
    width = max(lengths)
    inputs = {}
    for key in (k for k in rows[0] if k not in _NOT_FOR_MODEL):
        fill = pad_id if key == "input_ids" else pad_type if key == "token_type_ids" else 0
        parts = []
        for row, length in zip(rows, lengths):
            value = row[key]
            if length < width:
                value = torch.nn.functional.pad(value, (0, width - length), value=fill)
            parts.append(value)
        inputs[key] = torch.cat(parts, dim=0).to(pipe.device)
    return inputs


def window_length(encoded: Encoded, index: int) -> int:
    """Sub-tokens (special tokens included) of window `index`: what it costs in a padded batch."""
    return int(encoded.chunks[index]["input_ids"].shape[-1])


def forward_windows(pipe: Any, encoded: Sequence[Encoded], batch_size: int) -> None:
    """Run every window of every text through the model in padded batches; store float32 logits."""
    for e in encoded:
        e.logits = [None] * len(e.chunks)  # type: ignore[list-item]
        e.forward_s = 0.0
    forward_items(pipe, [(e, i) for e in encoded for i in range(len(e.chunks))], batch_size)


def forward_items(pipe: Any, items: Sequence[tuple[Encoded, int]], batch_size: int) -> None:
    """Run the given (text, window index) pairs in padded batches of `batch_size`, shortest first;
    each window's float32 logits go to `encoded.logits[index]`, its share of the time to `forward_s`.
    A scheduler calls it with windows of several texts (`space.scheduler`)."""
    import torch

    items = sorted(items, key=lambda item: window_length(*item))  # less padding
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        rows = [e.chunks[i] for e, i in batch]
        lengths = [row["input_ids"].shape[-1] for row in rows]
        inputs = _padded_batch(pipe, rows, lengths)
        began = time.perf_counter()
        with torch.inference_mode():
            output = pipe.model(**inputs)
            logits = output["logits"] if isinstance(output, dict) else output[0]
            logits = logits.to(torch.float32).cpu().numpy()
        elapsed = time.perf_counter() - began
        for (e, i), length, row_logits in zip(batch, lengths, logits):
            e.logits[i] = row_logits[:length]
            e.forward_s += elapsed * length / sum(lengths)


def content(chunk: dict) -> tuple[list[int], list[int]]:
    """(input ids, special-tokens mask) of one window."""
    return chunk["input_ids"][0].tolist(), chunk["special_tokens_mask"][0].tolist()


def window_step(encoded: Encoded, stride: int) -> int:
    """Text tokens between the starts of consecutive windows; verifies the overlap really is there."""
    if len(encoded.chunks) == 1:
        return 0
    texts = []
    for chunk in encoded.chunks:
        ids, mask = content(chunk)
        texts.append([t for t, m in zip(ids, mask) if not m])
    step = len(texts[0]) - stride
    for i in range(1, len(texts)):
        previous, current = texts[i - 1], texts[i]
        overlap = len(previous) - step
        if step <= 0 or overlap <= 0 or previous[step:] != current[:overlap]:
            raise InternalsChangedError(
                "the tokenizer's overflowing windows are no longer consecutive slices overlapping by `stride` "
                f"tokens (window {i}); update nercore/windows.py."
            )
    return step
