"""Error analysis of entity predictions: nervaluate's MUC-style schemas, a type confusion matrix, error kinds.

Spans are `nercore.tags.entity_spans` of the IOB2 tags (end exclusive). Within a sentence, gold and
predicted spans that overlap are paired one to one, best pairs first: same span and same type,
then same span, then the larger overlap. A pair is correct, a `boundary` error (same type,
different span), a `type` error (same span, different type) or `both`; a gold span left unpaired
is `missed`, a predicted span left unpaired is `spurious`. Per type, an error counts for its gold
type (spurious ones for the predicted type). The schemas are nervaluate's own: it is not re-derived
here (`schemas`).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from nercore.tags import entity_spans
from nercore.runfolder.analysis import ERROR_KINDS, SCHEMA_COUNTS, SCHEMAS

logger = logging.getLogger("toolkit")

Span = tuple[str, int, int]  # (type, start, end), end exclusive


@dataclass(frozen=True)
class SpanError:
    """One error in one sentence: a kind and the gold and/or predicted span involved."""

    sentence: int
    kind: str  # one of ERROR_KINDS
    gold: Span | None
    predicted: Span | None

    @property
    def type(self) -> str:
        """The type the error counts for: the gold type, or the predicted one for a spurious span."""
        return (self.gold or self.predicted)[0]


def pair_spans(gold: Sequence[Span], predicted: Sequence[Span]) -> tuple[list[tuple[Span, Span]], list[Span], list[Span]]:
    """Overlapping (gold, predicted) pairs, one to one, best first; then unpaired gold and predicted spans."""
    candidates = []
    for g in gold:
        for p in predicted:
            overlap = min(g[2], p[2]) - max(g[1], p[1])
            if overlap > 0:
                candidates.append(((g[1:] != p[1:], g[0] != p[0], -overlap, g[1], p[1]), g, p))
    pairs, used_gold, used_pred = [], set(), set()
    for _, g, p in sorted(candidates):
        if g not in used_gold and p not in used_pred:
            pairs.append((g, p))
            used_gold.add(g)
            used_pred.add(p)
    return pairs, [g for g in gold if g not in used_gold], [p for p in predicted if p not in used_pred]


def pair_kind(gold: Span, predicted: Span) -> str | None:
    """None for a correct pair, else the error kind."""
    same_span, same_type = gold[1:] == predicted[1:], gold[0] == predicted[0]
    if same_span:
        return None if same_type else "type"
    return "boundary" if same_type else "both"


@dataclass
class _Tally:
    """Running counts while sentences are compared."""

    correct: Counter
    errors: dict[str, Counter]  # kind -> type -> count
    confusion: dict[str, Counter]  # gold type -> predicted type -> pairs

    def add(self, sentence: int, gold: list[Span], predicted: list[Span]) -> list[SpanError]:
        pairs, missed, spurious = pair_spans(gold, predicted)
        found = []
        for g, p in pairs:
            self.confusion.setdefault(g[0], Counter())[p[0]] += 1
            kind = pair_kind(g, p)
            if kind is None:
                self.correct[g[0]] += 1
            else:
                found.append(SpanError(sentence, kind, g, p))
        found += [SpanError(sentence, "missed", g, None) for g in missed]
        found += [SpanError(sentence, "spurious", None, p) for p in spurious]
        found.sort(key=lambda e: ((e.gold or e.predicted)[1], ERROR_KINDS.index(e.kind)))
        for error in found:
            self.errors[error.kind][error.type] += 1
        return found


def analyse(gold_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> tuple[dict, list[SpanError]]:
    """The `error_analysis` block of eval_results.json (as JSON) and every error found, in sentence order."""
    gold_spans = [entity_spans(tags) for tags in gold_tags]
    pred_spans = [entity_spans(tags) for tags in pred_tags]
    tally = _Tally(Counter(), {kind: Counter() for kind in ERROR_KINDS}, {})
    errors: list[SpanError] = []
    for index, (gold, predicted) in enumerate(zip(gold_spans, pred_spans)):
        errors += tally.add(index, gold, predicted)
    types = sorted({s[0] for spans in (*gold_spans, *pred_spans) for s in spans})
    block: dict = {}
    schemas = nervaluate_schemas(gold_spans, pred_spans, types)
    if schemas is not None:
        block["schemas"] = schemas
    block["confusion"] = {
        "gold": {g: {p: tally.confusion.get(g, Counter())[p] for p in types} for g in types},
        "missed": {t: tally.errors["missed"][t] for t in types},
        "spurious": {t: tally.errors["spurious"][t] for t in types},
    }
    per_type = {t: {"correct": tally.correct[t], **{k: tally.errors[k][t] for k in ERROR_KINDS}} for t in types}
    overall = {key: sum(entry[key] for entry in per_type.values()) for key in ("correct", *ERROR_KINDS)}
    block["breakdown"] = {"overall": overall, "per_type": per_type}
    return block, errors


def nervaluate_schemas(gold_spans: list[list[Span]], pred_spans: list[list[Span]], types: list[str]) -> dict | None:
    """nervaluate's strict/exact/partial/ent_type results, overall and per type; None without nervaluate."""
    try:
        from nervaluate import Evaluator
    except ImportError as err:
        logger.warning("nervaluate is not installed (%s): eval_results.json gets no MUC-style schemas. "
                       "`pip install nervaluate` to add them.", err)
        return None

    def documents(spans: list[list[Span]]) -> list[list[dict]]:  # nervaluate's ends are inclusive
        return [[{"label": kind, "start": start, "end": end - 1} for kind, start, end in doc] for doc in spans]

    if not gold_spans:
        return {"overall": {name: _schema_json(None) for name in SCHEMAS}, "per_type": {}}
    found = Evaluator(documents(gold_spans), documents(pred_spans), tags=types, loader="dict").evaluate()
    return {
        "overall": {name: _schema_json(found["overall"].get(name)) for name in SCHEMAS},
        "per_type": {t: {name: _schema_json(found["entities"].get(t, {}).get(name)) for name in SCHEMAS} for t in types},
    }


def _schema_json(result) -> dict:
    """One nervaluate `EvaluationResult` as plain ints and floats (zeros when nervaluate had nothing to score)."""
    if result is None:
        return {**{name: 0 for name in SCHEMA_COUNTS}, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    return {
        **{name: int(getattr(result, name)) for name in SCHEMA_COUNTS},
        "precision": float(result.precision), "recall": float(result.recall), "f1": float(result.f1),
    }
