"""The run folder's training records, written once the best weights are saved (`nerkit train`).

Each file goes through its typed record (nercore/runfolder/records.py), the same class the card
and the publisher read it back with, so writer and reader cannot drift apart.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nercore import runfolder
from nercore.context import ContextSetting
from nercore.device import select_device
from nercore.runfolder.records import DataInfo, LabelsRecord, Record, RunInfo, TrainingArgs, TrainingLog
from toolkit import __version__
from toolkit.labels import describe
from toolkit.runtime import json_text, write_atomically

logger = logging.getLogger("toolkit")


@dataclass
class RunOutputs:
    """What a finished run hands to the writer."""

    config: Any  # toolkit.training.TrainConfig
    data: Any  # toolkit.labels.NerData
    trainer: Any  # the transformers Trainer, best model loaded
    tokenizer: Any
    result: Any  # toolkit.training.TrainResult
    started: float  # time.time() at the start of the run
    max_length: int
    train_stats: Any  # toolkit.alignment.AlignmentStats
    eval_stats: Any
    context: ContextSetting


def write_record(folder: Path, record: Record) -> None:
    write_atomically(Path(folder) / record.FILE, json_text(record.to_json(), default=str))


def write_run_folder(run: RunOutputs) -> None:
    """Weights, tokenizer and the five training records; drops the checkpoints unless asked to keep them."""
    import torch

    config, out = run.config, run.result.output_dir
    if config.save_dtype == "float32":
        run.trainer.save_model(str(out))
    else:
        # The best model, cast for storage only; loaders upcast it (toolkit.evaluate, the Space).
        run.trainer.model.to(getattr(torch, config.save_dtype)).save_pretrained(str(out))
    run.tokenizer.save_pretrained(str(out))
    data = run.data
    write_record(out, LabelsRecord(labels=list(data.labels), label_column=data.label_column, scheme=data.scheme,
                                   source_scheme=data.source_scheme))
    write_record(out, DataInfo.from_json(describe(data)))
    config_dict = asdict(config)
    config_dict["max_length"] = run.max_length
    config_dict["context"] = run.context.to_json()  # what the run trained with (no documents: none)
    write_record(out, TrainingArgs(config=config_dict, trainer=run.trainer.args.to_dict()))
    result = run.result
    write_record(out, TrainingLog(
        epochs=result.log, best_epoch=result.best_epoch, best_metric="eval_f1",
        best_value=result.best_metrics.get("eval_f1"), train_runtime_s=result.train_runtime_s,
        train_tokens_per_s=result.tokens_per_s,
        truncated_words={"train": run.train_stats.truncated_words, "eval": run.eval_stats.truncated_words},
    ))
    write_record(out, RunInfo(
        command=config.command or " ".join(["nerkit", *sys.argv[1:]]), seed=config.seed, base_model=config.model,
        base_model_revision=config.revision or _base_revision(config.model), hardware=hardware_info(),
        wall_time_s=time.time() - run.started,
        started_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.started)), versions=framework_versions(),
    ))
    if not config.keep_checkpoints:
        shutil.rmtree(out / runfolder.CHECKPOINTS, ignore_errors=True)


def hardware_info() -> dict:
    import torch

    device = select_device(half_precision=False).kind
    if device == "cuda":
        name = torch.cuda.get_device_name(0)
    elif device == "mps":
        name = "Apple MPS"
    else:
        name = platform.processor() or platform.machine()
    return {
        "device": device,
        "name": name,
        "cpu_count": os.cpu_count(),
        "num_processes": int(os.environ.get("WORLD_SIZE", "1")),
    }


def framework_versions() -> dict:
    import datasets
    import huggingface_hub
    import seqeval
    import tokenizers
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "nerkit": __version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "datasets": datasets.__version__,
        "tokenizers": tokenizers.__version__,
        "huggingface_hub": huggingface_hub.__version__,
        "seqeval": getattr(seqeval, "__version__", "1.2.2"),
    }


def _base_revision(model: str) -> str | None:
    """The commit of a Hub base model when it came from the local HF cache; None for folders."""
    if Path(model).exists():
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        path = try_to_load_from_cache(model, "config.json")
    except Exception:  # noqa: BLE001 - provenance is best effort
        return None
    if isinstance(path, str) and "/snapshots/" in path:
        return path.split("/snapshots/")[1].split("/")[0]
    return None


def remove_stale(out: Path, stale: list[Path]) -> None:
    """Once new weights are written (trained, or calibrated): drop what described the old ones (results, card,
    charts, ONNX files; `nercore.runfolder.derived_from_weights`), and say so."""
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if stale:
        logger.warning("removed %s from %s: they described the previous weights. Run `nerkit evaluate` (and `nerkit "
                       "export`, `nerkit card`) again for the new ones.", ", ".join(p.name for p in stale), out)
