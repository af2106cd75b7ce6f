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


def _regions(disputed: list[SpanKey], every: list[SpanKey]) -> list[list[int]]:
    """[start, end] regions covering the disputed spans, grown over any span that overlaps them, merged."""
    regions: list[list[int]] = []
    for _type, start, end in disputed:
        if regions and start < regions[-1][1]:
            regions[-1][1] = max(regions[-1][1], end)
        else:
            regions.append([start, end])
    changed = True
    while changed:
        changed = False
        for region in regions:
            for _type, start, end in every:
                if start < region[1] and end > region[0] and (start < region[0] or end > region[1]):
                    region[0], region[1] = min(region[0], start), max(region[1], end)
                    changed = True
        regions.sort()
        merged: list[list[int]] = []
        for region in regions:
            if merged and region[0] < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], region[1])
                changed = True
            else:
                merged.append(region)
        regions = merged
    return regions


def _said_there(spans: Sequence[Mapping], start: int, end: int, text: str | None) -> list[dict]:
    return [
        {"entity_group": s["entity_group"], "start": int(s["start"]), "end": int(s["end"]),
         "word": text[int(s["start"]) : int(s["end"])] if text is not None else s.get("word"),
         "score": float(s["score"])}
        for s in spans
        if int(s["start"]) < end and int(s["end"]) > start
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
    """
    shown = list(results_by_strategy)
    reference = [name for name in reference if name in results_by_strategy]
    names = [name for name in shown if name not in reference]
    if len(names) < 2:
        return []
    spans = {name: as_spans(results_by_strategy[name], text) for name in names}
    keys = {name: {_key(s) for s in spans[name]} for name in names}
    agreed = set.intersection(*keys.values())
    disputed = sorted({k for ks in keys.values() for k in ks} - agreed, key=lambda k: (k[1], k[2], k[0]))
    if not disputed:
        return []
    every = sorted((k for ks in keys.values() for k in ks), key=lambda k: (k[1], k[2]))
    out = []
    for start, end in _regions(disputed, every):
        region: dict = {"start": start, "end": end}
        if text is not None:
            region["text"] = text[start:end]
        region["strategies"] = {name: _said_there(as_spans(results_by_strategy[name], text) if name in reference
                                                  else spans[name], start, end, text) for name in shown}
        out.append(region)
    return out
