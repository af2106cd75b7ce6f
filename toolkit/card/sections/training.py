"""The training procedure: base model and architecture, hyperparameters, per-epoch log, hardware, versions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toolkit.card.context import CardContext
from toolkit.card.fmt import bullets, count, duration, is_local_path, is_score, loss, md_table, pct, setting
from nercore.runfolder import RUN_INFO, TRAINING_ARGS, TRAINING_LOG

VERSION_NAMES = {
    "python": "Python",
    "nerkit": "nerkit",
    "torch": "PyTorch",
    "transformers": "Transformers",
    "datasets": "Datasets",
    "tokenizers": "Tokenizers",
    "huggingface_hub": "huggingface_hub",
    "seqeval": "seqeval",
}

# (training_args.json "config" key, label) in display order; unknown scalar keys follow.
HYPERPARAMETERS = [
    ("learning_rate", "Learning rate (peak)"),
    ("epochs", "Epochs"),
    ("batch_size", "Batch size per device"),
    ("gradient_accumulation_steps", "Gradient accumulation steps"),
    ("weight_decay", "Weight decay"),
    ("warmup_ratio", "Warm-up ratio"),
    ("max_length", "Max sub-tokens per sentence"),
    ("label_strategy", "Sub-token labels"),
    ("group_by_length", "Length-grouped batches"),
    ("early_stopping_patience", "Early-stopping patience (epochs)"),
    ("precision", "Precision setting"),
    ("max_train_samples", "Training sentences used"),
    ("seed", "Seed"),
]
TRAINER_HYPERPARAMETERS = [("optim", "Optimizer"), ("lr_scheduler_type", "LR schedule"), ("max_grad_norm", "Max gradient norm")]
NOT_HYPERPARAMETERS = {
    "model", "output_dir", "revision", "command", "overwrite", "resume_from_checkpoint", "keep_checkpoints",
    "logging_steps", "train_split", "eval_split", "eval_batch_size", "max_eval_samples",
}


def training(ctx: CardContext) -> str | None:
    lines = []
    if ctx.base.display:
        revision = f" at revision `{ctx.base.revision}`" if ctx.base.revision else ""
        lines.append(f"- **Base model:** {ctx.base.display}{revision}")
    cfg = ctx.model_config
    arch = (cfg.get("architectures") or [None])[0]
    if arch:
        details = [cfg["model_type"]] if cfg.get("model_type") else []
        if cfg.get("num_hidden_layers"):
            details.append(f"{cfg['num_hidden_layers']} layers")
        if cfg.get("hidden_size"):
            details.append(f"hidden size {cfg['hidden_size']}")
        lines.append(f"- **Architecture:** `{arch}`" + (f" ({', '.join(details)})" if details else ""))
    if ctx.parameters:
        lines.append(f"- **Parameters:** {ctx.parameters}")
    labels = (ctx.labels or {}).get("labels") or list((cfg.get("id2label") or {}).values())
    if labels:
        lines.append(f"- **Labels ({len(labels)}):** " + ", ".join(f"`{label}`" for label in labels))
    if ctx.train_config.get("train_with_dev"):
        lines.append(_train_with_dev_text(ctx.train_config))
    elif ctx.train_config.get("average_checkpoints"):
        lines.append(f"- **Model selection:** the published weights are the uniform average of the last "
                     f"{ctx.train_config['average_checkpoints']} checkpoints (`--average-checkpoints`).")
    elif ctx.train_config.get("eval_split"):
        lines.append(
            f"- **Model selection:** the checkpoint with the best F1 on the `{ctx.train_config['eval_split']}` split "
            "(evaluated after every epoch) is kept."
        )
    return "\n".join(lines) if lines else None


def _train_with_dev_text(config: Mapping) -> str:
    epochs = config.get("epochs")
    split = config.get("eval_split", "validation")
    return (f"- **Trained on {config.get('train_split', 'train')} + {split}** (`--train-with-dev`) for {setting(epochs)} "
            f"epochs, the count an earlier run chose on the `{split}` split; the last weights are published. This "
            f"model has seen `{split}`, so only test scores describe it.")


def hyperparameters(ctx: CardContext) -> str | None:
    args = ctx.training_args
    if not args or not isinstance(args.get("config"), dict):
        ctx.warn(f"{TRAINING_ARGS} not found: the card leaves out the hyperparameters.")
        return None
    config, trainer = args["config"], args.get("trainer") or {}
    processes = ((ctx.run_info or {}).get("hardware") or {}).get("num_processes") or 1
    rows = []
    for key, label in HYPERPARAMETERS:
        if config.get(key) is not None:
            rows.append([label, setting(config[key])])
            if key == "batch_size":
                effective = int(config["batch_size"]) * int(config.get("gradient_accumulation_steps") or 1) * int(processes)
                rows.append(["Effective batch size (all devices)", str(effective)])
    shown = {key for key, _ in HYPERPARAMETERS} | NOT_HYPERPARAMETERS
    for key, value in config.items():
        if key in shown or value is None or isinstance(value, (dict, list)):
            continue
        if isinstance(value, str) and is_local_path(value):
            continue
        rows.append([f"`{key}`", setting(value)])
    rows += [[label, setting(trainer[key])] for key, label in TRAINER_HYPERPARAMETERS if trainer.get(key) is not None]
    mixed = "bf16" if trainer.get("bf16") else "fp16" if trainer.get("fp16") else "fp32" if trainer else None
    if mixed:
        rows.append(["Mixed precision", mixed])
    return md_table(["Hyperparameter", "Value"], rows)


def _same_epoch(a: Any, b: Any) -> bool:
    try:
        return int(round(float(a))) == int(round(float(b)))
    except (TypeError, ValueError):
        return False


def _epoch_row(row: Mapping, columns: list, best: bool) -> list[str]:
    cells = [setting(row.get("epoch", "—")), count(row["step"]) if isinstance(row.get("step"), int) else "—"]
    cells += [fmt(row[key]) if isinstance(row.get(key), (int, float)) else "—" for key, _, fmt in columns]
    if best:
        cells = [f"**{c}**" if c != "—" else c for c in cells]
        cells[0] += " ✓"
    return cells


def training_log(ctx: CardContext) -> str | None:
    log = ctx.training_log
    epochs = (log or {}).get("epochs")
    if not isinstance(epochs, list) or not epochs:
        ctx.warn(f"{TRAINING_LOG} not found or empty: the card leaves out the per-epoch log.")
        return None
    split = ctx.train_config.get("eval_split", "validation")
    columns = [
        ("train_loss", "Training loss", loss),
        ("eval_loss", f"{split.capitalize()} loss", loss),
        ("eval_precision", "Precision", pct),
        ("eval_recall", "Recall", pct),
        ("eval_f1", "F1", pct),
        ("eval_accuracy", "Accuracy", pct),
    ]
    columns = [c for c in columns if any(isinstance(row.get(c[0]), (int, float)) for row in epochs)]
    best_epoch = log.get("best_epoch")
    rows = []
    for row in epochs:
        best = row["best"] is True if "best" in row else best_epoch is not None and _same_epoch(row.get("epoch"), best_epoch)
        rows.append(_epoch_row(row, columns, best))
        if row.get("averaged_steps"):
            steps = ", ".join(str(step) for step in row["averaged_steps"])
            rows[-1][0] = rows[-1][0].replace(setting(row.get("epoch", "—")), f"average of steps {steps}", 1)
    headers = ["Epoch", "Step", *[label for _, label, _ in columns]]
    table = md_table(headers, rows, numeric=set(range(1, len(columns) + 2)))
    note = f"Scores on the `{split}` split after each epoch (percentages)."
    if best_epoch is not None:
        metric = str(log.get("best_metric") or "eval_f1").removeprefix("eval_")
        metric = {"f1": "F1", "loss": "loss"}.get(metric, metric)
        value = log.get("best_value")
        best_text = f" ({metric} {pct(value)})" if is_score(value) else ""
        note += f" ✓ marks the best epoch, {setting(best_epoch)}{best_text}: the published weights are from it."
    return f"{note}\n\n{table}"


def _device_text(hw: Mapping) -> str:
    device = str(hw.get("device", "")).lower()
    name = hw.get("name") or device
    processes = hw.get("num_processes") or 1
    if device == "cuda":
        return f"{processes} × {name} (CUDA)" if processes > 1 else f"{name} (CUDA)"
    if device == "mps":
        return f"{name} (Apple MPS)"
    cores = f", {hw['cpu_count']} cores" if hw.get("cpu_count") else ""
    return f"CPU ({name}{cores})" + (f", {processes} processes" if processes > 1 else "")


def hardware(ctx: CardContext) -> str | None:
    info = ctx.run_info
    if not info:
        ctx.warn(f"{RUN_INFO} not found: the card leaves out hardware, wall time and versions.")
        return None
    lines = []
    if info.get("hardware"):
        lines.append(f"- **Hardware:** {_device_text(info['hardware'])}")
    log = ctx.training_log or {}
    if isinstance(info.get("wall_time_s"), (int, float)):
        text = f"- **Wall time:** {duration(info['wall_time_s'])} for the whole run"
        if isinstance(log.get("train_runtime_s"), (int, float)):
            text += f" ({duration(log['train_runtime_s'])} in the training loop"
            if isinstance(log.get("train_tokens_per_s"), (int, float)):
                text += f", {count(int(round(log['train_tokens_per_s'])))} tokens/s"
            text += ")"
        lines.append(text)
    return "\n".join(lines) if lines else None


def versions(ctx: CardContext) -> str | None:
    versions = (ctx.run_info or {}).get("versions")
    if not isinstance(versions, dict) or not versions:
        if ctx.run_info:
            ctx.warn(f"{RUN_INFO} has no framework versions; the card leaves them out.")
        return None
    keys = [k for k in VERSION_NAMES if k in versions] + sorted(set(versions) - set(VERSION_NAMES))
    return bullets([f"{VERSION_NAMES.get(k, k)} {versions[k]}" for k in keys if versions[k]])
