"""Training batches with context dropout.

Why: a model trained only with its document around every sentence may lean on context that a
lone sentence (a tweet, a search query) does not have. With probability `dropout` a training
sentence is served alone for that step, a new draw every epoch (FLERT's context dropout), so the
model also works without context. Evaluation rows carry no sentence position and are never cut.
"""

from __future__ import annotations

from nercore.context import Specials, without_context

POSITION_COLUMNS = ("sentence_start", "sentence_length")
_SEQUENCE_KEYS = ("input_ids", "attention_mask", "token_type_ids", "labels")


class ContextDropoutCollator:
    """Wraps a token-classification collator; drops a row's context with probability `dropout`."""

    def __init__(self, base, specials: Specials, dropout: float):
        self.base, self.specials, self.dropout = base, specials, dropout

    def __call__(self, features: list[dict]):
        import torch

        rows = []
        for feature in features:
            row = dict(feature)
            row.pop("length", None)
            start, length = row.pop("sentence_start", None), row.pop("sentence_length", None)
            if start is not None and self.dropout and float(torch.rand(())) < self.dropout:
                row = self._alone(row, int(start), int(length))
            rows.append(row)
        return self.base(rows)

    def _alone(self, row: dict, start: int, length: int) -> dict:
        for key in _SEQUENCE_KEYS:
            if key in row:
                row[key] = without_context(row[key], start, length, self.specials)
        return row
