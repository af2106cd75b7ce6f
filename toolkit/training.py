"""Fine-tune an encoder for token classification with the Hugging Face `Trainer`.

The run writes everything later stages need into one folder (see `nercore.runfolder`), so the
card and the publisher never need the original data or the network. Under `torchrun`, every
rank trains and only rank 0 writes the final files.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from nercore.context import ContextSetting, Specials, record_context
from nercore.device import select_device
from nercore.lengths import model_max_length
from nercore.tags import is_entity_labels
from nercore import runfolder
from toolkit.alignment import LABEL_STRATEGIES, load_tokenizer, tokenize_dataset
from nercore.errors import UserError
from toolkit.collate import ContextDropoutCollator
from toolkit.labels import DOCUMENT_COLUMN, NerData
from toolkit.metrics import quick_scores
from toolkit.run_records import RunOutputs, remove_stale, write_run_folder
from toolkit.sampling import grouped_trainer

logger = logging.getLogger("toolkit")

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
SAVE_DTYPES = ("float32", "float16", "bfloat16")


@dataclass
class TrainConfig:
    """Everything that decides a training run; saved to `training_args.json`.

    Defaults are the common BERT-NER recipe (lr 2e-5, 3 epochs, batch 16, weight decay 0.01,
    10% warm-up), plus length-grouped batches, which cut padding (see bench/train_throughput.py).
    """

    model: str
    output_dir: str
    revision: str | None = None
    learning_rate: float = 2e-5
    epochs: float = 3.0
    batch_size: int = 16
    eval_batch_size: int = 64
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    seed: int = 42
    max_length: int | None = None  # None: the tokenizer's model_max_length, capped at 512
    label_strategy: str = "first"  # "first" sub-token only, or "all" sub-tokens
    group_by_length: bool = True
    early_stopping_patience: int | None = None
    precision: str = "auto"
    train_split: str = "train"
    eval_split: str = "validation"
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    resume_from_checkpoint: str | bool | None = None
    overwrite: bool = False
    keep_checkpoints: bool = False
    save_dtype: str = "float32"  # dtype of the saved weights; float16 halves the folder's size
    logging_steps: int = 50
    gradient_accumulation_steps: int = 1
    context_tokens: int = 0  # sub-tokens of the sentence's document per side (0: lone sentences); nercore.context
    context_dropout: float = 0.0  # chance a training sentence is served without its context, per step
    eval_steps: int | None = None  # evaluate and checkpoint every N steps instead of every epoch
    average_checkpoints: int = 0  # publish the uniform mean of the last K checkpoints (toolkit.recipes)
    train_with_dev: str | None = None  # an earlier run whose validation-chosen epochs this fit on train + validation reuses
    command: str | None = None  # the command line that started the run, for the card

    def __post_init__(self) -> None:
        def need(condition: bool, message: str) -> None:
            if not condition:
                raise UserError(message)

        need(self.learning_rate > 0, f"learning rate must be > 0, got {self.learning_rate}")
        need(self.epochs > 0, f"epochs must be > 0, got {self.epochs}")
        need(self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}")
        need(self.eval_batch_size >= 1, f"eval batch size must be >= 1, got {self.eval_batch_size}")
        need(self.weight_decay >= 0, f"weight decay must be >= 0, got {self.weight_decay}")
        need(0 <= self.warmup_ratio < 1, f"warm-up ratio must be in [0, 1), got {self.warmup_ratio}")
        need(
            self.label_strategy in LABEL_STRATEGIES,
            f"label strategy must be one of {', '.join(LABEL_STRATEGIES)}, got {self.label_strategy!r}",
        )
        need(
            self.save_dtype in SAVE_DTYPES,
            f"save dtype must be one of {', '.join(SAVE_DTYPES)}, got {self.save_dtype!r}",
        )
        need(self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        need(
            self.max_length is None or 8 <= self.max_length <= 4096,
            f"max length must be between 8 and 4096 sub-tokens, got {self.max_length}",
        )
        need(
            self.early_stopping_patience is None or self.early_stopping_patience >= 1,
            f"early-stopping patience must be >= 1 epoch, got {self.early_stopping_patience}",
        )
        need(0 <= self.context_tokens <= 4096, f"context tokens must be in 0..4096, got {self.context_tokens}")
        need(0 <= self.context_dropout < 1, f"context dropout must be in [0, 1), got {self.context_dropout}")
        need(self.eval_steps is None or self.eval_steps >= 1, f"eval steps must be >= 1, got {self.eval_steps}")
        need(0 <= self.average_checkpoints <= 100,
             f"--average-checkpoints must be in 0..100 (0: off), got {self.average_checkpoints}")
        need(not (self.train_with_dev and self.early_stopping_patience),
             "--train-with-dev trains on validation, so nothing is left to stop early on: drop --early-stopping")
        for name in ("max_train_samples", "max_eval_samples"):
            value = getattr(self, name)
            need(value is None or value >= 1, f"{name.replace('_', ' ')} must be >= 1, got {value}")


@dataclass
class TrainResult:
    output_dir: Path
    best_epoch: int | None
    best_metrics: dict
    train_runtime_s: float
    tokens_per_s: float
    truncated_words: int
    log: list[dict] = field(default_factory=list)


def mixed_precision(precision: str, device: str) -> dict:
    """fp16/bf16 flags for TrainingArguments; `auto` means bf16 (else fp16) on CUDA, fp32 elsewhere."""
    import torch

    if precision == "auto":
        if device != "cuda":
            return {}
        return {"bf16": True} if torch.cuda.is_bf16_supported() else {"fp16": True}
    if precision in ("fp16", "bf16") and device != "cuda":
        raise UserError(f"--precision {precision} needs a CUDA GPU; this machine has {device}. Use --precision auto.")
    return {precision: True} if precision != "fp32" else {}


def _holds_model(out: Path) -> bool:
    return (out / runfolder.LABELS).exists() or (out / "config.json").exists()


def check_output_dir(config: TrainConfig) -> Path:
    """Refuse to silently overwrite a finished run."""
    out = Path(config.output_dir)
    finished = _holds_model(out)
    if finished and not (config.overwrite or config.resume_from_checkpoint):
        raise UserError(
            f"{out} already holds a trained model. Pass --overwrite to replace it, "
            "--resume to continue from its last checkpoint, or choose another --output-dir."
        )
    return out


def _select(dataset, limit: int | None):
    return dataset.select(range(min(limit, len(dataset)))) if limit else dataset


def epoch_log(log_history: list[dict]) -> list[dict]:
    """One row per evaluation: epoch, step, train loss since the previous eval, eval metrics."""
    rows: list[dict] = []
    losses: list[float] = []
    for entry in log_history:
        if "loss" in entry and "eval_loss" not in entry:
            losses.append(float(entry["loss"]))
        elif "eval_loss" in entry:
            row = {"epoch": round(float(entry.get("epoch", 0)), 2), "step": int(entry.get("step", 0))}
            if losses:
                row["train_loss"] = sum(losses) / len(losses)
                losses = []
            for key, value in entry.items():
                if key.startswith("eval_") and isinstance(value, (int, float)) and "runtime" not in key and "per_second" not in key:
                    row[key] = float(value)
            rows.append(row)
    return rows


def train(config: TrainConfig, data: NerData, *, callbacks: tuple = ()) -> TrainResult:
    """Fine-tune `config.model` on `data` and write the run folder; returns the summary.

    `callbacks` are extra `TrainerCallback`s (bench/train_throughput.py evaluates every N steps).
    """
    import torch
    from transformers import DataCollatorForTokenClassification, EarlyStoppingCallback, Trainer, set_seed

    started = time.time()
    out = check_output_dir(config)
    stale = runfolder.derived_from_weights(out) if _holds_model(out) else []
    _check_splits(config, data)
    labels = list(data.labels)
    set_seed(config.seed)

    tokenizer = load_tokenizer(config.model, revision=config.revision)
    model = _load_base_model(config, labels)
    max_length = model_max_length(tokenizer, config.max_length, model.config)
    train_raw, eval_raw = _training_splits(config, data)
    context = training_context(config, train_raw)
    record_context(model.config, context)
    train_ds, train_stats = tokenize_dataset(
        train_raw, tokenizer, labels, strategy=config.label_strategy, max_length=max_length,
        desc=f"tokenize {config.train_split}", context_tokens=context.tokens, keep_positions=context.dropout > 0,
        cache_dir=tokenized_cache_dir(),
    )
    eval_ds, eval_stats = tokenize_dataset(
        eval_raw, tokenizer, labels, strategy="first", max_length=max_length, desc=f"tokenize {config.eval_split}",
        context_tokens=context.tokens, cache_dir=tokenized_cache_dir(),
    ) if eval_raw is not None else (None, train_stats.__class__())
    device = select_device(half_precision=False).kind
    collator = DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=8 if device == "cuda" else None)
    if context.enabled:
        collator = ContextDropoutCollator(collator, Specials.of(tokenizer), context.dropout)
    callbacks = list(callbacks)
    if config.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    preprocess_logits, compute_metrics = _metric_functions(labels)
    trainer = grouped_trainer(Trainer)(
        model=model,
        args=_training_arguments(config, out, device, keep_columns=context.enabled),
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        data_collator=collator,
        processing_class=tokenizer,
        compute_metrics=compute_metrics if eval_ds is not None else None,
        preprocess_logits_for_metrics=preprocess_logits if eval_ds is not None else None,
        callbacks=callbacks,
    )
    # Most token-classification heads (BERT's among them) average their own loss and ignore the Trainer's
    # token count, so its count-based scaling would multiply the loss by the process count under torchrun
    # (eval_loss x2 on 2 processes) and sum, not average, accumulated micro-batches: mean of means instead.
    trainer.model_accepts_loss_kwargs = False
    resume = config.resume_from_checkpoint
    if resume is True and not any((out / runfolder.CHECKPOINTS).glob("checkpoint-*")):
        raise UserError(f"--resume: no checkpoint found in {out / runfolder.CHECKPOINTS}. Start without --resume.")
    output = trainer.train(resume_from_checkpoint=resume or None)
    runtime = float(output.metrics.get("train_runtime", time.time() - started))
    tokens_seen = _total_length(train_ds) * float(trainer.state.epoch or config.epochs)
    result = _summary(trainer, out, runtime, tokens_seen / runtime if runtime else 0.0, train_stats.truncated_words)
    if config.average_checkpoints:
        _publish_average(config, trainer, out, result)
    if trainer.is_world_process_zero():
        write_run_folder(RunOutputs(config, data, trainer, tokenizer, result, started, max_length, train_stats,
                                    eval_stats, context))
        remove_stale(out, stale)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
    return result


def _total_length(dataset) -> int:
    """Sum of the `length` column, in Arrow (the tokenized table stays memory-mapped)."""
    import pyarrow.compute as pc

    return int(pc.sum(dataset.with_format("arrow")["length"]).as_py() or 0)


def tokenized_cache_dir() -> Path:
    """Where tokenized splits are kept as Arrow files: $NERKIT_CACHE, else nerkit/ in the datasets cache
    (HF_DATASETS_CACHE, by default ~/.cache/huggingface/datasets). Deleting the folder is always safe."""
    if os.environ.get("NERKIT_CACHE"):
        return Path(os.environ["NERKIT_CACHE"]).expanduser() / "tokenized"
    import datasets

    return Path(datasets.config.HF_DATASETS_CACHE) / "nerkit" / "tokenized"


def _training_splits(config: TrainConfig, data: NerData):
    """(train, eval) rows; with --train-with-dev: train + validation as one training set and no eval."""
    train_raw = _select(data.splits[config.train_split], config.max_train_samples)
    eval_raw = _select(data.splits[config.eval_split], config.max_eval_samples)
    if not config.train_with_dev:
        return train_raw, eval_raw
    from datasets import concatenate_datasets

    eval_raw = eval_raw.cast(train_raw.features) if eval_raw.features != train_raw.features else eval_raw
    logger.info("--train-with-dev: training on %s + %s (%d sentences) for %s epochs, chosen on %s by %s; no "
                "evaluation during training", config.train_split, config.eval_split, len(train_raw) + len(eval_raw),
                config.epochs, config.eval_split, config.train_with_dev)
    return concatenate_datasets([train_raw, eval_raw]), None


def _publish_average(config: TrainConfig, trainer, out: Path, result: TrainResult) -> None:
    """Load the mean of the last K checkpoints into the trainer's model; score it on the eval split as the
    run's last, best-marked log row (every rank reads the checkpoints: the output folder must be shared)."""
    import torch

    from toolkit.recipes import checkpoint_step, last_checkpoints, load_average

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
    checkpoints = last_checkpoints(out / runfolder.CHECKPOINTS, config.average_checkpoints)
    load_average(trainer.model, checkpoints)
    row = {"epoch": round(float(trainer.state.epoch or config.epochs), 2), "step": int(trainer.state.global_step),
           "averaged_steps": [checkpoint_step(path) for path in checkpoints]}
    if trainer.eval_dataset is not None:
        metrics = trainer.evaluate()
        row.update({k: float(v) for k, v in metrics.items() if k.startswith("eval_") and isinstance(v, (int, float))
                    and "runtime" not in k and "per_second" not in k})
    for other in result.log:
        other["best"] = False
    row["best"] = True
    result.log.append(row)
    result.best_epoch = int(round(row["epoch"]))
    result.best_metrics = {k: v for k, v in row.items() if k.startswith("eval_")}


