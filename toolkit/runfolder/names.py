"""File names inside a run's output folder: the contract between train, evaluate, card and publish."""

LABELS = "labels.json"  # {"labels": [...], "label_column": "ner_tags", "scheme": "IOB2", "source_scheme": "IOB1"}
DATA_INFO = "data_info.json"  # dataset source, fingerprint, split sizes, entity counts, length stats
TRAINING_ARGS = "training_args.json"  # {"config": TrainConfig as dict, "trainer": HF TrainingArguments as dict}
TRAINING_LOG = "training_log.json"  # per-epoch eval metrics, best epoch
RUN_INFO = "run_info.json"  # command line, seed, hardware, wall time, framework versions, base model
EVAL_RESULTS = "eval_results.json"  # toolkit.runfolder.EvalResults; schema in docs/eval-results.md
PREDICTIONS = "predictions_{split}.conll"  # token gold predicted, blank line between sentences
ERRORS = "errors_{split}.txt"  # a short list of misclassified sentences
CARD = "README.md"
F1_CHART = "per_entity_f1.png"
CHECKPOINTS = "checkpoints"  # Trainer checkpoints; never pushed
