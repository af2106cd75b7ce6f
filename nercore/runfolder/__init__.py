"""The run folder: file names every stage agrees on, and the typed `eval_results.json`.

Every stage reads and writes these names only through this package, so the card and the
publisher can rebuild everything from the folder alone (no network, no original data). The JSON
each file holds is described in docs/eval-results.md.
"""

from nercore.runfolder.checks import read_json_object
from nercore.runfolder.names import (
    CALIBRATION, CARD, CHECKPOINTS, CONFUSION_CHART, DATA_INFO, ERRORS, EVAL_RESULTS, F1_CHART, LABELS, PREDICTIONS,
    RELIABILITY_CHART, RUN_INFO, TRAINING_ARGS, TRAINING_LOG,
)
from nercore.runfolder.analysis import Confusion, ErrorAnalysis, ErrorCounts, SchemaScores
from nercore.runfolder.eval_results import EvalResults
from nercore.runfolder.names import derived_from_weights, for_backend
from nercore.runfolder.results import (
    ConfidenceIntervals,
    ModeReport,
    Overall,
    Scores,
    StrategyResults,
    StrategyScores,
)

__all__ = [
    "CALIBRATION", "CARD", "CHECKPOINTS", "CONFUSION_CHART", "DATA_INFO", "ERRORS", "EVAL_RESULTS", "F1_CHART", "LABELS",
    "PREDICTIONS", "RELIABILITY_CHART", "RUN_INFO", "TRAINING_ARGS", "TRAINING_LOG",
    "ConfidenceIntervals", "EvalResults", "ModeReport", "Overall", "Scores", "StrategyResults",
    "StrategyScores", "read_json_object",
    "Confusion", "ErrorAnalysis", "ErrorCounts", "SchemaScores",
]
__all__ += ["derived_from_weights", "for_backend"]
