"""The length policy: how many sub-tokens one model input may hold. One rule for training,
evaluation, `predict`, the card and the Space.

An explicit request wins (capped by the position embeddings); else the tokenizer's
`model_max_length`, capped by the position embeddings; tokenizers without a real limit report
~1e30, and then the position embeddings decide, or `FALLBACK_MAX_LENGTH` when the config is silent.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

FALLBACK_MAX_LENGTH = 512
UNSET_MAX_LENGTH = 100_000  # above this, `model_max_length` is a tokenizer's "no limit" placeholder
# Families whose position ids start after the padding index (max_position_embeddings = 514 → 512 usable).
OFFSET_POSITION_MODELS = {
    "roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "longformer", "data2vec-text",
    "roberta-prelayernorm", "xmod", "ibert", "luke", "mpnet", "esm",
}


def position_limit(config: Any) -> int | None:
    """Longest input the model's position embeddings allow, or None when the config does not say."""
    max_pos = getattr(config, "max_position_embeddings", None)
    if not isinstance(max_pos, int) or max_pos <= 0:
        return None
    if getattr(config, "model_type", None) in OFFSET_POSITION_MODELS:
        pad = getattr(config, "pad_token_id", None)
        max_pos -= (pad if isinstance(pad, int) else 1) + 1
    return max_pos


def model_max_length(tokenizer: Any, requested: int | None = None, config: Any = None) -> int:
    """Sub-tokens per model input (special tokens included) under the policy above."""
    limit = position_limit(config) if config is not None else None
    if requested:
        return min(requested, limit) if limit else requested
    current = getattr(tokenizer, "model_max_length", None)
    current = current if isinstance(current, int) and 0 < current <= UNSET_MAX_LENGTH else None
    known = [n for n in (current, limit) if n]
    if not known:
        log.warning("%s: the tokenizer and the config give no max length; using %d",
                    getattr(tokenizer, "name_or_path", "tokenizer"), FALLBACK_MAX_LENGTH)
    return min(known) if known else FALLBACK_MAX_LENGTH


def fit_tokenizer(tokenizer: Any, config: Any = None, requested: int | None = None, *, inference: bool = False) -> int:
    """Set `tokenizer.model_max_length` to the policy's length (the pipeline cuts windows by it); returns it.

    `inference`: the tokenizer cuts the engine's windows; a model trained with document context then
    gets windows of the context it was trained with (`nercore.context.inference_window`), unless a
    length is `requested`. Never in training, where a window must hold a whole sentence."""
    length = model_max_length(tokenizer, requested, config)
    if inference and not requested and config is not None:
        from nercore.context import inference_window

        window = inference_window(config)
        if window:
            length = min(length, window + tokenizer.num_special_tokens_to_add(pair=False))
    tokenizer.model_max_length = length
    return length
