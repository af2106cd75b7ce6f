"""Per-strategy end-to-end F1 that a model carries with it, for the Space to show beside each row.

`nerkit evaluate --strategies` writes a `strategies` block into the model's `eval_results.json`
(docs/eval-results.md): `{"split": .., "num_sentences": .., "results": {name: {"f1": .., ..}}}`.
This module reads that block from a local model folder, or from a Hub repo with
`huggingface_hub.hf_hub_download`. Gradio-free and toolkit-free (the Space is deployed alone).
A model without the file, a file without the block, a bad value or any download failure all
mean "no scores": this is decoration, never a reason to fail a request.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

log = logging.getLogger(__name__)

EVAL_RESULTS = "eval_results.json"  # the run folder's name for it (nercore.runfolder.names)


@dataclass(frozen=True)
class StrategyScores:
    """End-to-end F1 per strategy name, and on which split / how many sentences it was measured."""

    f1: Mapping[str, float] = field(default_factory=dict)
    split: str | None = None
    num_sentences: int | None = None

    @property
    def best(self) -> str | None:
        """The strategy with the highest F1 (the first in file order on a tie)."""
        return max(self.f1, key=lambda name: self.f1[name]) if self.f1 else None

    def describe(self) -> str:
        """"test split, 3,453 sentences" (what the F1 was measured on), or ""."""
        parts = [f"{self.split} split" if self.split else "",
                 f"{self.num_sentences:,} sentences" if self.num_sentences else ""]
        return ", ".join(p for p in parts if p)


def scores_from_json(data: Any) -> StrategyScores | None:
    """The `strategies` block of a parsed eval_results.json, or None when it has none usable."""
    block = data.get("strategies") if isinstance(data, Mapping) else None
    results = block.get("results") if isinstance(block, Mapping) else None
    if not isinstance(results, Mapping):
        return None
    f1 = {}
    for name, scores in results.items():
        value = scores.get("f1") if isinstance(scores, Mapping) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value <= 1:
            f1[str(name)] = float(value)
    if not f1:
        return None
    split = block.get("split")
    count = block.get("num_sentences")
    return StrategyScores(
        f1=f1,
        split=split if isinstance(split, str) else None,
        num_sentences=count if isinstance(count, int) and not isinstance(count, bool) else None,
    )


def read_scores(path: str | Path) -> StrategyScores | None:
    """Scores from an eval_results.json file; None when missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.debug("no strategy scores in %s: %s", path, exc)
        return None
    return scores_from_json(data)


def _download(repo_id: str, revision: str | None) -> Path | None:
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(repo_id, EVAL_RESULTS, revision=revision))
    except Exception as exc:  # not on the Hub, offline, gated, no such file: all mean "no scores"
        log.info("no %s for %s: %s", EVAL_RESULTS, repo_id, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return None


_cache: dict[tuple[str, str | None], StrategyScores | None] = {}
_lock = threading.Lock()
_MAX_CACHED = 256  # typed Hub ids are visitor input: keep the cache bounded (oldest entry goes first)


def model_scores(model: str | Path, revision: str | None = None) -> StrategyScores | None:
    """Scores for a model given as a local folder or a Hub id; cached per (model, revision)."""
    key = (str(model), revision)
    with _lock:
        if key in _cache:
            return _cache[key]
    folder = Path(str(model)).expanduser()
    if folder.is_dir():
        found = read_scores(folder / EVAL_RESULTS)
    else:
        path = _download(str(model), revision)
        found = read_scores(path) if path is not None else None
    with _lock:
        _cache[key] = found
        while len(_cache) > _MAX_CACHED:
            del _cache[next(iter(_cache))]
    return found


def clear_cache() -> None:
    with _lock:
        _cache.clear()


__all__ = ["EVAL_RESULTS", "StrategyScores", "clear_cache", "model_scores", "read_scores", "scores_from_json"]
