"""How far an entity's score is from how often such an entity is right, and what a score threshold buys.

Why: every entity comes with a score, and nobody tells a user what 0.9 means for this model. Here each
predicted entity of a strategy (end to end, exact character span and type, as
`toolkit.evaluate.strategies` matches them) is marked right or wrong, and three things are measured:

- **ECE** (expected calibration error): entities binned by score into `BINS` equal-width bins; the
  gap between each bin's mean score and its share of right entities, weighted by the bin's size.
  0 means "a score of 0.9 is right 90% of the time"; softmax scores of a fine-tuned encoder are
  usually over-confident (higher scores than accuracy). Overall and per entity type.
- a **reliability table**: per non-empty bin, count, mean score, accuracy;
- a **threshold table**: precision, recall and F1 of the entities kept at score >= t, for each t in
  `THRESHOLDS` (recall against all gold entities), the numbers behind `--min-score`.

Matching is the strategies' multiset rule: within a sentence a predicted span counts as right while
an identical gold span is left; higher-scored predictions are matched first.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from toolkit.scores import prf

BINS = 10
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)

Span = tuple  # (type, start, end)


def judged(gold: Sequence[Sequence[Span]], scored: Sequence[Sequence[tuple[Span, float]]]) -> list[tuple[str, float, bool]]:
    """(type, score, right) for every predicted entity that has a score, sentence by sentence."""
    if len(gold) != len(scored):
        raise ValueError(f"{len(gold)} gold sentences but {len(scored)} predicted ones")
    out = []
    for sentence_gold, predictions in zip(gold, scored):
        left = Counter(sentence_gold)
        for span, score in sorted((p for p in predictions if p[1] is not None), key=lambda item: -item[1]):
            right = left[span] > 0
            if right:
                left[span] -= 1
            out.append((span[0], float(score), right))
    return out


def expected_calibration_error(items: Sequence[tuple[float, bool]], bins: int = BINS) -> float | None:
    """Size-weighted mean gap between score and accuracy over equal-width score bins (None: no entity)."""
    if not items:
        return None
    total, gap = len(items), 0.0
    for low, members in _binned(items, bins):
        confidence = sum(s for s, _ in members) / len(members)
        accuracy = sum(1 for _, r in members if r) / len(members)
        gap += len(members) / total * abs(confidence - accuracy)
    return gap


def _binned(items: Sequence[tuple[float, bool]], bins: int) -> list[tuple[float, list]]:
    groups: dict[int, list] = {}
    for score, right in items:
        index = min(int(score * bins), bins - 1)  # a score of exactly 1.0 goes into the top bin
        groups.setdefault(index, []).append((score, right))
    return [(index / bins, groups[index]) for index in sorted(groups)]


def confidence_report(gold: Sequence[Sequence[Span]], scored: Sequence[Sequence[tuple[Span, float]]]) -> dict:
    """The `confidence` block of one strategy's results (docs/eval-results.md)."""
    items = judged(gold, scored)
    support = sum(len(g) for g in gold)
    pairs = [(score, right) for _, score, right in items]
    reliability = [
        {"low": round(low, 4), "high": round(low + 1 / BINS, 4), "count": len(members),
         "confidence": sum(s for s, _ in members) / len(members),
         "accuracy": sum(1 for _, r in members if r) / len(members)}
        for low, members in _binned(pairs, BINS)
    ]
    thresholds = []
    for t in THRESHOLDS:
        kept = [right for score, right in pairs if score >= t]
        scores = prf(sum(kept), len(kept), support)
        thresholds.append({"min_score": t, "precision": scores["precision"], "recall": scores["recall"],
                           "f1": scores["f1"], "kept": len(kept)})
    types = sorted({kind for kind, _, _ in items})
    return {
        "bins": BINS,
        "entities": len(items),
        "ece": expected_calibration_error(pairs),
        "per_type_ece": {kind: expected_calibration_error([(s, r) for k, s, r in items if k == kind]) for kind in types},
        "reliability": reliability,
        "thresholds": thresholds,
    }


__all__ = ["BINS", "THRESHOLDS", "confidence_report", "expected_calibration_error", "judged"]
