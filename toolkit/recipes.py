"""Two training recipes on top of `nerkit train`: checkpoint averaging and a final fit on train + validation.

- `--average-checkpoints K`: the published weights are the uniform mean of the last K saved
  checkpoints (by step), a cheap ensemble of the end of the trajectory. Every floating-point tensor
  is averaged in float32; integer buffers (position ids) are taken from the last checkpoint.
- `--train-with-dev RUN`: one more fit on train + validation for the epoch count an earlier run
  chose on validation (Flair's `train_with_dev`). That model has seen validation, so its only
  honest score is test.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from nercore import runfolder
from nercore.errors import UserError

logger = logging.getLogger("toolkit")

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def checkpoint_step(path: Path) -> int:
    try:
        return int(path.name.rsplit("-", 1)[-1])
    except ValueError:
        return -1


def last_checkpoints(folder: str | Path, k: int) -> list[Path]:
    """The last `k` Trainer checkpoints in `folder` (oldest first); a UserError when fewer were saved."""
    found = sorted((p for p in Path(folder).glob("checkpoint-*") if p.is_dir() and checkpoint_step(p) >= 0),
                   key=checkpoint_step)
    if len(found) < k:
        raise UserError(
            f"--average-checkpoints {k}: only {len(found)} checkpoint(s) in {folder}. Evaluate more often "
            f"(--eval-steps N saves a checkpoint every N steps) or pass --average-checkpoints {max(len(found), 1)}."
        )
    return found[-k:]


def load_weights(checkpoint: Path) -> dict:
    """A checkpoint's state dict on CPU, from its safetensors (or pickled) weights."""
    import torch

    shards = sorted(checkpoint.glob("model*.safetensors"))
    if shards:
        from safetensors.torch import load_file

        state: dict = {}
        for shard in shards:
            state.update(load_file(str(shard), device="cpu"))
        return state
    legacy = checkpoint / "pytorch_model.bin"
    if legacy.is_file():
        return torch.load(legacy, map_location="cpu", weights_only=True)
    raise UserError(f"{checkpoint} holds no weights (expected one of {', '.join(WEIGHT_FILES)}).")


def average_state_dicts(states: list[dict]) -> dict:
    """The uniform mean of `states` (same keys): float tensors averaged in float32, others from the last."""
    import torch

    if not states:
        raise ValueError("nothing to average")
    keys = set(states[0])
    for state in states[1:]:
        if set(state) != keys:
            raise UserError("the checkpoints to average hold different tensors; were they saved by the same run?")
    averaged = {}
    for key, last in states[-1].items():
        if torch.is_floating_point(last):
            total = torch.zeros_like(last, dtype=torch.float32)
            for state in states:
                total += state[key].to(torch.float32)
            averaged[key] = (total / len(states)).to(last.dtype)
        else:
            averaged[key] = last.clone()
    return averaged


def load_average(model, checkpoints: list[Path]) -> None:
    """Replace `model`'s weights with the mean of `checkpoints`' (tied weights come along with their source)."""
    averaged = average_state_dicts([load_weights(path) for path in checkpoints])
    missing, unexpected = model.load_state_dict(averaged, strict=False)
    tied = set(getattr(model, "all_tied_weights_keys", None) or getattr(model, "_tied_weights_keys", None) or [])
    missing = [key for key in missing if key not in tied]
    if unexpected or missing:
        raise UserError(f"the averaged checkpoints do not fit the model: missing {missing[:5]}, unexpected "
                        f"{unexpected[:5]}")
    logger.info("weights: the uniform average of %d checkpoints (%s)", len(checkpoints),
                ", ".join(path.name for path in checkpoints))


def chosen_epochs(run: str | Path) -> float:
    """The epoch count an earlier `nerkit train` run chose on validation (its training log's best row)."""
    path = Path(run) / runfolder.TRAINING_LOG
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"--train-with-dev {run}: no {runfolder.TRAINING_LOG} there. Pass the folder of a finished "
                        "`nerkit train` run that evaluated on validation.") from None
    except (OSError, json.JSONDecodeError) as err:
        raise UserError(f"--train-with-dev: cannot read {path}: {err}") from None
    if _trained_with_dev(Path(run)):
        raise UserError(f"--train-with-dev {run}: that run was itself trained on train + validation, so it chose "
                        "nothing on validation. Pass the run it read its epoch count from.")
    best = [row for row in log.get("epochs") or [] if row.get("best") is True]
    epoch = best[0].get("epoch") if best else log.get("best_epoch")
    if not isinstance(epoch, (int, float)) or isinstance(epoch, bool) or epoch <= 0:
        raise UserError(f"--train-with-dev {run}: {path} names no best epoch (it has {len(log.get('epochs') or [])} "
                        "evaluation rows). Train that run with an evaluation split first.")
    return float(epoch)


def _trained_with_dev(run: Path) -> bool:
    try:
        args = json.loads((run / runfolder.TRAINING_ARGS).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return bool((args.get("config") or {}).get("train_with_dev"))


def epochs_text(epochs: float) -> str:
    return f"{epochs:g}" if not math.isclose(epochs, round(epochs)) else str(int(round(epochs)))