def training_context(config: TrainConfig, train_raw) -> ContextSetting:
    """The context setting this run trains with: none when asked for none or the data has no documents."""
    if not config.context_tokens:
        return ContextSetting()
    if DOCUMENT_COLUMN not in train_raw.column_names:
        logger.warning("context: the %r split marks no documents, so sentences train alone (no context).",
                       config.train_split)
        return ContextSetting()
    return ContextSetting(tokens=config.context_tokens, dropout=config.context_dropout)


def _check_splits(config: TrainConfig, data: NerData) -> None:
    for split in (config.train_split, config.eval_split):
        if split not in data.splits:
            raise UserError(
                f"the dataset has no {split!r} split (it has: {', '.join(data.splits)}). "
                "Pass --train-split/--eval-split, or name your files train/validation/test."
            )


def _load_base_model(config: TrainConfig, labels: list[str]):
    import torch
    from transformers import AutoModelForTokenClassification

    try:
        # float32 master weights whatever the checkpoint stores: transformers 5 loads "auto" (a
        # float16 checkpoint, like one saved with --save-dtype float16, would train in float16);
        # --precision fp16/bf16 is autocast on top of float32 weights.
        model, loading = AutoModelForTokenClassification.from_pretrained(
            config.model,
            revision=config.revision,
            dtype=torch.float32,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            ignore_mismatched_sizes=True,
            output_loading_info=True,
        )
    except (OSError, ValueError) as err:
        raise UserError(f"could not load a token-classification model from {config.model!r}: {err}") from err
    if loading.get("missing_keys") or loading.get("mismatched_keys"):  # transformers printed its load report
        print(f"(expected: the classifier for the {len(labels)} labels is new, so the report above lists it as "
              "MISSING or mismatched; training learns it)", file=sys.stderr)
    return model


