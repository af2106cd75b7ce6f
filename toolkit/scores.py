"""Precision, recall and F1 from counts: seqeval's formulas with zero_division=0, in one place.

`prf` takes plain counts; `prf_arrays` takes numpy arrays of counts (the bootstrap's resamples) and
applies the same formulas element-wise, so a point estimate and its interval can never disagree.
"""

from __future__ import annotations

import numpy as np


def prf(correct: int, predicted: int, support: int) -> dict:
    """Precision/recall/F1 plus the counts they came from, as plain Python numbers."""
    scores = prf_arrays(np.float64(correct), np.float64(predicted), np.float64(support))
    return {
        "precision": float(scores["precision"]),
        "recall": float(scores["recall"]),
        "f1": float(scores["f1"]),
        "support": int(support),
        "predicted": int(predicted),
        "correct": int(correct),
    }


def prf_arrays(correct, predicted, support) -> dict[str, np.ndarray]:
    """Element-wise precision/recall/F1 of count arrays; 0 wherever a denominator is 0."""
    correct = np.asarray(correct, dtype=np.float64)
    precision = ratio(correct, predicted)
    recall = ratio(correct, support)
    f1 = ratio(2.0 * precision * recall, precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1}


def ratio(numerator, denominator) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)
