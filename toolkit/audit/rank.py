"""The rank: cleanlab's functions, called as they are, and a kind per flagged word.

`cleanlab.token_classification.filter.find_label_issues` picks the words whose given label the
out-of-sample probabilities contradict (confident learning). Each word's label quality is
cleanlab's `rank.get_label_quality_scores` (self-confidence), by default with its
`adjust_pred_probs`: each label's probability minus its class's average self-confidence. NER is
mostly `O`, and a model's certainty about `O` otherwise buries the labels worth reviewing under
rare names it is confidently wrong about (bench/audit_noise.py: precision@100 0.21 -> 0.92). A
sentence scores its worst word, as `token_classification.rank` does by default. Nothing of either
is re-implemented here: this module only feeds them and names what they found.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass

import numpy as np

from nercore.errors import UserError
from nercore.tags import split_tag

logger = logging.getLogger("toolkit")

KINDS = ("missed entity", "spurious entity", "wrong type", "boundary")
# How a word's label quality is scored: cleanlab's self-confidence, class-adjusted (the default) or plain
# (token_classification.rank's own default).
QUALITIES = ("class-adjusted", "self-confidence")


def import_cleanlab():
    """cleanlab's token-classification filter and its label-quality ranker, or a UserError saying how to install it."""
    try:
        from cleanlab import rank as cl_rank
        from cleanlab.token_classification import filter as cl_filter
    except ImportError as err:
        raise UserError(
            f"nerkit audit ranks labels with cleanlab, which is not installed here ({err}). "
            "Install the extra: pip install 'nerkit[audit]' (or pip install cleanlab)."
        ) from None
    return cl_filter, cl_rank


@dataclass(frozen=True)
class WordIssue:
    word: int  # 0-based word index in the sentence
    given: str
    predicted: str  # the model's most probable label (the next one when that is the given label)
    probability: float  # the model's probability of `predicted`
    given_probability: float  # the model's probability of the given label
    kind: str  # one of KINDS
    word_rank: int  # 1-based place in cleanlab's list of flagged words (most likely wrong first)


@dataclass(frozen=True)
class Ranking:
    scores: np.ndarray  # label quality per audited sentence (cleanlab; lower: more likely wrong); NaN: not judged
    quality: str  # one of QUALITIES
    issues: dict[int, list[WordIssue]]  # sentence -> its flagged words
    order: list[int]  # sentences with flagged words, lowest label quality first


