"""Which entities to keep: one score-threshold rule for `nerkit predict --min-score`, the Space's API
(`min_score`) and its threshold control.

An entity's score is the model's probability for its label (averaged or maximised over its
sub-tokens, as its strategy says). A threshold trades recall for precision; the card's Confidence
figures (when the model has them) say what each threshold buys on the test split.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from nercore.errors import shown


def check_min_score(value: Any) -> float | None:
    """`value` as a threshold in [0, 1], None for none; a ValueError saying what was expected otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or not 0 <= value <= 1:
        raise ValueError(f"min_score must be a number from 0 to 1 (an entity's score), or null for none; "
                         f"got {shown(value)}.")
    return float(value)


def keep_confident(entities: Sequence[Mapping], min_score: float | None) -> list:
    """The entities scored at least `min_score` (all of them for None or 0), in their order."""
    if not min_score:
        return list(entities)
    return [e for e in entities if float(e["score"]) >= min_score]


def is_below(entity: Mapping, min_score: float | None) -> bool:
    """True when a threshold is set and `entity` scores under it (the Space dims those)."""
    return bool(min_score) and float(entity["score"]) < min_score


__all__ = ["check_min_score", "is_below", "keep_confident"]
