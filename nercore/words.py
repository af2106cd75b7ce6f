"""The `word` view: nerkit's own aggregation, the same words for every tokenizer family.

transformers' word strategies (`first`, `average`, `max`) let the tokenizer decide what a word is:
WordPiece's `##` marks, else a heuristic (a piece not preceded by a space continues the previous
word), so on byte-level BPE and SentencePiece models `Paris,` and `France.` are single words and the
punctuation lands inside the entity. The word view decides words from the text alone.

The rule, step by step
----------------------
1. **Words** (`split_words`): the text is cut the way BERT's basic tokenizer (and the fast
   `BertNormalizer` + `BertPreTokenizer`) cuts it: at whitespace; every punctuation character
   (ASCII punctuation or a Unicode `P*` category) is a word of its own; every CJK ideograph is a
   word of its own. Control and format characters (Unicode `C*` but tab/newline/CR, NUL, U+FFFD)
   are invisible: they neither split a word nor start or end one. Words are character spans.
2. **Pieces → words** by character offsets: a piece (sub-token) counts toward every word its
   offsets overlap; whitespace-only pieces count toward none. A piece that straddles words is
   read as a continuation in the words after its first one (its `B-X` score counts as `I-X`), so
   the words it joins stay one entity.
3. **A word's label** is the label of its most confident piece (`max`): of the pieces that count
   toward the word, the one whose best score is highest (ties: the first) gives the label and
   score. Measured end to end (exact character spans, `toolkit.evaluate.strategies`, F1 in %)
   against the other two candidate rules, `first` (the first piece) and `average` (best label of
   the mean scores):

   | model, test set | word/first | word/max | word/average |
   |---|---|---|---|
   | bundled `./model` (WordPiece MiniLM), CoNLL-2003 test, 3453 sentences, tokens joined by spaces | 86.85 | 86.90 | 86.86 |
   | the same, `join="natural"` ("Paris, France.") | 86.85 | 86.90 | 86.86 |
   | rigged byte-level BPE and Metaspace models, tests/test_word_view.py's punctuation-rich set | 100 | 100 | 100 |

   `max` is best on the bundled model (the rigged models, one labelled piece a word, cannot tell
   the rules apart), and a word split into many uncertain pieces cannot out-vote its one confident
   piece; on WordPiece it equals the pipeline's `max` wherever the pipeline's words are right.
4. **Entities**: consecutive words join by the pipeline's B-/I- rule (`nercore.grouping.group_runs`:
   same type and not `B-`); a word without any piece ends the entity. A word labelled with an
   ignored label (`O`) is no entity.
5. **Edges**: a punctuation word at either edge of an entity that has no piece of its own (only a
   piece shared with the neighbouring word) is dropped from the entity, so `▁Paris,` as one piece
   still gives `Paris`. A punctuation word with its own piece stays when the model labels it inside
   the entity (`U.S.`, `Inc.`), as the gold spans of CoNLL-style data have it.
6. **Output**: `{"entity_group", "score", "word", "start", "end"}` like the pipeline's grouped
   strategies; `start`/`end` are exact character offsets of the first and last word (never a
   leading space), `word` is `text[start:end]`, `score` the mean of the words' scores.

Long texts: the engine first merges overlapping windows token by token (each token from the window
where it has most context), so words are never cut by a window edge. NaN scores count as 0.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from functools import lru_cache
from typing import Sequence

import numpy as np

from nercore.grouping import group_runs
from nercore.tags import pipeline_group, pipeline_tag

RULES = ("first", "max", "average")
RULE = "max"
RULE_HELP = ("nerkit's own, not a pipeline strategy: words split at spaces and punctuation as BERT's basic "
             "tokenizer does, for any tokenizer; each word takes its most confident piece's label")

# CJK ideographs that BERT's basic tokenizer puts in words of their own (BertNormalizer's table).
_CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
        (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))
_SPACE, _HIDDEN, _SINGLE, _CHAR = range(4)


@lru_cache(maxsize=65536)
def char_kind(ch: str) -> int:
    """_SPACE (splits), _HIDDEN (control/format: invisible), _SINGLE (punctuation/CJK: a word alone), _CHAR."""
    if ch in "\t\n\r":
        return _SPACE
    category = unicodedata.category(ch)
    if category[0] == "C" or ch in "\x00\ufffd":
        return _HIDDEN
    if ch.isspace():
        return _SPACE
    code = ord(ch)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126 or category[0] == "P":
        return _SINGLE
    if any(low <= code <= high for low, high in _CJK):
        return _SINGLE
    return _CHAR


def is_punctuation(word: str) -> bool:
    """True for a one-character punctuation word (what step 5 trims)."""
    return len(word) == 1 and char_kind(word) == _SINGLE and unicodedata.category(word)[0] != "L"


# ASCII text without control characters: letters/digits runs and single punctuation marks (the same
# words as the loop below, found by the regex engine: reading 100,000 spans spends most time here).
_ASCII_WORDS = re.compile(r"[A-Za-z0-9]+|[!-/:-@\[-`{-~]")
_ASCII_HIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def split_words(text: str) -> list[tuple[int, int]]:
    """`(start, end)` character spans of the words of `text` (step 1 of the module doc)."""
    if text.isascii() and not _ASCII_HIDDEN.search(text):
        return [match.span() for match in _ASCII_WORDS.finditer(text)]
    words: list[tuple[int, int]] = []
    start = end = -1
    for i, ch in enumerate(text):
        kind = char_kind(ch)
        if kind == _HIDDEN:
            continue
        if kind == _CHAR:
            if start < 0:
                start = i
            end = i + 1
            continue
        if start >= 0:
            words.append((start, end))
            start = -1
        if kind == _SINGLE:
            words.append((i, i + 1))
    if start >= 0:
        words.append((start, end))
    return words


def _continuation_matrix(labels: Sequence[str]) -> np.ndarray:
    """Moves each B-X score to I-X (when the label set has it): how a straddling piece counts after its first word."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.eye(len(labels), dtype=np.float32)
    for i, label in enumerate(labels):
        target = index.get("I-" + label[2:]) if label.startswith("B-") else None
        if target is not None:
            matrix[i, i], matrix[i, target] = 0.0, 1.0
    return matrix


