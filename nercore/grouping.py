"""One window's token scores, and the pipeline's grouping rules on them, computed once for every strategy.

`WindowScores` is what each `nercore.strategies` entry aggregates. It equals
`pipe.aggregate(pre_entities, s)` followed by postprocess's ignore_labels filter (tests pin that on
random scores), but five strategies cost little more than one: token argmaxes are computed once
and vectorised, word groups are shared by the word strategies, and word strings are only decoded
for entities that survive the filter. It still calls the pipeline's own `get_tag` and the
tokenizer's `convert_tokens_to_string`, and hands NaN scores to `pipe.aggregate` itself (nanmean).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from nercore.tags import pipeline_group


def softmax(logits: np.ndarray) -> np.ndarray:
    """Exactly TokenClassificationPipeline.postprocess's float32 numpy softmax."""
    maxes = np.max(logits, axis=-1, keepdims=True)
    shifted_exp = np.exp(logits - maxes)
    return shifted_exp / shifted_exp.sum(axis=-1, keepdims=True)


def plain(entity: dict) -> dict:
    """numpy scalars -> Python (the Space's JSON and ZeroGPU's pickling need it); key order kept."""
    out = {}
    for key, value in entity.items():
        if isinstance(value, np.generic):
            value = value.item()
        if key == "score":
            value = float(value)
        elif key in ("start", "end", "index") and value is not None:
            value = int(value)
        elif key in ("entity", "entity_group", "word"):
            value = str(value)
        out[key] = value
    return out


class WindowScores:
    """The pre-entities of one window (`pipe.gather_pre_entities`) with what every strategy needs.

    `special_tokens_mask` marks the window's special tokens; the engine uses it to place a token
    of this window in the whole text. `fallback` is True when scores hold NaN: then the engine asks
    `pipeline_aggregate` instead of the strategies' fast path.
    """

    def __init__(self, pipe: Any, pre: list[dict], ignore_labels: Sequence[str],
                 special_tokens_mask: Sequence[int] = (), text: str | None = None,
                 joined: dict[tuple[str, ...], str] | None = None):
        self.pipe = pipe
        self.pre = pre
        # tokens -> the tokenizer's string for them; the windows of one text share it (they overlap)
        self.joined: dict[tuple[str, ...], str] = {} if joined is None else joined
        self.text = text  # the whole text the offsets index (the word view splits it into words)
        self.ignore = tuple(ignore_labels)
        self.special_tokens_mask = list(special_tokens_mask)
        self.fallback = False
        if not pre:
            return
        scores = np.stack([p["scores"] for p in pre])
        id2label = pipe.model.config.id2label
        self.labels = [id2label[i] for i in range(scores.shape[1])]
        if np.isnan(scores).any():
            self.fallback = True
            return
        self.tags = {label: pipe.get_tag(label) for label in self.labels}
        self.scores = scores
        self.token_best = scores.argmax(axis=1)
        self.token_score = scores[np.arange(len(pre)), self.token_best]
        self._word_strings: dict[int, str] = {}
        self._group_strings: dict[tuple, str] = {}  # the word strategies often form the same groups
        self._words: list[tuple[int, int]] | None = None

    def pipeline_aggregate(self, name: str, *, keep_ignored: bool = False) -> list[dict]:
        """The pipeline's own `aggregate` for strategy `name`, filtered like postprocess unless `keep_ignored`."""
        from transformers.pipelines.token_classification import AggregationStrategy

        ignore = () if keep_ignored else self.ignore
        entities = self.pipe.aggregate(self.pre, AggregationStrategy[name.upper()])
        return [
            plain(e) for e in entities
            if e.get("entity", None) not in ignore and e.get("entity_group", None) not in ignore
        ]

    def tokens(self) -> list[dict]:
        """One entity per token, "O" included (the engine filters after merging windows)."""
        labels = self.labels
        return [
            {"entity": labels[b], "score": sc, "index": int(p["index"]), "word": p["word"],
             "start": p["start"], "end": p["end"]}
            for b, sc, p in zip(self.token_best.tolist(), self.token_score.tolist(), self.pre)
        ]

    def word_bounds(self) -> list[tuple[int, int]]:
        """(first, end) token rows of each word, as the pipeline's aggregate_words cuts them."""
        if self._words is None:  # the first token always opens a word; a non-subword token opens the next
            starts = [i for i, p in enumerate(self.pre) if i == 0 or not p["is_subword"]]
            self._words = list(zip(starts, starts[1:] + [len(self.pre)]))
        return self._words

    def _word_string(self, w: int) -> str:
        if w not in self._word_strings:
            start, end = self.word_bounds()[w]
            self._word_strings[w] = self._join([p["word"] for p in self.pre[start:end]])
        return self._word_strings[w]

    def group_tokens(self) -> list[dict]:
        """Tokens with their own best label, grouped like the pipeline's "simple"."""
        items = [(self.labels[b], sc, p["start"], p["end"], i)
                 for i, (b, sc, p) in enumerate(zip(self.token_best.tolist(), self.token_score.tolist(), self.pre))]
        return self._group(items, "token", word_of=lambda i: self.pre[i]["word"])

    def group_words(self, best: Sequence[int], score: Sequence[float]) -> list[dict]:
        """Words labelled `best[w]` with score `score[w]` (one per `word_bounds` entry), grouped."""
        pre, best, score = self.pre, np.asarray(best).tolist(), np.asarray(score).tolist()
        items = [(self.labels[b], sc, pre[s]["start"], pre[e - 1]["end"], w)
                 for w, (b, sc, (s, e)) in enumerate(zip(best, score, self.word_bounds()))]
        return self._group(items, "word", word_of=self._word_string)

    def _group_string(self, unit: str, first: int, last: int, word_of: Callable[[int], str]) -> str:
        key = (unit, first, last)
        if key not in self._group_strings:
            self._group_strings[key] = self._join([word_of(i) for i in range(first, last + 1)])
        return self._group_strings[key]

    def _join(self, tokens: list[str]) -> str:
        """`tokenizer.convert_tokens_to_string(tokens)`, computed once per token sequence."""
        key = tuple(tokens)
        if key not in self.joined:
            self.joined[key] = self.pipe.tokenizer.convert_tokens_to_string(tokens)
        return self.joined[key]

    def _group(self, items: list[tuple], unit: str, word_of: Callable[[int], str]) -> list[dict]:
        """The pipeline's group_entities + group_sub_entities + the ignore_labels filter.

        `items` are (label, score, start, end, position) of consecutive tokens or words (`unit`);
        `word_of(position)` is the string the pipeline joins for it.
        """
        out = []
        for first, end in group_runs([item[0] for item in items], self.tags):
            group = items[first:end]
            entity_group = pipeline_group(group[0][0])
            if entity_group in self.ignore:
                continue
            out.append({
                "entity_group": entity_group,
                "score": sum(item[1] for item in group) / len(group),
                "word": self._group_string(unit, group[0][4], group[-1][4], word_of),
                "start": group[0][2],
                "end": group[-1][3],
            })
        return out


