"""Score predicted tag sequences against gold ones, with seqeval, offline.

`evaluate.load("seqeval")` fetches a script from the Hub, so this module calls seqeval
directly. Entity tag sets are scored twice: seqeval's default (conlleval-like) mode, which
treats a stray `I-X` as the start of an entity, and strict IOB2 mode, which does not. The
difference between the two is exactly the model's invalid label sequences, which are counted
too. Tag sets without B-/I- prefixes (POS, chunk types) get per-tag scores and accuracy.
"""

from __future__ import annotations

import warnings

from nercore.tags import count_invalid
from toolkit.scores import prf

AVERAGES = ("micro avg", "macro avg", "weighted avg")


def _entry(values: dict) -> dict:
    return {
        "precision": float(values["precision"]),
        "recall": float(values["recall"]),
        "f1": float(values["f1-score"]),
        "support": int(values["support"]),
    }


def token_accuracy(gold: list[list[str]], pred: list[list[str]]) -> float:
    total = sum(len(sentence) for sentence in gold)
    correct = sum(g == p for gs, ps in zip(gold, pred) for g, p in zip(gs, ps))
    return correct / total if total else 0.0


def count_invalid_sequences(pred: list[list[str]]) -> int:
    """Predicted `I-X` tags that do not continue a `B-X`/`I-X` (invalid in IOB2)."""
    return sum(count_invalid(sentence) for sentence in pred)


def entity_report(gold: list[list[str]], pred: list[list[str]], *, strict: bool) -> dict:
    """Per-type P/R/F1/support plus micro/macro/weighted averages, as plain Python numbers."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    kwargs = {"mode": "strict", "scheme": IOB2} if strict else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns about undefined metrics on empty types
        report = classification_report(gold, pred, output_dict=True, zero_division=0, **kwargs)
    per_type = {name: _entry(values) for name, values in sorted(report.items()) if name not in AVERAGES}
    result = {"per_type": per_type}
    for name in AVERAGES:
        result[name] = _entry(report[name]) if name in report else _empty()
    return result


def _empty() -> dict:
    return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def score_entities(gold: list[list[str]], pred: list[list[str]]) -> dict:
    """The entity part of `eval_results.json`: overall, both modes, invalid sequences."""
    default = entity_report(gold, pred, strict=False)
    strict = entity_report(gold, pred, strict=True)
    accuracy = token_accuracy(gold, pred)
    micro = default["micro avg"]
    return {
        "task": "entities",
        "overall": {
            "precision": micro["precision"],
            "recall": micro["recall"],
            "f1": micro["f1"],
            "accuracy": accuracy,
        },
        "modes": {"default": default, "strict": strict},
        "invalid_sequences": count_invalid_sequences(pred),
    }


def tag_row(gold: list[str], pred: list[str], counts: dict[str, list[int]] | None = None) -> dict[str, list[int]]:
    """tag -> [correct, predicted, gold] of one sentence, added to `counts` when given."""
    counts = {} if counts is None else counts
    for g, p in zip(gold, pred):
        counts.setdefault(g, [0, 0, 0])[2] += 1
        counts.setdefault(p, [0, 0, 0])[1] += 1
        if g == p:
            counts[g][0] += 1
    return counts


def score_tags(gold: list[list[str]], pred: list[list[str]]) -> dict:
    """Per-tag P/R/F1 for tag sets without entity spans (POS tagging and the like)."""
    counts: dict[str, list[int]] = {}  # tag -> [true positives, predicted, gold]
    for gs, ps in zip(gold, pred):
        tag_row(gs, ps, counts)
    per_tag = {}
    for tag, (tp, predicted, support) in sorted(counts.items()):
        scores = prf(tp, predicted, support)
        per_tag[tag] = {key: scores[key] for key in ("precision", "recall", "f1", "support")}
    accuracy = token_accuracy(gold, pred)
    macro_f1 = sum(v["f1"] for v in per_tag.values() if v["support"]) / max(
        1, sum(1 for v in per_tag.values() if v["support"])
    )
    return {
        "task": "tags",
        # With one tag per token, micro precision = recall = F1 = accuracy.
        "overall": {"precision": accuracy, "recall": accuracy, "f1": accuracy, "accuracy": accuracy},
        "per_tag": per_tag,
        "macro_f1": macro_f1,
    }


def score(gold: list[list[str]], pred: list[list[str]], *, entities: bool) -> dict:
    return score_entities(gold, pred) if entities else score_tags(gold, pred)


def quick_scores(gold: list[list[str]], pred: list[list[str]], *, entities: bool) -> dict:
    """The four numbers the Trainer logs each epoch and selects the best checkpoint by."""
    if not entities:
        accuracy = token_accuracy(gold, pred)
        return {"precision": accuracy, "recall": accuracy, "f1": accuracy, "accuracy": accuracy}
    from seqeval.metrics import f1_score, precision_score, recall_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "precision": float(precision_score(gold, pred, zero_division=0)),
            "recall": float(recall_score(gold, pred, zero_division=0)),
            "f1": float(f1_score(gold, pred, zero_division=0)),
            "accuracy": token_accuracy(gold, pred),
        }
