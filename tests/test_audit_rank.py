"""The audit's ranking: cleanlab's label quality, class-adjusted by default, on probabilities built by hand.

The case that decided the default (bench/audit_noise.py on CoNLL-2003): a model that is often
confidently wrong about one rare type. Plain self-confidence puts those correct-but-hard labels
first; cleanlab's `adjust_pred_probs` judges each label against its class's average
self-confidence, so the real mistakes (here: entities left as O) come first.
"""

from __future__ import annotations

import numpy as np

from conftest import require

require("cleanlab")

NAMES = ["O", "B-PER", "B-MISC"]


def row(o: float, per: float, misc: float) -> list[float]:
    return [o, per, misc]


def weak_misc_data():
    """Sentences of [name, O, O]: 60 PER names (the model sure), 40 MISC names of which 10 the model
    calls O with 0.99 (it is weak on MISC, the labels are right), and 3 sentences whose PER name
    was left O (the label errors: the model says PER with 0.98)."""
    labels, probs = [], []
    filler = [row(0.995, 0.003, 0.002)] * 2
    for _ in range(60):
        labels.append([1, 0, 0])
        probs.append(np.array([row(0.02, 0.97, 0.01), *filler]))
    for i in range(40):
        labels.append([2, 0, 0])
        probs.append(np.array([row(0.99, 0.005, 0.005) if i < 10 else row(0.15, 0.05, 0.8), *filler]))
    errors = []
    for _ in range(3):
        errors.append(len(labels))
        labels.append([0, 0, 0])
        probs.append(np.array([row(0.01, 0.98, 0.01), *filler]))
    hard = list(range(60, 70))
    return labels, probs, errors, hard


def test_class_adjusted_quality_puts_the_label_errors_before_a_weak_class():
    from toolkit.audit.rank import rank_issues

    labels, probs, errors, hard = weak_misc_data()
    ranking = rank_issues(labels, probs, NAMES)  # the default
    assert ranking.quality == "class-adjusted"
    first = np.argsort(ranking.scores, kind="stable")[:3].tolist()
    assert sorted(first) == errors
    assert all(ranking.scores[e] < min(ranking.scores[h] for h in hard) for e in errors)
    # the words flagged are cleanlab's either way; their word_rank follows the same adjusted score
    word_ranks = {sentence: issue.word_rank for sentence, found in ranking.issues.items() for issue in found}
    assert sorted(word_ranks[e] for e in errors) == [1, 2, 3]


def test_plain_self_confidence_is_cleanlab_token_classification_default():
    """`--label-quality self-confidence` reproduces token_classification.rank's own sentence scores,
    and there the weak class's correct labels come first (why it is not the default)."""
    from cleanlab.token_classification.rank import get_label_quality_scores

    from toolkit.audit.rank import rank_issues

    labels, probs, errors, hard = weak_misc_data()
    ranking = rank_issues(labels, probs, NAMES, "self-confidence")
    expected, _ = get_label_quality_scores(labels, [p / p.sum(axis=1, keepdims=True) for p in probs])
    np.testing.assert_allclose(ranking.scores, expected, rtol=1e-12)
    first = np.argsort(ranking.scores, kind="stable")[:10].tolist()
    assert sorted(first) == hard


def test_words_past_the_max_length_are_not_judged():
    from toolkit.audit.rank import rank_issues

    labels, probs, errors, _ = weak_misc_data()
    probs[errors[0]] = np.zeros((0, 3))  # nothing judged in that sentence
    ranking = rank_issues(labels, probs, NAMES)
    assert np.isnan(ranking.scores[errors[0]]) and errors[0] not in ranking.issues
    nothing = rank_issues([[0, 1]], [np.zeros((0, 3))], NAMES)
    assert nothing.order == [] and np.isnan(nothing.scores).all()
