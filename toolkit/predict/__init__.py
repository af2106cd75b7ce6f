"""Stage: run a token-classification model over a corpus and write JSON Lines (`nerkit predict`).

Modules, in the order they may import each other: `inputs` (every input kind -> documents),
`output` (records, resume, shard merge) and `run`, which orchestrates one run.
"""

from toolkit.predict.inputs import Doc, InputSpec, formats, read_docs
from toolkit.predict.run import DEFAULT_STRATEGY, PredictConfig, PredictSummary, predict_corpus

__all__ = [
    "DEFAULT_STRATEGY", "Doc", "InputSpec", "PredictConfig", "PredictSummary",
    "formats", "predict_corpus", "read_docs",
]
