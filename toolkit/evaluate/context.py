"""Which readings an evaluation makes: each sentence alone, and inside its document.

Data with documents is read both ways unless told otherwise (`--context`): the headline is the
reading the model was trained for (its config's `document_context`), the other is reported beside
it, so a card never hides what a pasted paragraph (or a lone sentence) does to the model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nercore.context import PROBE_TOKENS, model_context
from nercore.errors import UserError
from toolkit.labels import DOCUMENT_COLUMN

logger = logging.getLogger("toolkit")

CONTEXT_CHOICES = ("both", "with", "without")


@dataclass(frozen=True)
class ContextPlan:
    readings: dict[str, int]  # "without" -> 0, "with" -> context sub-tokens per side
    headline: str
    documents: list | None
    trained: dict | None


def context_plan(model, dataset, context: str = "both", tokens: int | None = None) -> ContextPlan:
    """The readings for `model` on `dataset`; data without documents is read alone, as before."""
    if context not in CONTEXT_CHOICES:
        raise UserError(f"--context must be one of {', '.join(CONTEXT_CHOICES)}; got {context!r}.")
    if tokens is not None and tokens < 1:
        raise UserError(f"--context-tokens must be >= 1; got {tokens}.")
    trained = model_context(model.config)
    documents = list(dataset[DOCUMENT_COLUMN]) if DOCUMENT_COLUMN in dataset.column_names else None
    if documents is None:
        if context == "with" or (trained.enabled and context == "both"):
            logger.warning("context: the split marks no documents, so each sentence is read alone.")
        return ContextPlan({"without": 0}, "without", None, trained.to_json() if trained.enabled else None)
    n = tokens or trained.tokens or PROBE_TOKENS
    readings = {"with": {"with": n}, "without": {"without": 0}, "both": {"without": 0, "with": n}}[context]
    headline = "with" if "with" in readings and (trained.enabled or "without" not in readings) else "without"
    return ContextPlan(readings, headline, documents, trained.to_json() if trained.enabled else None)