def rank_issues(labels: list[list[int]], probabilities: list[np.ndarray], names: list[str],
                quality: str = QUALITIES[0]) -> Ranking:
    """Run cleanlab on the sentences with at least one judged word (`probabilities[i]` covers the first
    len(probabilities[i]) words of sentence i; words past the model's max length are not judged)."""
    check_quality(quality)
    cl_filter, cl_rank = import_cleanlab()
    judged = [i for i, rows in enumerate(probabilities) if len(rows)]
    given = [list(labels[i][:len(probabilities[i])]) for i in judged]
    probs = [_normalised(probabilities[i]) for i in judged]
    scores = np.full(len(labels), np.nan)
    if not judged:
        return Ranking(scores=scores, quality=quality, issues={}, order=[])
    adjust = {"adjust_pred_probs": quality == "class-adjusted"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        flagged = cl_filter.find_label_issues(given, probs, n_jobs=1, return_indices_ranked_by="self_confidence",
                                              rank_by_kwargs=adjust)
        word_scores = cl_rank.get_label_quality_scores(np.concatenate(given), np.concatenate(probs),
                                                       method="self_confidence", **adjust)
    _log_rare_classes(caught, names)
    ends = np.cumsum([len(g) for g in given])[:-1]
    scores[judged] = [part.min() for part in np.split(word_scores, ends)]  # a sentence: its worst word
    issues: dict[int, list[WordIssue]] = {}
    for word_rank, (row, word) in enumerate(flagged, start=1):
        sentence = judged[row]
        issues.setdefault(sentence, []).append(
            _word_issue(labels[sentence], probs[row][word], word, names, word_rank))
    order = sorted(issues, key=lambda i: (scores[i], i))
    for sentence in order:
        issues[sentence].sort(key=lambda issue: issue.word)
    return Ranking(scores=scores, quality=quality, issues=issues, order=order)


def check_quality(quality: str) -> None:
    """Before any model reads or trains: an unknown label quality is refused."""
    if quality not in QUALITIES:
        raise UserError(f"unknown label quality {quality!r}: choose one of {', '.join(QUALITIES)}.")


def _log_rare_classes(caught: list, names: list[str]) -> None:
    """cleanlab warns once per label with too few examples to flag them all: one line naming those labels."""
    rare = [m.group(1) for w in caught if (m := re.search(r"issues in class: (\d+)", str(w.message)))]
    others = [str(w.message) for w in caught if "issues in class" not in str(w.message)]
    if rare:
        labels = ", ".join(names[int(i)] if int(i) < len(names) else i for i in rare)
        logger.warning("cleanlab: too few examples of %s to be sure to flag all their label issues.", labels)
    for message in others:
        logger.warning("cleanlab: %s", message)


def _normalised(rows: np.ndarray) -> np.ndarray:
    """Rows that sum to 1 exactly as cleanlab checks them (float32 softmax rounding, projection sums)."""
    rows = np.asarray(rows, dtype=np.float64)
    return rows / rows.sum(axis=1, keepdims=True)


def _word_issue(tags: list[int], row: np.ndarray, word: int, names: list[str], word_rank: int) -> WordIssue:
    given = int(tags[word])
    ranked = np.argsort(-row, kind="stable")
    predicted = int(ranked[1] if ranked[0] == given else ranked[0])
    given_tags = [names[t] for t in tags]
    return WordIssue(word=word, given=names[given], predicted=names[predicted], probability=float(row[predicted]),
                     given_probability=float(row[given]), kind=kind_of(given_tags, word, names[predicted]),
                     word_rank=word_rank)


def kind_of(given_tags: list[str], word: int, predicted: str) -> str:
    """What the model's label would change: a missed or spurious entity, a wrong type, or a boundary.

    A word the model adds to (or takes from) an entity of the same type next to it moves a boundary;
    a B-/I- disagreement of one type is a boundary too.
    """
    given = given_tags[word]
    given_prefix, given_type = split_tag(given)
    predicted_prefix, predicted_type = split_tag(predicted)
    if given_prefix is None:  # given O, the model sees an entity
        return "boundary" if _neighbour_of_type(given_tags, word, predicted_type) else "missed entity"
    if predicted_prefix is None:  # given an entity, the model sees O
        return "boundary" if _neighbour_of_type(given_tags, word, given_type, same_span=True) else "spurious entity"
    return "wrong type" if given_type != predicted_type else "boundary"


def _neighbour_of_type(tags: list[str], word: int, kind: str, *, same_span: bool = False) -> bool:
    """Whether the word before or after is an entity word of `kind` (with `same_span`: of the word's own span)."""
    before = split_tag(tags[word - 1]) if word > 0 else (None, "O")
    after = split_tag(tags[word + 1]) if word + 1 < len(tags) else (None, "O")
    if same_span:
        own_prefix = split_tag(tags[word])[0]
        return (own_prefix == "I" and before[0] is not None and before[1] == kind) or \
            (after[0] == "I" and after[1] == kind)
    return (before[0] is not None and before[1] == kind) or (after[0] is not None and after[1] == kind)


def check_entity_labels(names: list[str], label_column: str) -> None:
    """The kinds and the review are about entities: a tag set without B-/I- labels (POS) is refused."""
    if not any(split_tag(name)[0] for name in names):
        raise UserError(
            f"the {label_column!r} labels have no entity labels (B-/I- tags; found {', '.join(names[:6])}): "
            "nerkit audit looks for wrong entity labels. Pass --label-column with an entity column (ner_tags)."
        )
