"""Which entities to keep: the one score-threshold rule of the Space's API (`min_score`), its threshold
control (`keep_above`, `below_threshold`), `nerkit predict --min-score` and the annotation-tool files
(`keep_whole`: one strategy judged on its own).

An entity's score is the model's probability for its label (averaged or maximised over its
sub-tokens, as its strategy says). A threshold trades recall for precision; the card's Confidence
figures (when the model has them) say what each threshold buys on the test split.

The Space's rule, applied after grouping: each strategy's entity is kept or dropped as a whole.
- A token-level strategy's (`none`) tokens are grouped into the spans the disagreement view shows
  (`nercore.spans.token_groups`); a span's score is the mean of its tokens' scores, and all its
  tokens are kept or dropped together. So "Obama" (0.89) is never dropped from a "Barack Obama"
  (0.92) that the other strategies keep.
- Across strategies (`below_threshold` with several of them): an entity that every compared
  strategy finds (same type, start and end) is kept or dropped in all of them together, by the
  lowest of their scores. So a threshold can remove a disagreement but never make one: every
  disputed span after it was disputed before. Every entity kept still scores at least `min_score`.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

from nercore.errors import shown
from nercore.spans import token_groups

SpanKey = tuple  # (type, start, end)


def check_min_score(value: Any) -> float | None:
    """`value` as a threshold in [0, 1], None for none; a ValueError saying what was expected otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or not 0 <= value <= 1:
        raise ValueError(f"min_score must be a number from 0 to 1 (an entity's score), or null for none; "
                         f"got {shown(value)}.")
    return float(value)


def entity_units(entities: Sequence[Mapping], text: str | None = None) -> list[tuple[SpanKey, float, list[int]]]:
    """(key, score, indices into `entities`) of each whole entity: a grouped entity is its own unit;
    token-level output (no `entity_group`) is grouped as `nercore.spans.none_to_spans` does, scored by
    its tokens' mean score."""
    if not entities:
        return []
    if "entity_group" in entities[0]:
        return [((str(e["entity_group"]), int(e["start"]), int(e["end"])), float(e["score"]), [i])
                for i, e in enumerate(entities)]
    position = {id(e): i for i, e in enumerate(entities)}
    units = []
    for kind, tokens in token_groups(entities, text):
        key = (str(kind), int(tokens[0]["start"]), max(int(t["end"]) for t in tokens))
        score = sum(float(t["score"]) for t in tokens) / len(tokens)
        units.append((key, score, [position[id(t)] for t in tokens]))
    return units


def below_threshold(results_by_strategy: Mapping[str, Sequence[Mapping]], min_score: float | None,
                    text: str | None = None, reference: Iterable[str] = ()) -> dict[str, set[int]]:
    """Per strategy, the indices of its entities that `min_score` drops (the Space dims them); the rule
    is in the module doc. `reference` strategies (nerkit's `word` view) are thresholded on their own
    scores and do not count towards "every compared strategy"."""
    below: dict[str, set[int]] = {name: set() for name in results_by_strategy}
    if not min_score:
        return below
    units = {name: entity_units(found, text) for name, found in results_by_strategy.items()}
    reference = set(reference)
    compared = [name for name in units if name not in reference]
    lowest: dict[SpanKey, float] = {}
    if len(compared) > 1:
        scores = [{} for _ in compared]
        for table, name in zip(scores, compared):
            for key, score, _members in units[name]:
                table[key] = min(score, table.get(key, score))
        for key in set.intersection(*(set(table) for table in scores)):
            lowest[key] = min(table[key] for table in scores)
    for name, found in units.items():
        shared = lowest if name in compared else {}
        for key, score, members in found:
            if shared.get(key, score) < min_score:
                below[name].update(members)
    return below


def keep_above(results_by_strategy: Mapping[str, Sequence[Mapping]], min_score: float | None,
               text: str | None = None, reference: Iterable[str] = ()) -> dict[str, list]:
    """Each strategy's entities without those `below_threshold` drops, in their order."""
    below = below_threshold(results_by_strategy, min_score, text, reference)
    return {name: [e for i, e in enumerate(found) if i not in below[name]]
            for name, found in results_by_strategy.items()}


def keep_whole(entities: Sequence[Mapping], min_score: float | None, text: str | None = None) -> list:
    """One strategy's entities under the same whole-entity rule, judged on its own (no other strategy
    is linked), so `nerkit predict`'s output for a strategy never depends on which others were asked for:
    a `none` token is kept or dropped with its span, by the span's mean score."""
    return keep_above({"": entities}, min_score, text)[""]


__all__ = ["below_threshold", "check_min_score", "entity_units", "keep_above", "keep_whole"]
