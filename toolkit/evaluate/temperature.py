"""Temperature scaling: entity scores that mean what they say, baked into the classifier.

Why: softmax scores of a fine-tuned encoder are over-confident (the bundled model's entities scored
~0.994 were right 90% of the time). Dividing every logit by one temperature T > 1 softens the
scores and moves no sub-token's argmax, so within a window `none`, `simple` and `first` predict
exactly as before. Scores still decide elsewhere: `average` and `max` combine probabilities, and
the pipeline keeps the higher-scored of two overlapping entities from neighbouring windows; so
every strategy's F1 and the sentences whose entities changed are measured before and after.

Why bake it in: `(W h + b) / T == (W / T) h + b / T`, so dividing the classifier's weight and bias
by T gives every `pipeline(...)` user the calibrated scores with no nerkit code. The two tensors
are rewritten in float32 (the rest of the file keeps its dtype): rounding W / T to float16 could
flip a near-tie argmax. After writing, the saved model is loaded back as a user would and every
sub-token's argmax is compared with the model before; any change restores the old file.

Why fit on entity scores: what a user thresholds is an entity's score, and entity errors
(boundaries, types) are far more common than sub-token errors, which easy `O` tokens dominate. So T
minimises the log-loss of the fitted strategy's entity scores against right/wrong (a proper scoring
rule; the binned ECE is flat in places) on the fitting split: a coarse grid, then a fine one around
its best. A T that lowers that strategy's F1 on the fitting split is never chosen.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from nercore.errors import UserError
from toolkit.evaluate.confidence import judged
from toolkit.evaluate.strategies import SplitTexts, score_spans, scored_predictions

COARSE = tuple(round(1.25 ** k, 4) for k in range(-3, 15))  # 0.51 ... 22.7
FINE_STEPS = 6  # points each side of the coarse optimum, 1.25 ** (1 / FINE_STEPS) apart
_EPS = 1e-6


@dataclass
class ScoredSplit:
    """One split's engine texts with their windows' logits at T = 1, so any T costs only the post-processing."""

    split: SplitTexts
    pending: list  # nercore.engine.Pending, one per engine text, logits filled
    logits: list[list[np.ndarray]]  # the same logits, kept unscaled
    names: tuple[str, ...]
    types: Mapping[str, str | None] | None

    @property
    def sub_tokens(self) -> int:
        return sum(len(window) for windows in self.logits for window in windows)

    def outputs(self, pipe: Any, temperature: float, names: Sequence[str] | None = None) -> list[dict]:
        """Every engine text's entities with the logits divided by `temperature`."""
        from nercore.engine import finish
        from nercore.strategies import get_strategy

        chosen = [get_strategy(name) for name in (names or self.names)]
        out = []
        for pending, logits in zip(self.pending, self.logits):
            scaled = replace(pending.encoded, logits=[window / temperature for window in logits])
            out.append(finish(pipe, replace(pending, encoded=scaled, strategies=chosen)).entities)
        return out

    def predictions(self, pipe: Any, temperature: float, names: Sequence[str] | None = None) -> dict:
        """Per strategy, per sentence: the scored spans at `temperature`."""
        names = list(names or self.names)
        return scored_predictions(self.split, self.outputs(pipe, temperature, names), names, self.types)

    def fitted(self, pipe: Any, temperature: float, strategy: str) -> tuple[float, float]:
        """(entity log-loss, F1) of one strategy at `temperature`."""
        pred = self.predictions(pipe, temperature, [strategy])[strategy]
        items = judged(self.split.gold, pred)
        loss = -sum(math.log(min(max(s if right else 1 - s, _EPS), 1 - _EPS)) for _, s, right in items) / max(len(items), 1)
        return loss, score_spans(self.split.gold, [[span for span, _ in sentence] for sentence in pred])["f1"]


def score_split(pipe: Any, split: SplitTexts, names: Sequence[str], types, *, ignore_labels: Sequence[str],
                batch_size: int, desc: str = "windows", progress: bool = False) -> ScoredSplit:
    """One forward pass over the split's engine texts (`nercore.engine.prepare` + `forward_items`)."""
    from tqdm.auto import tqdm

    from nercore.engine import prepare
    from nercore.windows import forward_items

    pending = [prepare(pipe, text, names, max_chars=None, ignore_labels=tuple(ignore_labels)) for text, _ in split.joined]
    items = [(p.encoded, i) for p in pending for i in range(p.num_windows)]
    step = 16 * batch_size
    with tqdm(total=len(items), desc=desc, unit="window", disable=not progress) as bar:
        for first in range(0, len(items), step):
            forward_items(pipe, items[first : first + step], batch_size)
            bar.update(len(items[first : first + step]))
    return ScoredSplit(split, pending, [list(p.encoded.logits) for p in pending], tuple(names), types)


