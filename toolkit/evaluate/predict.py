"""Word-level predictions of a token-classification model: the first sub-token of each word decides.

Sentences are batched longest first; words beyond the model's maximum length get -1 (scored as
predicted `O` later), so the reported F1 covers every gold entity.
"""

from __future__ import annotations

from nercore.lengths import model_max_length
from toolkit.alignment import AlignmentStats, align_batch, check_fast, encode_with_context


def predict_words(
    model,
    tokenizer,
    sentences: list[list[str]],
    *,
    batch_size: int = 64,
    max_length: int | None = None,
    progress: bool = True,
    documents: list | None = None,
    context_tokens: int = 0,
) -> tuple[list[list[int]], AlignmentStats]:
    """Model label ids per word (first sub-token); words the model never saw get -1.

    With `context_tokens` and `documents` (each sentence's document, in order), every sentence is
    read inside up to that many sub-tokens of its document per side (nercore.context); only its
    own words are predicted.
    """
    from tqdm.auto import tqdm

    encoding, stats = encode_words(model, tokenizer, sentences, documents=documents, context_tokens=context_tokens,
                                   max_length=max_length)
    order = sorted(range(len(sentences)), key=lambda i: len(encoding["input_ids"][i]), reverse=True)
    predictions: list[list[int]] = [[] for _ in sentences]
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoding]
    for start in tqdm(range(0, len(order), batch_size), desc="predict", unit="batch", disable=not progress):
        index = order[start : start + batch_size]
        best = _argmax(model, tokenizer, {k: [encoding[k][i] for i in index] for k in keys})
        for row, sentence_index in enumerate(index):
            words = [-1] * len(sentences[sentence_index])
            previous = None
            for position, word_id in enumerate(encoding["word_ids"][sentence_index]):
                if word_id is not None and word_id != previous:
                    words[word_id] = best[row][position]
                previous = word_id
            predictions[sentence_index] = words
    return predictions, stats


def encode_words(model, tokenizer, sentences: list[list[str]], *, documents: list | None = None,
                 context_tokens: int = 0, max_length: int | None = None):
    """(encoding with `word_ids`, AlignmentStats): the sentences as the model reads them, alone or inside
    their documents (`nerkit evaluate` and `nerkit audit` read the same way)."""
    check_fast(tokenizer, getattr(tokenizer, "name_or_path", "tokenizer"))
    max_length = model_max_length(tokenizer, max_length, getattr(model, "config", None))
    if context_tokens and documents is not None:
        return encode_with_context(tokenizer, sentences, documents, context_tokens=context_tokens,
                                   max_length=max_length)
    return align_batch(tokenizer, sentences, None, max_length=max_length, with_word_ids=True)


def _argmax(model, tokenizer, batch: dict) -> list[list[int]]:
    import torch

    padded = tokenizer.pad(batch, return_tensors="pt")
    device = model.device  # torch models and nercore.backends.OrtModel both say where inputs go
    with torch.inference_mode():
        logits = model(**{k: v.to(device) for k, v in padded.items()}).logits
    return logits.argmax(-1).cpu().tolist()
