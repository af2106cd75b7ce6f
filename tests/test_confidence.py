"""Bootstrap confidence intervals (toolkit/evaluate/bootstrap.py): exact point estimates, coverage, width, seeds."""

from __future__ import annotations

import random

import numpy as np
import pytest

import toolkit.evaluate.bootstrap as confidence
from toolkit.evaluate.bootstrap import (
    bootstrap,
    confidence_intervals,
    entity_counts,
    mismatches,
    point_estimates,
    resample_weights,
    tag_counts,
)
from toolkit.metrics import score

TYPES = ("PER", "ORG", "LOC", "MISC")


def noisy_corpus(n: int, seed: int = 0, error: float = 0.15) -> tuple[list[list[str]], list[list[str]]]:
    """IOB2 gold sentences and predictions with realistic mistakes (wrong type, cut spans, stray I-, misses)."""
    rng = random.Random(seed)
    gold, pred = [], []
    for _ in range(n):
        g: list[str] = []
        while len(g) < rng.randint(3, 25):
            if rng.random() < 0.25:
                kind, length = rng.choice(TYPES), rng.randint(1, 3)
                g += [f"B-{kind}"] + [f"I-{kind}"] * (length - 1)
            else:
                g.append("O")
        p = list(g)
        for i, tag in enumerate(p):
            roll = rng.random()
            if roll < error / 3:
                p[i] = "O"
            elif roll < 2 * error / 3 and tag != "O":
                p[i] = tag[:2] + rng.choice(TYPES)
            elif roll < error:
                p[i] = rng.choice(["B-", "I-"]) + rng.choice(TYPES)  # I- after O: seqeval default starts an entity
        gold.append(g)
        pred.append(p)
    return gold, pred


def width(interval: list[float]) -> float:
    return interval[1] - interval[0]


def test_point_estimates_equal_seqeval_exactly():
    gold, pred = noisy_corpus(300)
    scores = score(gold, pred, entities=True)
    boot = confidence_intervals(gold, pred, resamples=50)
    assert mismatches(boot, scores) == []
    for metric in ("precision", "recall", "f1"):
        assert boot.point["overall"][metric] == scores["overall"][metric]  # exact, not approx
    for kind, entry in scores["modes"]["default"]["per_type"].items():
        for metric in ("precision", "recall", "f1"):
            assert boot.point["per_type"][kind][metric] == entry[metric], (kind, metric)


def test_point_estimates_equal_score_tags_for_tag_sets():
    rng = random.Random(1)
    tags = ["NN", "VB", "DT", "JJ", "IN"]
    gold = [[rng.choice(tags) for _ in range(rng.randint(1, 20))] for _ in range(200)]
    pred = [[t if rng.random() < 0.8 else rng.choice(tags) for t in sentence] for sentence in gold]
    scores = score(gold, pred, entities=False)
    boot = confidence_intervals(gold, pred, entities=False, resamples=100)
    assert mismatches(boot, scores) == []
    assert boot.point["overall"]["f1"] == scores["overall"]["accuracy"]
    block = boot.to_json()
    assert "mode" not in block and set(block["per_type"]) == set(scores["per_tag"])


