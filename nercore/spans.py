"""Pure functions on entity lists: decode token-level ("none") output into spans, find where strategies disagree.

No model, no torch, no transformers: input is what `nercore.engine.predict_all` returns.

Decoding "none" into spans (`none_to_spans`), the exact rule
---------------------------------------------------------------
Input: the "none" output — one dict per token the model did NOT label "O" (keys `entity`,
`score`, `index`, `word`, `start`, `end`), `index` being the token's position in the text's
token sequence. Tokens are taken in `index` order; a token's *type* is its label without a
leading "B-" or "I-" (a label without such a prefix is its own type and counts as "I-", as in
the pipeline's `get_tag`). A *word* is a maximal run of non-whitespace characters of the text,
so a token continues the previous token's word when no whitespace lies between them. A token
JOINS the current span when it directly follows the span's last token (`index` + 1: no
"O"-labelled token in between) AND either
  (a) it is in the same word as that token — sub-tokens merge into their word's span whatever
      their own B-/I- or type (the span keeps the type of its first token), or
  (b) its label is "I-<type>" (or bare "<type>") with the span's type.
Otherwise it STARTS a new span: a "B-" tag in a new word, a type change in a new word, or a gap
(an "O" token in between). Pieces of a word labelled "O" are not added, so a span can begin or
end inside a word. A span's `start`/`end` are its first token's start and last token's end, its
`score` the mean of its tokens' scores, its `word` the text slice `text[start:end]`.
Compared with the pipeline's "simple" strategy, the only difference is rule (a).
"""

from __future__ import annotations

import bisect
import itertools
from typing import Iterable, Mapping, Sequence

from nercore.tags import pipeline_tag

SpanKey = tuple  # (type, start, end)


def _same_word(text: str | None, previous: Mapping, token: Mapping) -> bool:
    gap_start, gap_end = int(previous["end"]), int(token["start"])
    if gap_end < gap_start:  # byte pieces of one character share offsets
        return True
    if text is None:
        return gap_end == gap_start
    return not any(ch.isspace() for ch in text[gap_start:gap_end])


def _joins(text: str | None, span: list[Mapping], span_type: str | None, token: Mapping) -> bool:
    """Rules (a) and (b) of the module doc."""
    if not span:
        return False
    previous = span[-1]
    if int(token["index"]) != int(previous["index"]) + 1:
        return False
    bi, kind = pipeline_tag(str(token["entity"]))
    return _same_word(text, previous, token) or (bi != "B" and kind == span_type)


def _span(tokens: list[Mapping], kind: str | None, text: str | None) -> dict:
    start, end = int(tokens[0]["start"]), max(int(t["end"]) for t in tokens)
    word = text[start:end] if text is not None else "".join(str(t.get("word", "")) for t in tokens)
    return {
        "entity_group": kind,
        "score": float(sum(float(t["score"]) for t in tokens) / len(tokens)),
        "word": word,
        "start": start,
        "end": end,
    }


def token_groups(
    token_entities: Sequence[Mapping],
    text: str | None,
    *,
    ignore_labels: Iterable[str] = ("O",),
) -> list[tuple[str | None, list[Mapping]]]:
    """(type, its tokens) for each span `none_to_spans` makes, the token dicts themselves, in order."""
    ignore = set(ignore_labels)
    tokens = sorted(
        (t for t in token_entities if t.get("entity") not in ignore),
        key=lambda t: (int(t["index"]), int(t["start"])),
    )
    groups: list[tuple[str | None, list[Mapping]]] = []
    for token in tokens:
        if groups and _joins(text, groups[-1][1], groups[-1][0], token):
            groups[-1][1].append(token)
        else:
            groups.append((pipeline_tag(str(token["entity"]))[1], [token]))
    return groups


def none_to_spans(
    token_entities: Sequence[Mapping],
    text: str | None,
    *,
    ignore_labels: Iterable[str] = ("O",),
) -> list[dict]:
    """Spans (`entity_group, score, word, start, end`) from "none" token labels; rule in the module doc.

    `text` tells where words end; without it (None) two tokens are one word only when their
    offsets touch (end == start), and `word` is the joined token strings.
    """
    return [_span(tokens, kind, text) for kind, tokens in token_groups(token_entities, text, ignore_labels=ignore_labels)]


def as_spans(entities: Sequence[Mapping], text: str | None = None) -> list[dict]:
    """Any strategy's output as spans: token output is decoded with `none_to_spans`, grouped output kept."""
    if not entities:
        return []
    if "entity_group" in entities[0]:
        return [dict(e) for e in entities]
    return none_to_spans(entities, text)