def group_runs(labels: Sequence[str], tags: Mapping[str, tuple[str, str]]) -> list[tuple[int, int]]:
    """`[first, end)` runs of consecutive labelled items that the pipeline's `group_entities` makes one
    entity: an item joins the previous one when its type (`tags[label]`, the pipeline's `get_tag`) is
    the same and its tag is not "B"."""
    runs: list[tuple[int, int]] = []
    first = 0
    for i in range(1, len(labels)):
        bi, tag = tags[labels[i]]
        if tag != tags[labels[i - 1]][1] or bi == "B":
            runs.append((first, i))
            first = i
    if labels:
        runs.append((first, len(labels)))
    return runs


def merge_token_windows(windows: Sequence[WindowScores], parts: Sequence[list[dict]], step: int) -> list[dict]:
    """Token-level output of overlapping windows as one list over the whole text, ignored labels dropped.

    A token seen by two windows keeps the prediction of the window where it has the most context
    on both sides (ties: the earlier window); `index` becomes its position in the whole text.
    """
    ignore = windows[0].ignore if windows else ()
    if len(windows) == 1:
        return [e for e in parts[0] if e["entity"] not in ignore]
    out = []
    for global_index, entity in best_context(windows, parts, step).items():
        entity["index"] = global_index
        if entity["entity"] not in ignore:
            out.append(entity)
    return out


def best_context(windows: Sequence[WindowScores], parts: Sequence[Sequence[dict]], step: int) -> dict[int, dict]:
    """{global token index: item} in text order, for items (dicts with the window-local `index`) of
    overlapping windows: a token seen by two windows keeps the item of the window where it has the
    most context on both sides (ties: the earlier window)."""
    best: dict[int, tuple[int, int, dict]] = {}  # global index -> (context, -window, item)
    for number, (window, items) in enumerate(zip(windows, parts)):
        content = [i for i, special in enumerate(window.special_tokens_mask) if not special]
        first, last = content[0], content[-1]
        for item in items:
            local = item["index"]
            candidate = (min(local - first, last - local), -number)
            global_index = local + number * step
            if global_index not in best or candidate > best[global_index][:2]:
                best[global_index] = (*candidate, item)
    return {i: best[i][2] for i in sorted(best)}


def merge_windows(windows: Sequence[WindowScores], step: int) -> WindowScores:
    """One WindowScores over the whole text: each token's pre-entity from the window where it has the
    most context (`best_context`), `index` counting tokens in the whole text. For strategies that
    must see whole words however the text was cut (the word view)."""
    if len(windows) == 1:
        return windows[0]
    merged = best_context(windows, [w.pre for w in windows], step)
    pre = [dict(p, index=i) for i, p in merged.items()]
    first = windows[0]
    return WindowScores(first.pipe, pre, first.ignore, text=first.text, joined=first.joined)
