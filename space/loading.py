"""What a checkpoint would do to the server, found out before any weight is allocated.

A typed Hub id is a stranger's file: its config can declare a 600 M-parameter model whose
safetensors hold one tensor, and `from_pretrained` would then allocate gigabytes of random
weights and serve random predictions. Here the architecture is built on the `meta` device (no
memory), its parameters are counted and its state-dict keys are compared with the tensor names
in the safetensors header (read alone: 8 bytes of length plus a JSON table), so such a model is
refused with a one-line reason. Also the bookkeeping of Hub files this process downloaded, so an
evicted model's files can leave the disk (never a folder the owner configured).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

log = logging.getLogger(__name__)

_MAX_HEADER_BYTES = 8 * 1024 * 1024  # a real header is KBs (a 7 B model's: ~100 KB); a bigger one is refused unread
# What a served token classifier can plausibly declare. A config over any of these is refused from
# config.json alone, before the architecture is built even on the meta device: building thousands
# of tiny layers there costs 10-34 s of CPU and 200-330 MB that the allocator keeps.
SHAPE_LIMITS = {
    "num_hidden_layers": 48,
    "vocab_size": 500_000,
    "num_labels": 10_000,
    "hidden_size": 16_384,
    "intermediate_size": 65_536,
    "num_attention_heads": 256,
    "max_position_embeddings": 1_048_576,
}
_LEGACY = ((re.compile(r"\.gamma$"), ".weight"), (re.compile(r"\.beta$"), ".bias"))


class CheckpointRefused(Exception):
    """The checkpoint must not be loaded; the message names the problem and the fix."""


@dataclass(frozen=True)
class Inspection:
    architecture_params: int
    checkpoint_params: int
    missing: tuple[str, ...]


def check_declared_shape(config: Any, name: str) -> None:
    """Refuse (CheckpointRefused) a config whose declared shape no served NER model has (`SHAPE_LIMITS`)."""
    for field, limit in SHAPE_LIMITS.items():
        try:
            value = getattr(config, field, None)
        except Exception:  # a config property that cannot compute itself: nothing declared
            value = None
        if isinstance(value, bool) or not isinstance(value, int):
            continue
        if value > limit:
            raise CheckpointRefused(
                f"{name} declares {field}={value:,} in its config.json; this Space serves models with at most "
                f"{limit:,}. Pick a standard token-classification model."
            )


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """The tensor table of one .safetensors file (name → {"dtype", "shape", ...}), without reading weights."""
    with open(path, "rb") as handle:
        raw = handle.read(8)
        if len(raw) != 8:
            raise CheckpointRefused(f"{path.name} is not a safetensors file (shorter than its 8-byte header length).")
        (length,) = struct.unpack("<Q", raw)
        if length > _MAX_HEADER_BYTES:
            raise CheckpointRefused(f"{path.name} declares a {length:,}-byte header; refusing to read it.")
        try:
            table = json.loads(handle.read(length))
        except ValueError as exc:
            raise CheckpointRefused(f"{path.name} has an unreadable safetensors header ({exc}).") from None
    table.pop("__metadata__", None)
    return table


def local_tensor_table(folder: Path) -> dict[str, list[int]] | None:
    """name → shape for every tensor of a local folder's safetensors weights (sharded or not); None if it has none."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}).values()))
        files = [folder / s for s in shards if (folder / s).is_file() and "/" not in s and "\\" not in s]
    else:
        files = [folder / "model.safetensors"] if (folder / "model.safetensors").is_file() else []
    if not files:
        return None
    table: dict[str, list[int]] = {}
    for file in files:
        table.update({name: list(info.get("shape", [])) for name, info in read_safetensors_header(file).items()})
    return table


def hub_tensor_table(repo_id: str, revision: str | None = None) -> dict[str, list[int]] | None:
    """The same for a Hub repo, from its headers alone (HTTP range requests); None if it has no safetensors."""
    from huggingface_hub import get_safetensors_metadata
    from huggingface_hub.errors import NotASafetensorsRepoError

    try:
        meta = get_safetensors_metadata(repo_id, revision=revision)
    except NotASafetensorsRepoError:
        return None
    return {name: list(info.shape) for file in meta.files_metadata.values() for name, info in file.tensors.items()}


def _numel(shape: Iterable[int]) -> int:
    n = 1
    for dim in shape:
        n *= int(dim)
    return n


def expected_keys(config: Any) -> tuple[int, set[str], set[str], str]:
    """(parameters, keys a checkpoint must provide, keys it may omit, base-model prefix) of the model
    `config` describes, built on the meta device: no memory is allocated."""
    import torch
    from transformers import AutoModelForTokenClassification

    with torch.device("meta"):
        model = AutoModelForTokenClassification.from_config(config, trust_remote_code=False)
    params = sum(p.numel() for p in model.parameters())
    keys = set(model.state_dict().keys())
    optional: set[str] = set()
    tied = getattr(model, "all_tied_weights_keys", None) or getattr(model, "_tied_weights_keys", None) or {}
    optional.update(tied if isinstance(tied, dict) else tied)
    patterns = [re.compile(p) for p in (getattr(model, "_keys_to_ignore_on_load_missing", None) or [])]
    optional.update(k for k in keys if any(p.search(k) for p in patterns))
    prefix = getattr(model, "base_model_prefix", "") or ""
    del model
    return params, keys, optional | {f"{prefix}.{k}" for k in optional if prefix}, prefix


def _normalise(names: Iterable[str], expected: set[str], prefix: str) -> set[str]:
    out = set()
    for name in names:
        for pattern, repl in _LEGACY:
            name = pattern.sub(repl, name)
        out.add(name)
        if prefix and f"{prefix}.{name}" in expected:
            out.add(f"{prefix}.{name}")
        if prefix and name.startswith(prefix + ".") and name[len(prefix) + 1:] in expected:
            out.add(name[len(prefix) + 1:])
    return out


def inspect(config: Any, table: dict[str, list[int]], max_params: int | None, name: str) -> Inspection:
    """Refuse (CheckpointRefused) a checkpoint over `max_params` or one leaving weights newly initialised."""
    params, keys, optional, prefix = expected_keys(config)
    declared = sum(_numel(shape) for shape in table.values())
    biggest = max(params, declared)
    if max_params is not None and biggest > max_params:
        raise CheckpointRefused(
            f"{name} declares {biggest / 1e6:,.0f} M parameters; this Space loads typed models up to "
            f"{max_params / 1e6:,.0f} M (NER_MAX_PARAMS). Pick a smaller model."
        )
    present = _normalise(table, keys, prefix)
    missing = sorted(k for k in keys - present - optional if not k.endswith("position_ids"))
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise CheckpointRefused(
            f"{name} would leave {len(missing)} of {len(keys)} weights newly initialised (random): its checkpoint "
            f"lacks {shown}. Only fully trained token-classification checkpoints are served."
        )
    return Inspection(params, declared, ())


# --- files this process downloaded --------------------------------------------------------------

def hub_cache_folder(repo_id: str) -> Path:
    """Where huggingface_hub keeps `repo_id`'s files."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE) / ("models--" + repo_id.replace("/", "--"))


def remove_download(folder: Path | None) -> None:
    """Delete a Hub cache folder this process created (evicted or failed model)."""
    if folder is None:
        return
    try:
        shutil.rmtree(folder)
        log.info("removed downloaded files of an unloaded model (%s)", folder.name)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not remove %s: %s", folder.name, exc)