def _key(span: Mapping) -> SpanKey:
    return (str(span["entity_group"]), int(span["start"]), int(span["end"]))


def _regions(disputed: Iterable[SpanKey], every: Iterable[SpanKey]) -> list[list[int]]:
    """[start, end] regions covering the disputed spans, grown over any span that overlaps them, merged.

    Growing a region until no span overlaps its edge gives the hull of the group of spans that
    overlap one another (overlap: `a.start < b.end and a.end > b.start`) and hold a disputed one,
    so one sweep over the spans sorted by start finds them all: O(n log n), not regions x spans.
    An empty span (start == end) joins nothing; a disputed one makes a region of its own where no
    span covers it, one per (type, point), as the grow-until-stable loop it replaces did.
    """
    disputed = set(disputed)
    spans = sorted({(start, end, (kind, start, end) in disputed) for kind, start, end in every if start < end})
    groups: list[list] = []  # [start, end, holds a disputed span]
    for start, end, is_disputed in spans:
        if groups and start < groups[-1][1]:
            group = groups[-1]
            group[1], group[2] = max(group[1], end), group[2] or is_disputed
        else:
            groups.append([start, end, is_disputed])
    starts = [group[0] for group in groups]
    for point, _type in sorted({(s, t) for t, s, e in disputed if s == e}):
        inside = bisect.bisect_left(starts, point) - 1  # the last group starting before the point
        if inside >= 0 and point < groups[inside][1]:
            groups[inside][2] = True
        else:
            groups.append([point, point, True])
    return sorted([group[0], group[1]] for group in groups if group[2])


class _Overlaps:
    """The spans of one strategy that overlap a given [start, end): found by bisection on their starts
    and a running maximum of their ends, in the strategy's own order."""

    def __init__(self, spans: Sequence[Mapping]):
        self.spans = spans
        self.order = sorted(range(len(spans)), key=lambda i: int(spans[i]["start"]))
        self.starts = [int(spans[i]["start"]) for i in self.order]
        # reach[k]: the largest end among the first k + 1 spans by start
        self.reach = list(itertools.accumulate((int(spans[i]["end"]) for i in self.order), max))

    def between(self, start: int, end: int) -> list[Mapping]:
        first = bisect.bisect_right(self.reach, start)  # spans before it all end by `start`
        last = bisect.bisect_left(self.starts, end)  # spans from it on all start at `end` or later
        found = [i for i in self.order[first:last] if int(self.spans[i]["end"]) > start]
        return [self.spans[i] for i in sorted(found)]


def _said_there(spans: Iterable[Mapping], text: str | None) -> list[dict]:
    return [
        {"entity_group": s["entity_group"], "start": int(s["start"]), "end": int(s["end"]),
         "word": text[int(s["start"]) : int(s["end"])] if text is not None else s.get("word"),
         "score": float(s["score"])}
        for s in spans
    ]


def disagreements(results_by_strategy: Mapping[str, Sequence[Mapping]], text: str | None = None,
                  reference: Iterable[str] = ()) -> list[dict]:
    """Regions of the text where the strategies do not all give the same spans.

    Each strategy's output becomes a set of (type, start, end) spans (token output decoded by
    `none_to_spans`). A span that not every strategy has is a disagreement; overlapping ones are
    merged into one region, grown to cover every span (of any strategy) that overlaps it.
    Returns regions in text order: `{"start", "end", "text", "strategies": {name: [spans there]}}`
    ("text" only when `text` is given). An empty list means full agreement.
    `reference` names strategies (e.g. the `word` view) that are shown in every region but neither
    make nor grow one: the regions are where the others disagree.
    Near-linear in the number of spans (sort + sweep), however many regions there are.
    """
    shown = list(results_by_strategy)
    reference = [name for name in reference if name in results_by_strategy]
    names = [name for name in shown if name not in reference]
    if len(names) < 2:
        return []
    spans = {name: as_spans(results_by_strategy[name], text) for name in names}
    keys = {name: {_key(s) for s in spans[name]} for name in names}
    agreed = set.intersection(*keys.values())
    disputed = {k for ks in keys.values() for k in ks} - agreed
    if not disputed:
        return []
    spans.update((name, as_spans(results_by_strategy[name], text)) for name in reference)
    overlaps = {name: _Overlaps(spans[name]) for name in shown}
    out = []
    for start, end in _regions(disputed, (k for ks in keys.values() for k in ks)):
        region: dict = {"start": start, "end": end}
        if text is not None:
            region["text"] = text[start:end]
        region["strategies"] = {name: _said_there(overlaps[name].between(start, end), text) for name in shown}
        out.append(region)
    return out