def test_counts_by_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]]
    pred = [["B-PER", "I-PER", "O", "I-LOC"], ["B-ORG", "I-ORG"]]  # stray I-LOC counts as LOC (default mode)
    data = entity_counts(gold, pred)
    assert data.types == ["LOC", "ORG", "PER"]
    # [correct, predicted, gold]
    assert data.counts.tolist() == [[[1, 1, 1], [0, 0, 0], [1, 1, 1]], [[0, 0, 0], [0, 1, 1], [0, 0, 0]]]
    point = point_estimates(data)
    assert point["overall"] == {"precision": 2 / 3, "recall": 2 / 3, "f1": pytest.approx(2 / 3)}
    assert point["per_type"]["ORG"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_one_sentence_gives_a_point_interval():
    boot = confidence_intervals([["B-PER", "O", "B-LOC"]], [["B-PER", "O", "O"]], resamples=20)
    f1 = boot.point["overall"]["f1"]
    assert boot.overall["f1"] == [f1, f1] and f1 == pytest.approx(2 / 3)


def test_resample_weights_are_counts_of_draws():
    rng = np.random.default_rng(0)
    weights = resample_weights(7, 500, rng)
    assert weights.shape == (500, 7) and (weights.sum(axis=1) == 7).all() and (weights >= 0).all()
    assert abs(weights.mean() - 1.0) < 0.05  # each sentence drawn once per resample on average


def test_interval_contains_the_point_estimate_and_is_a_valid_interval():
    gold, pred = noisy_corpus(400, seed=2)
    boot = confidence_intervals(gold, pred, resamples=500, seed=0)
    for metric, interval in boot.overall.items():
        assert 0 <= interval[0] < boot.point["overall"][metric] < interval[1] <= 1, metric
    for kind, entry in boot.per_type.items():
        assert entry["f1"][0] <= boot.point["per_type"][kind]["f1"] <= entry["f1"][1], kind
    assert width(boot.overall["f1"]) < 0.2


def test_interval_narrows_as_data_grows():
    gold, pred = noisy_corpus(100, seed=3)
    small = confidence_intervals(gold, pred, resamples=400)
    large = confidence_intervals(gold * 16, pred * 16, resamples=400)  # same F1, 16x the sentences
    assert small.point == large.point
    assert width(large.overall["f1"]) < width(small.overall["f1"]) / 2  # ~1/sqrt(16) = 1/4 in theory
    for kind in small.per_type:
        assert width(large.per_type[kind]["f1"]) < width(small.per_type[kind]["f1"])


def test_higher_level_gives_wider_intervals():
    gold, pred = noisy_corpus(200, seed=4)
    narrow = confidence_intervals(gold, pred, level=0.8, resamples=300)
    wide = confidence_intervals(gold, pred, level=0.99, resamples=300)
    assert wide.overall["f1"][0] <= narrow.overall["f1"][0] and narrow.overall["f1"][1] <= wide.overall["f1"][1]


def test_reproducible_with_the_seed_and_different_with_another():
    gold, pred = noisy_corpus(200, seed=5)
    first = confidence_intervals(gold, pred, resamples=300, seed=7).to_json()
    again = confidence_intervals(gold, pred, resamples=300, seed=7).to_json()
    other = confidence_intervals(gold, pred, resamples=300, seed=8).to_json()
    assert first == again
    assert first["overall"] != other["overall"]
    assert first["seed"] == 7 and first["resamples"] == 300 and first["level"] == 0.95


def test_blocks_of_resamples_give_the_same_result(monkeypatch):
    gold, pred = noisy_corpus(150, seed=6)
    data = entity_counts(gold, pred)
    whole = bootstrap(data, resamples=200, seed=1)
    monkeypatch.setattr(confidence, "_MAX_CELLS", 150 * 7)  # blocks of 7 resamples
    blocked = bootstrap(data, resamples=200, seed=1)
    assert blocked.to_json() == whole.to_json()


def test_schema_block():
    gold, pred = noisy_corpus(50, seed=7)
    block = confidence_intervals(gold, pred, resamples=100, seed=0).to_json()
    assert list(block) == ["method", "level", "resamples", "seed", "mode", "overall", "per_type"]
    assert block["method"] == "percentile bootstrap over sentences" and block["mode"] == "default"
    assert set(block["overall"]) == {"precision", "recall", "f1"}
    for entry in block["per_type"].values():
        assert list(entry) == ["f1"] and all(isinstance(v, float) for v in entry["f1"])


def test_bad_arguments():
    data = entity_counts([["B-PER"]], [["B-PER"]])
    with pytest.raises(ValueError, match="resamples"):
        bootstrap(data, resamples=0)
    with pytest.raises(ValueError, match="level"):
        bootstrap(data, level=95)
    with pytest.raises(ValueError, match="no sentences"):
        bootstrap(entity_counts([], []))
    with pytest.raises(ValueError):
        tag_counts([["NN"]], [])


def test_conll_test_sized_run():
    """3453 sentences x 1000 resamples, the size of the CoNLL-2003 test split (the speed goal is in the report)."""
    gold, pred = noisy_corpus(3453, seed=8, error=0.05)
    boot = confidence_intervals(gold, pred, resamples=1000, seed=0)
    assert width(boot.overall["f1"]) < 0.03
    assert boot.overall["f1"][0] < boot.point["overall"]["f1"] < boot.overall["f1"][1]
