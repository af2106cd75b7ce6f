"""Per-strategy end-to-end F1 that a model carries with it, for the Space to show beside each row.

`nerkit evaluate --strategies` writes a `strategies` block into the model's `eval_results.json`
(docs/eval-results.md). This module reads it through the core's one typed reader
(`nercore.runfolder.EvalResults`) from a local model folder, or from a Hub repo with
`huggingface_hub.hf_hub_download`. A model without the file, a file without the block, a file
the reader refuses or any download failure all mean "no scores": this is decoration, never a
reason to fail a request.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from nercore.errors import UserError
from nercore.runfolder import EVAL_RESULTS, EvalResults

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StrategyF1:
    """What the Space shows of the `strategies` block: end-to-end F1 per strategy, and what it was measured on."""

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

    def to_json(self) -> dict:
        """What `/compare` returns as `scores`."""
        return {"f1": dict(self.f1), "best": self.best, "split": self.split, "num_sentences": self.num_sentences}


def scores_from_json(data: Any, file: str = EVAL_RESULTS) -> StrategyF1 | None:
    """The `strategies` block of a parsed eval_results.json, or None when it has none or the file is refused."""
    try:
        return _of(EvalResults.from_json(data if isinstance(data, dict) else {}, file=file))
    except UserError as exc:
        log.debug("no strategy scores: %s", exc)
        return None


def read_scores(path: str | Path) -> StrategyF1 | None:
    """Scores from an eval_results.json file; None when missing, unreadable or refused."""
    try:
        return _of(EvalResults.from_json(Path(path)))
    except (UserError, OSError) as exc:
        log.debug("no strategy scores in %s: %s", path, exc)
        return None


def _of(results: EvalResults) -> StrategyF1 | None:
    block = results.strategies
    if block is None or not block.results:
        return None
    return StrategyF1(f1={name: s.f1 for name, s in block.results.items()}, split=block.split,
                      num_sentences=block.num_sentences)


def _download(repo_id: str, revision: str | None) -> Path | None:
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(repo_id, EVAL_RESULTS, revision=revision))
    except Exception as exc:  # not on the Hub, offline, gated, no such file: all mean "no scores"
        log.info("no %s for %s: %s", EVAL_RESULTS, repo_id, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return None


_cache: dict[tuple[str, str | None], StrategyF1 | None] = {}
_lock = threading.Lock()
_MAX_CACHED = 256  # typed Hub ids are visitor input: keep the cache bounded (oldest entry goes first)


def model_scores(model: str | Path, revision: str | None = None) -> StrategyF1 | None:
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


__all__ = ["StrategyF1", "clear_cache", "model_scores", "read_scores", "scores_from_json"]
