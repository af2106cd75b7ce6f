"""File names inside a run's output folder: the contract between train, evaluate, card and publish."""

from __future__ import annotations

from pathlib import Path

LABELS = "labels.json"  # {"labels": [...], "label_column": "ner_tags", "scheme": "IOB2", "source_scheme": "IOB1"}
DATA_INFO = "data_info.json"  # dataset source, fingerprint, split sizes, entity counts, length stats
TRAINING_ARGS = "training_args.json"  # {"config": TrainConfig as dict, "trainer": HF TrainingArguments as dict}
TRAINING_LOG = "training_log.json"  # per-epoch eval metrics, best epoch
RUN_INFO = "run_info.json"  # command line, seed, hardware, wall time, framework versions, base model
CALIBRATION = "calibration.json"  # nercore.runfolder.records.Calibration: the temperature baked into the classifier
EVAL_RESULTS = "eval_results.json"  # nercore.runfolder.EvalResults; schema in docs/eval-results.md
PREDICTIONS = "predictions_{split}.conll"  # token gold predicted, blank line between sentences
ERRORS = "errors_{split}.txt"  # a short list of misclassified sentences
CARD = "README.md"
F1_CHART = "per_entity_f1.png"
CONFUSION_CHART = "confusion_matrix.png"  # entity-type confusion heatmap beside the card
RELIABILITY_CHART = "reliability.png"  # entity scores against accuracy, before and after calibration
CHECKPOINTS = "checkpoints"  # Trainer checkpoints; never pushed

# What describes one set of weights: evaluations (any backend), predictions, error lists, the card and
# its charts, the calibration record, and every exported backend's files (their folders come from
# nercore.backends.table). A retrained (or newly calibrated) folder drops them, or they would vouch
# for the new weights.
DERIVED_FROM_WEIGHTS = ("eval_results*.json", "predictions_*.conll", "errors_*.txt", CARD, F1_CHART, CONFUSION_CHART,
                        RELIABILITY_CHART, CALIBRATION)


def derived_from_weights(folder: str | Path) -> list[Path]:
    """The paths in `folder` that describe the weights it holds (see DERIVED_FROM_WEIGHTS), sorted."""
    from nercore.backends.table import exported_folders

    patterns = (*DERIVED_FROM_WEIGHTS, *exported_folders())
    return sorted({p for pattern in patterns for p in Path(folder).glob(pattern)})


def for_backend(name: str, backend: str | None) -> str:
    """`eval_results.json` -> `eval_results.onnx-int8.json` (same for predictions/errors) when an evaluation
    ran on a non-torch backend (`nerkit evaluate --backend`), so it never overwrites the torch results."""
    if not backend or backend == "torch":
        return name
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{backend}.{ext}" if dot else f"{name}.{backend}"
