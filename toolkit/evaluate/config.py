"""`EvalConfig`: every setting of one evaluation, checked when it is made, before any model work.

Why: `evaluate_model` took eighteen keyword arguments, most of them undocumented, and checked
some only after loading the model. Like `TrainConfig` and `PredictConfig`, one frozen record now
holds them, and a bad value is a `UserError` naming the flag before the data is read or the model
loaded.

An evaluation reports up to three readings of one split, and the settings do not all govern each:

- **word-level** (seqeval, the headline and `document_context.other`): each sentence's words,
  first sub-token decides; read alone and/or inside its document with `context_tokens` sub-tokens
  of context per side (`context` picks which; the model's trained setting is the default).
- **per strategy** (`strategies`): the sentences through the token-classification pipeline and the
  core's engine, as the Space reads them. On data with documents and a "with" headline each
  document is one text, read in the engine's windows: for a model trained with context, 4N
  text sub-tokens of its *trained* N (`nercore.context.inference_window`), else the model's full
  length; `context_tokens` does not change them (the card says so). Span data (`records`) is read
  as its own texts.
- **bootstrap** (`bootstrap`, `seed`, `ci_level`): intervals for every word-level reading.

`batch_size`, `max_length`, `backend`, `revision` and `max_samples` apply to every reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from nercore.errors import UserError

CONTEXT_CHOICES = ("both", "with", "without")


@dataclass(frozen=True)
class EvalConfig:
    """One evaluation's settings (see the module docstring for which reading each governs)."""

    model: str  # model folder or Hub id
    split: str = "test"
    output_dir: str | Path | None = None  # default: the model folder, or ./eval-<model id>
    revision: str | None = None  # the model's revision on the Hub
    backend: str = "torch"  # torch, onnx, onnx-int8: every reading (results go to eval_results.<backend>.json)
    batch_size: int = 64  # sentences (word level) or windows (per strategy) per forward pass
    max_length: int | None = None  # sub-tokens per input, every reading (default: the model's limit)
    max_samples: int | None = None  # the first N sentences of the split, every reading
    label_map: Mapping[str, str] | str | None = None  # model label or type -> dataset's ("PERSON=PER,DATE=O" or a dict)
    context: str = "both"  # word level only: read each sentence in its document, alone, or both
    context_tokens: int | None = None  # word level only: context sub-tokens per side (default: the model's, else 24)
    strategies: str | tuple[str, ...] | None = None  # "all", names, or None: the per-strategy reading
    bootstrap: int = 0  # resamples for the word-level readings' confidence intervals (0: none)
    seed: int = 0  # the bootstrap's seed
    ci_level: float = 0.95  # the intervals' confidence level
    command: str | None = None  # recorded as given in eval_results.json
    progress: bool = True  # progress bars

    def __post_init__(self) -> None:
        from nercore.backends import BackendError, check_backend
        from toolkit.evaluate.labelmap import parse_label_map
        from toolkit.model_loading import check_strategies

        if not isinstance(self.model, str) or not self.model.strip():
            raise UserError(f"--model: expected a model folder or Hub id, got {self.model!r}.")
        if not isinstance(self.split, str) or not self.split.strip():
            raise UserError(f"--split: expected a split name such as test, got {self.split!r}.")
        try:
            backend = check_backend(self.backend, allow_auto=False)
        except BackendError as err:
            raise UserError(f"--backend: {err}") from err
        _positive("--batch-size", self.batch_size)
        _positive("--max-length", self.max_length, optional=True, least=2)
        _positive("--max-samples", self.max_samples, optional=True)
        if self.context not in CONTEXT_CHOICES:
            raise UserError(f"--context must be one of {', '.join(CONTEXT_CHOICES)}; got {self.context!r}.")
        _positive("--context-tokens", self.context_tokens, optional=True)
        if not _is_int(self.bootstrap) or self.bootstrap < 0:
            raise UserError(f"--bootstrap takes a number of resamples >= 0 (0 turns it off, 1000 is usual); "
                            f"got {self.bootstrap!r}.")
        if not isinstance(self.ci_level, (int, float)) or isinstance(self.ci_level, bool) or not 0 < self.ci_level < 1:
            raise UserError(f"--ci-level must be between 0 and 1 (e.g. 0.95 for 95% intervals); got {self.ci_level!r}.")
        if not _is_int(self.seed):
            raise UserError(f"--seed: expected an integer, got {self.seed!r}.")
        label_map = self.label_map if isinstance(self.label_map, Mapping) else parse_label_map(self.label_map)
        strategies = check_strategies(self.strategies) if self.strategies else None
        for name, value in (("backend", backend), ("label_map", dict(label_map)), ("strategies", strategies)):
            object.__setattr__(self, name, value)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive(flag: str, value, *, optional: bool = False, least: int = 1) -> None:
    if value is None and optional:
        return
    if not _is_int(value) or value < least:
        raise UserError(f"{flag}: expected a whole number >= {least}, got {value!r}.")


__all__ = ["CONTEXT_CHOICES", "EvalConfig"]
