"""Word-level probabilities for the audit: one row of label probabilities per word.

The rule (docs/audit.md#probabilities): a word's probabilities are the softmax of the logits of its
**first sub-token**, the sub-token the `first` aggregation strategy and `nerkit evaluate` read. The
sentence is encoded exactly as `evaluate` encodes it (`toolkit.evaluate.context.context_plan`:
inside its document when the model was trained with document context). A calibrated model's
temperature is already divided into its classifier (`nerkit calibrate`), so these are its
calibrated probabilities. Words beyond the model's maximum length get no row: the audit cannot
judge them and says how many there were.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nercore.errors import UserError
from toolkit.evaluate.labelmap import map_model_labels
from toolkit.evaluate.predict import encode_words


@dataclass
class WordProbabilities:
    """Per sentence, a (words seen, dataset labels) float array; `cut_words` words past max length have none."""

    rows: list[np.ndarray]
    cut_words: int


def label_projection(model_labels: list[str], data_labels: list[str]) -> np.ndarray:
    """A (model labels, dataset labels) 0/1 matrix: the model's probabilities summed onto the dataset's labels.

    cleanlab compares probabilities with the given labels class by class, so every model label must
    name a dataset label (the same IOB2 set, in any order); anything else is refused with the fix.
    """
    mapping = map_model_labels(model_labels, data_labels)
    unknown = sorted({name for name in mapping.names if name not in data_labels})
    if unknown or mapping.scheme not in ("IOB2", "none"):
        raise UserError(
            f"the audit needs a model whose labels are the dataset's ({', '.join(data_labels)}); this model "
            f"predicts {', '.join(model_labels)}. Audit with a model trained on this label set "
            "(`nerkit train --dataset ...`), or use the cross-validated audit (--folds K)."
        )
    projection = np.zeros((len(model_labels), len(data_labels)), dtype=np.float64)
    for model_id, name in enumerate(mapping.names):
        projection[model_id, data_labels.index(name)] = 1.0
    return projection


def word_probabilities(model, tokenizer, sentences: list[list[str]], projection: np.ndarray, *,
                       documents: list | None = None, context_tokens: int = 0, batch_size: int = 32,
                       max_length: int | None = None, progress: bool = True) -> WordProbabilities:
    """Each sentence's word probabilities over the dataset labels (first sub-token, softmax, projected)."""
    from tqdm.auto import tqdm

    encoding, stats = encode_words(model, tokenizer, sentences, documents=documents, context_tokens=context_tokens,
                                   max_length=max_length)
    firsts = [_first_positions(word_ids) for word_ids in encoding["word_ids"]]
    rows: list[np.ndarray] = [np.zeros((0, projection.shape[1]))] * len(sentences)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoding]
    by_length = sorted(range(len(sentences)), key=lambda i: -len(encoding["input_ids"][i]))
    batches = [by_length[start:start + batch_size] for start in range(0, len(by_length), batch_size)]
    for batch in tqdm(batches, desc="audit: probabilities", unit="batch", disable=not progress):
        probabilities = _softmax(model, tokenizer, {k: [encoding[k][i] for i in batch] for k in keys})
        for row, index in enumerate(batch):
            rows[index] = probabilities[row, firsts[index]] @ projection
    return WordProbabilities(rows=rows, cut_words=stats.truncated_words)


def _first_positions(word_ids: list[int | None]) -> list[int]:
    """Sub-token position of each word's first piece, in word order (words cut by max length have none)."""
    positions: dict[int, int] = {}
    for position, word_id in enumerate(word_ids):
        if word_id is not None and word_id not in positions:
            positions[word_id] = position
    return [positions[w] for w in range(len(positions))]


def _softmax(model, tokenizer, batch: dict) -> np.ndarray:
    import torch

    padded = tokenizer.pad(batch, return_tensors="pt")
    with torch.inference_mode():
        logits = model(**{k: v.to(model.device) for k, v in padded.items()}).logits
    return torch.softmax(logits.float(), dim=-1).cpu().numpy().astype(np.float64)