def _metric_functions(labels: list[str]):
    """The Trainer's logits reducer (argmax on device, so eval keeps ids, not logits) and its metrics."""
    import numpy as np

    entities = is_entity_labels(labels)

    def preprocess_logits(logits, _labels):
        if isinstance(logits, tuple):
            logits = logits[0]
        return logits.argmax(dim=-1)

    def compute_metrics(prediction):
        predicted, gold_ids = prediction.predictions, prediction.label_ids
        gold, pred = [], []
        for p_row, g_row in zip(np.asarray(predicted), np.asarray(gold_ids)):
            keep = g_row != -100
            gold.append([labels[i] for i in g_row[keep]])
            pred.append([labels[i] for i in p_row[keep]])
        return quick_scores(gold, pred, entities=entities)

    return preprocess_logits, compute_metrics


def _training_arguments(config: TrainConfig, out: Path, device: str, *, keep_columns: bool = False):
    from transformers import TrainingArguments

    every = {"eval_strategy": "steps", "eval_steps": config.eval_steps, "save_strategy": "steps",
             "save_steps": config.eval_steps} if config.eval_steps else {"eval_strategy": "epoch", "save_strategy": "epoch"}
    selection = {"load_best_model_at_end": True, "metric_for_best_model": "f1", "greater_is_better": True}
    if config.train_with_dev:  # nothing held out: no evaluation, the last weights are the model
        every["eval_strategy"] = "no"
        every.pop("eval_steps", None)
        selection = {"load_best_model_at_end": False}
    return TrainingArguments(
        output_dir=str(out / runfolder.CHECKPOINTS),
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,
        seed=config.seed,
        **every,
        save_total_limit=max(2, config.average_checkpoints + 1),  # the best one may be kept besides the last K
        remove_unused_columns=not keep_columns,  # context rows keep the sentence's place for dropout
        **selection,
        logging_strategy="steps",
        logging_steps=config.logging_steps,
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        report_to="none",
        ddp_backend="gloo" if device == "cpu" and int(os.environ.get("WORLD_SIZE", "1")) > 1 else None,
        ddp_find_unused_parameters=False,
        use_cpu=device == "cpu",
        **mixed_precision(config.precision, device),
    )


def _summary(trainer, out: Path, runtime: float, tokens_per_s: float, truncated_words: int) -> TrainResult:
    """The per-epoch log with the best epoch marked (the checkpoint the Trainer kept, else best F1)."""
    rows = epoch_log(trainer.state.log_history)
    best_step = None
    if trainer.state.best_model_checkpoint:
        best_step = int(Path(trainer.state.best_model_checkpoint).name.split("-")[-1])
    best_row = next((row for row in rows if row["step"] == best_step), None)
    if best_row is None and rows:
        best_row = max(rows, key=lambda row: row.get("eval_f1", 0.0))
    for row in rows:
        row["best"] = row is best_row
    return TrainResult(
        output_dir=out,
        best_epoch=int(round(best_row["epoch"])) if best_row else None,
        best_metrics={k: v for k, v in (best_row or {}).items() if k.startswith("eval_")},
        train_runtime_s=runtime,
        tokens_per_s=tokens_per_s,
        truncated_words=truncated_words,
        log=rows,
    )


