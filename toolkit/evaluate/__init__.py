"""Stage: evaluate any token-classification model on a dataset split, per entity type.

Modules, in the order they may import each other: `labelmap` (model labels -> dataset labels),
`predict` (word-level predictions), `strategies` (end-to-end F1 per pipeline aggregation
strategy), `bootstrap` (confidence intervals), `report` (result files and printed tables), and
`config` (`EvalConfig`, every setting checked when made), and `run`, which orchestrates one evaluation.
"""

from toolkit.evaluate.config import EvalConfig
from toolkit.evaluate.labelmap import LabelMapping, decode, map_model_labels, parse_label_map
from toolkit.evaluate.predict import predict_words
from toolkit.model_loading import load_model
from toolkit.evaluate.report import format_table
from toolkit.evaluate.run import default_output_dir, evaluate_and_report, evaluate_model

__all__ = [
    "EvalConfig", "LabelMapping", "decode", "default_output_dir", "evaluate_and_report", "evaluate_model", "format_table",
    "load_model", "map_model_labels", "parse_label_map", "predict_words",
]