def fit_temperature(pipe: Any, scored: ScoredSplit, strategy: str, *, progress: bool = False) -> tuple[float, list[dict]]:
    """The T with the lowest entity log-loss of `strategy` whose F1 is not below T = 1's, and every T tried."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(COARSE) + 2 * FINE_STEPS + 1, desc="calibrate: temperatures", unit="T", disable=not progress)
    base_loss, base_f1 = scored.fitted(pipe, 1.0, strategy)
    tried = {1.0: {"temperature": 1.0, "log_loss": base_loss, "f1": base_f1}}

    def trial(t: float) -> None:
        if all(abs(t - u) > 1e-3 * u for u in tried):
            loss, f1 = scored.fitted(pipe, t, strategy)
            tried[t] = {"temperature": t, "log_loss": loss, "f1": f1}
        bar.update()

    def best() -> float:
        allowed = [row for row in tried.values() if row["f1"] >= base_f1 - 1e-12]
        return min(allowed, key=lambda row: (row["log_loss"], abs(math.log(row["temperature"]))))["temperature"]

    for t in COARSE:
        trial(t)
    centre = best()
    for k in range(-FINE_STEPS, FINE_STEPS + 1):
        trial(round(centre * 1.25 ** (k / FINE_STEPS), 4))
    bar.close()
    return best(), sorted(tried.values(), key=lambda row: row["temperature"])


def classifier_tensors(model: Any) -> tuple[str, ...]:
    """Parameter names of the token-classification head: the one Linear layer with num_labels outputs."""
    import torch

    num_labels = model.config.num_labels
    heads = [name for name, module in model.named_modules()
             if isinstance(module, torch.nn.Linear) and module.out_features == num_labels]
    if len(heads) != 1:
        found = ", ".join(heads) or "none"
        raise UserError(
            f"calibration needs exactly one linear layer with {num_labels} outputs (the classifier); found {found}. "
            "This architecture is not supported by `nerkit calibrate`: open an issue with its name."
        )
    module = model.get_submodule(heads[0])
    return tuple(f"{heads[0]}.{part}" for part in ("weight", "bias") if getattr(module, part, None) is not None)


def weight_files(folder: str | Path, names: Sequence[str]) -> dict[str, Path]:
    """Each of `names` -> the .safetensors file holding it (single file or sharded with an index)."""
    folder = Path(folder)
    files = _tensor_files(folder)
    missing = [name for name in names if name not in files]
    if missing:
        raise UserError(f"{folder}: the weights hold no tensor {', '.join(missing)} (the classifier as the model names it). "
                        "Re-save the model with a current transformers and try again.")
    return {name: files[name] for name in names}


def _tensor_files(folder: Path) -> dict[str, Path]:
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
        return {name: folder / shard for name, shard in weight_map.items()}
    single = folder / "model.safetensors"
    if not single.is_file():
        raise UserError(f"{folder} has no model.safetensors: calibration rewrites safetensors weights only. "
                        "Re-save the model with `save_pretrained(..., safe_serialization=True)`.")
    from safetensors import safe_open

    with safe_open(str(single), framework="pt") as handle:
        return {name: single for name in handle.keys()}


def bake(folder: str | Path, names: Sequence[str], temperature: float) -> dict[Path, bytes]:
    """Divide the named tensors by `temperature` in the folder's safetensors file(s), stored as float32.
    Returns the original bytes of each rewritten file (to restore it)."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    files = weight_files(folder, names)
    originals = {}
    for path in sorted({files[name] for name in names}):
        originals[path] = path.read_bytes()
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata()
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        for name in names:
            if files[name] == path:
                tensors[name] = (tensors[name].to(torch.float32) / temperature).contiguous()
        temporary = path.with_name(path.name + ".tmp")
        save_file(tensors, str(temporary), metadata=metadata)
        temporary.replace(path)
    return originals


def restore(originals: Mapping[Path, bytes]) -> None:
    for path, data in originals.items():
        path.write_bytes(data)


def changed_argmax(before: Sequence[Sequence[np.ndarray]], after: Sequence[Sequence[np.ndarray]]) -> int:
    """Sub-tokens whose argmax label differs between two runs over the same windows."""
    return sum(int(np.sum(a.argmax(-1) != b.argmax(-1))) for x, y in zip(before, after) for a, b in zip(x, y))


def rerun(pipe: Any, scored: ScoredSplit, batch_size: int) -> list[list[np.ndarray]]:
    """The split's windows through another pipeline (the model as saved), in the same order."""
    from nercore.windows import forward_items

    fresh = [replace(p.encoded, logits=[None] * p.num_windows, forward_s=0.0) for p in scored.pending]
    forward_items(pipe, [(e, i) for e in fresh for i in range(len(e.chunks))], batch_size)
    return [list(e.logits) for e in fresh]


def summary(results: Mapping[str, Mapping]) -> dict:
    """What calibration.json keeps of one reading, per strategy: F1 and the confidence figures but the thresholds."""
    return {name: {"f1": row["f1"], **{k: v for k, v in row["confidence"].items() if k != "thresholds"}}
            for name, row in results.items()}


def changed_sentences(before: Mapping[str, Sequence], after: Mapping[str, Sequence]) -> dict[str, int]:
    """Per strategy: sentences whose predicted spans (scores aside) differ."""
    def spans(sentence) -> list:
        return sorted(span for span, _ in sentence)

    return {name: sum(1 for a, b in zip(before[name], after[name]) if spans(a) != spans(b)) for name in before}


__all__ = ["COARSE", "ScoredSplit", "bake", "changed_argmax", "changed_sentences", "classifier_tensors",
           "fit_temperature", "rerun", "restore", "score_split", "summary", "weight_files"]