def piece_words(pre: Sequence[dict], words: Sequence[tuple[int, int]], text: str) -> list[list[tuple[int, bool]]]:
    """For each word, the pieces that count toward it: `(row in pre, continuation)` (step 2)."""
    ends = [end for _start, end in words]
    out: list[list[tuple[int, bool]]] = [[] for _ in words]
    for row, piece in enumerate(pre):
        start, end = piece.get("start"), piece.get("end")
        if start is None or end is None or start >= end:
            continue
        w = bisect.bisect_right(ends, start)
        first = True
        while w < len(words) and words[w][0] < end:
            out[w].append((row, not first))
            first = False
            w += 1
    return out


def word_labels(scores: np.ndarray, pieces: Sequence[Sequence[tuple[int, bool]]], labels: Sequence[str],
                rule: str) -> list[tuple[int, float] | None]:
    """`(label index, score)` of each word under `rule` (step 3), None for a word without pieces."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    matrix = _continuation_matrix(labels)
    out: list[tuple[int, float] | None] = []
    for contributions in pieces:
        if not contributions:
            out.append(None)
            continue
        rows = scores[[row for row, _ in contributions]]
        later = np.array([continued for _, continued in contributions])
        if later.any():
            rows = rows.copy()
            rows[later] = rows[later] @ matrix
        if rule == "first":
            vector = rows[0]
        elif rule == "max":
            vector = rows[int(rows.max(axis=1).argmax())]
        else:
            vector = rows.mean(axis=0)
        best = int(vector.argmax())
        out.append((best, float(vector[best])))
    return out


def _trimmed(run: list[int], words, pieces, text: str) -> list[int]:
    """Step 5: drop edge punctuation words that have no piece of their own."""
    def shared_punctuation(w: int) -> bool:
        following = set(pieces[w + 1]) if w + 1 < len(pieces) else set()
        own = any(not continued and (row, True) not in following for row, continued in pieces[w])
        return not own and is_punctuation(text[words[w][0]:words[w][1]])

    while run and shared_punctuation(run[0]):
        run = run[1:]
    while run and shared_punctuation(run[-1]):
        run = run[:-1]
    return run


def word_entities(text: str | None, pre: Sequence[dict], labels: Sequence[str], ignore: Sequence[str] = ("O",),
                  rule: str | None = None) -> list[dict]:
    """The word view's entities for one text from the pipeline's pre-entities; `rule` defaults to `RULE`."""
    if not pre or text is None:
        return []
    rule = RULE if rule is None else rule
    words = split_words(text)
    pieces = piece_words(pre, words, text)
    scores = np.nan_to_num(np.stack([p["scores"] for p in pre]).astype(np.float32), nan=0.0)
    labelled = word_labels(scores, pieces, labels, rule)
    tags = {label: pipeline_tag(label) for label in labels}
    out = []
    segment: list[int] = []
    for w in range(len(words) + 1):
        if w < len(words) and labelled[w] is not None:
            segment.append(w)
            continue
        names = [labels[labelled[s][0]] for s in segment]
        for first, end in group_runs(names, tags):
            if pipeline_group(names[first]) in ignore:
                continue
            run = _trimmed(segment[first:end], words, pieces, text)
            if run:
                start, stop = words[run[0]][0], words[run[-1]][1]
                out.append({
                    "entity_group": pipeline_group(names[first]),
                    "score": float(sum(labelled[r][1] for r in run) / len(run)),
                    "word": text[start:stop],
                    "start": int(start),
                    "end": int(stop),
                })
        segment = []
    return out


__all__ = ["RULE", "RULES", "RULE_HELP", "char_kind", "is_punctuation", "piece_words", "split_words",
           "word_entities", "word_labels"]
