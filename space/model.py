"""Load token-classification pipelines once per model per process, on the device `nercore.device` chose.

Why so strict: a Space that accepts a typed model id must never run remote code
(`trust_remote_code` is always False) and must say clearly when a model is not a token classifier,
instead of silently bolting a random classification head onto a plain encoder.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter, OrderedDict
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nercore.backends import attach_backend, check_backend
from nercore.device import DeviceChoice, default_device
from space.loading import (
    CheckpointRefused,
    check_declared_shape,
    hub_cache_folder,
    hub_tensor_table,
    inspect,
    local_tensor_table,
    remove_download,
)
from nercore.errors import shown
from nercore.ids import MAX_MODEL_ARGUMENT
from nercore.lengths import fit_tokenizer

log = logging.getLogger(__name__)



class ModelLoadError(Exception):
    """A model cannot be used by the Space; the message says what was expected, what was found, and the fix."""


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------

_cache: "OrderedDict[tuple, Any]" = OrderedDict()
_pinned: set[tuple] = set()
_load_counts: Counter = Counter()
_cache_lock = threading.Lock()
_loading: dict[tuple, Future] = {}  # key → the one load in progress for it
_load_slots = threading.BoundedSemaphore(2)  # loads running at once; more wait (and time out) in line
_max_unpinned = 4
# Failed loads, remembered for FAILURE_MEMORY_S so that a listed model that cannot load (not downloadable,
# refused) costs one visitor the ~20 s attempt, not every visitor who picks it. Bounded: typed junk ids
# must not pile up.
FAILURE_MEMORY_S = 60.0
_FAILURE_LIMIT = 256
_failures: "OrderedDict[tuple, tuple[float, ModelLoadError]]" = OrderedDict()


@dataclass(frozen=True)
class LoadPolicy:
    """How carefully to load: `max_params` (None: no cap; typed models get one, and must ship
    safetensors), `timeout` (seconds a caller waits; the load itself goes on and is cached),
    `display` (the name used in messages instead of a server path), and `backend` (NER_BACKEND:
    auto | torch | onnx | onnx-int8; an ONNX choice that cannot be met falls back to torch)."""

    max_params: int | None = None
    timeout: float | None = None
    display: str | None = None
    backend: str = "auto"


def set_cache_size(n: int) -> None:
    """How many unpinned (typed-in) models stay loaded; the least recently used goes first."""
    global _max_unpinned
    if n < 1:
        raise ValueError(f"cache size must be >= 1, got {n}")
    with _cache_lock:
        _max_unpinned = n
        _evict_locked()


def load_counts() -> dict[str, int]:
    """Model id → how many times it was loaded in this process (for tests and the UI)."""
    with _cache_lock:
        out: Counter = Counter()
        for (model_id, *_rest), n in _load_counts.items():
            out[model_id] += n
        return dict(out)


def is_loaded(model_id: str, device: DeviceChoice | None = None) -> bool:
    """Whether `model_id` is loaded (on `device`, default: any device)."""
    model_id = model_id.strip()
    with _cache_lock:
        return any(k[0] == model_id and (device is None or k[1:3] == (device.kind, device.dtype)) for k in _cache)


def loaded_pipeline(model_id: str, device: DeviceChoice, backend: str = "auto"):
    """The cached pipeline for `model_id` on `device` loaded with `backend` asked for, or None (never loads)."""
    with _cache_lock:
        return _cache.get((model_id.strip(), device.kind, device.dtype, check_backend(backend)))


def clear_cache() -> None:
    """Forget every loaded pipeline (tests use it; a Space never needs to)."""
    with _cache_lock:
        _cache.clear()
        _pinned.clear()
        _load_counts.clear()
        _loading.clear()
        _failures.clear()


def _remembered_failure(key: tuple) -> "ModelLoadError | None":
    """The failure of a load of `key` less than FAILURE_MEMORY_S ago (caller holds `_cache_lock`)."""
    entry = _failures.get(key)
    if entry is None:
        return None
    if time.monotonic() - entry[0] > FAILURE_MEMORY_S:
        del _failures[key]
        return None
    return entry[1]


def get_pipeline(model_id: str, device: DeviceChoice | None = None, *, pinned: bool = True,
                 policy: LoadPolicy | None = None):
    """The token-classification pipeline for `model_id`, loaded at most once per process.

    Thread-safe: concurrent first requests for one model wait for a single load, which runs in its
    own thread (never in an inference slot); loads of different models do not block each other or
    requests for loaded models. A caller waits at most `policy.timeout` seconds. Pinned models
    (default + configured list) are never evicted; unpinned ones live in a small LRU (`set_cache_size`).
    """
    model_id = _normalise_id(model_id)
    device = device or default_device()
    policy = policy or LoadPolicy()
    key = (model_id, device.kind, device.dtype, check_backend(policy.backend))  # one load per backend asked for
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            if pinned:
                _pinned.add(key)
            return _cache[key]
        failed = _remembered_failure(key)
        if failed is not None:
            raise ModelLoadError(str(failed))  # the same message, at once
        future = _loading.get(key)
        if future is None:
            future = _loading[key] = Future()
            threading.Thread(target=_load_into, args=(future, key, model_id, device, pinned, policy),
                             name=f"nerkit-load-{model_id[:40]}", daemon=True).start()
    try:
        pipe = future.result(timeout=policy.timeout)
    except FutureTimeout:
        raise ModelLoadError(
            f"{shown(policy.display or model_id)} is still loading after {policy.timeout:.0f} s (NER_LOAD_TIMEOUT); "
            "try again in a minute, or choose another model."
        ) from None
    if pinned:
        with _cache_lock:
            if key in _cache:
                _pinned.add(key)
    return pipe


def _load_into(future: Future, key: tuple, model_id: str, device: DeviceChoice, pinned: bool, policy: LoadPolicy) -> None:
    try:
        with _load_slots:
            pipe = load_pipeline(model_id, device, policy)
    except BaseException as exc:  # handed to every waiting caller
        with _cache_lock:
            _loading.pop(key, None)
            if isinstance(exc, ModelLoadError):  # a refusal or a failed download, not a bug or an interrupt
                _failures[key] = (time.monotonic(), exc)
                _failures.move_to_end(key)
                while len(_failures) > _FAILURE_LIMIT:
                    _failures.popitem(last=False)
        future.set_exception(exc)
        return
    with _cache_lock:
        _cache[key] = pipe
        _load_counts[key] += 1
        if pinned:
            _pinned.add(key)
        _loading.pop(key, None)
        _evict_locked()
    future.set_result(pipe)


def _evict_locked() -> None:
    unpinned = [k for k in _cache if k not in _pinned]
    while len(unpinned) > _max_unpinned:
        victim = unpinned.pop(0)
        pipe = _cache.pop(victim, None)
        log.info("unloaded %s (model cache full)", victim[0])
        if not any(k[0] == victim[0] for k in _cache):
            remove_download(getattr(pipe, "nerkit_download", None))


def _normalise_id(model_id: str) -> str:
    if not isinstance(model_id, str) or not model_id.strip():
        raise ModelLoadError("no model given: pass a Hub id like 'dslim/bert-base-NER' or a local folder with config.json.")
    model_id = model_id.strip()
    if len(model_id) > MAX_MODEL_ARGUMENT or any(ch in model_id for ch in "\n\r\t\0"):
        raise ModelLoadError(f"{shown(model_id)} is not a model id: expected 'owner/name' or a folder path.")
    return model_id


def _source(model_id: str, name: str) -> tuple[str, Path | None]:
    """(what from_pretrained gets, the local folder or None for a Hub id)."""
    try:
        local = Path(model_id).expanduser()
        exists = local.exists()
    except (OSError, ValueError):  # e.g. a name too long for the file system: not a folder
        return model_id, None
    if not exists:
        return model_id, None
    if not local.is_dir() or not (local / "config.json").is_file():
        raise ModelLoadError(
            f"{shown(name)} exists locally but is not a model folder (no config.json in it); "
            "point to the folder written by save_pretrained (config.json, weights, tokenizer files)."
        )
    return str(local), local


def _read_config(source: str, name: str):
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=False)
    except Exception as exc:  # OSError (missing / offline), ValueError (unknown type, remote code)
        raise ModelLoadError(_explain_load_failure(name, exc, source=source)) from exc
    architectures = list(getattr(config, "architectures", None) or [])
    if not any(str(a).endswith("ForTokenClassification") for a in architectures):
        raise ModelLoadError(
            f"{shown(name)} is not a token-classification model: its config.json lists architectures "
            f"{architectures or '(none)'}; expected one ending in 'ForTokenClassification'. "
            "Choose a model fine-tuned for NER (e.g. dslim/bert-base-NER), not a base encoder."
        )
    if config.model_type not in MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES:
        raise ModelLoadError(
            f"{shown(name)} has model_type {config.model_type!r}, which transformers cannot run for token "
            "classification without remote code; this Space never enables trust_remote_code."
        )
    return config


def _check_checkpoint(model_id: str, local: Path | None, config, policy: LoadPolicy, name: str) -> None:
    """Refuse, before any weight is allocated, a model over the cap or one with weights missing."""
    if policy.max_params is not None:  # a typed model: its declared shape first, from config.json alone
        try:
            check_declared_shape(config, shown(name))
        except CheckpointRefused as exc:
            raise ModelLoadError(str(exc)) from None
    try:
        table = local_tensor_table(local) if local else hub_tensor_table(model_id)
    except CheckpointRefused as exc:
        raise ModelLoadError(f"{shown(name)}: {exc}") from None
    except Exception as exc:  # network / Hub errors while reading the headers
        raise ModelLoadError(_explain_load_failure(name, exc, what="weights", source=str(local or model_id))) from exc
    if table is None:
        if policy.max_params is not None:
            raise ModelLoadError(
                f"{shown(name)} has no safetensors weights (model.safetensors); typed-in models must have them, "
                "because pickled weight files (.bin) can run code. Choose a model that ships safetensors."
            )
        if local is not None and not any(local.glob("*.bin")) and not any(local.glob("*.safetensors")):
            raise ModelLoadError(
                f"{shown(name)} has no weights: the folder has config.json but no model.safetensors; "
                "save the model into it with save_pretrained."
            )
        return
    try:
        inspect(config, table, policy.max_params, shown(name))
    except CheckpointRefused as exc:
        raise ModelLoadError(str(exc)) from None


def _load_tokenizer(source: str, name: str):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    except Exception as exc:
        raise ModelLoadError(_explain_load_failure(name, exc, what="tokenizer", source=source)) from exc
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(
            f"{shown(name)} has only a slow (Python) tokenizer ({type(tokenizer).__name__}); the Space needs a fast "
            "tokenizer for character offsets, the first/average/max strategies and windowing of long texts. "
            "Save the model with a tokenizer.json (AutoTokenizer.from_pretrained(..., use_fast=True).save_pretrained)."
        )
    return tokenizer


def load_pipeline(model_id: str, device: DeviceChoice, policy: LoadPolicy | None = None):
    """Load without caching; `get_pipeline` is what callers want. Hub files this call downloads
    are removed again when it fails (and, via `nerkit_download`, when the model is evicted)."""
    model_id = _normalise_id(model_id)
    policy = policy or LoadPolicy()
    name = policy.display or model_id
    source, local = _source(model_id, name)
    download = None if local else hub_cache_folder(model_id)
    if download is not None and download.exists():
        download = None  # there before this load: not ours to delete
    try:
        pipe = _load(model_id, source, local, device, policy, name)
    except BaseException:
        remove_download(download)
        raise
    pipe.nerkit_download = download
    return pipe


def _load(model_id: str, source: str, local: Path | None, device: DeviceChoice, policy: LoadPolicy, name: str):
    import torch
    from transformers import AutoModelForTokenClassification, pipeline

    config = _read_config(source, name)
    _check_checkpoint(model_id, local, config, policy, name)
    tokenizer = _load_tokenizer(source, name)
    fit_tokenizer(tokenizer, config, inference=True)
    dtype = torch.float16 if device.dtype == "float16" else torch.float32
    options = {"use_safetensors": True} if policy.max_params is not None else {}
    try:
        model = AutoModelForTokenClassification.from_pretrained(source, trust_remote_code=False, dtype=dtype, **options)
    except Exception as exc:
        raise ModelLoadError(_explain_load_failure(name, exc, what="weights", source=source)) from exc
    model.eval()
    try:
        model.to(device.kind)
    except Exception as exc:
        raise ModelLoadError(f"could not move {shown(name)} to {device.kind}: {exc}; set NER_DEVICE=cpu to run on the CPU.") from exc
    pipe = pipeline("token-classification", model=model, tokenizer=tokenizer, device=torch.device(device.kind))
    pipe.nerkit_model_id = model_id
    pipe.nerkit_display = name  # what the UI and the API show
    pipe.nerkit_device = device
    del model  # the pipeline's reference is the only one left, so an ONNX backend frees the torch weights
    attach_backend(pipe, source, policy.backend)  # non-strict: an unmet ONNX choice falls back to torch
    log.info("loaded %s on %s (%s)", name, device.label, pipe.nerkit_backend)
    return pipe


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_ABS_PATH = re.compile(r"(?<![\w.])(?:/[^\s'\"/:]+){2,}/?")


def plain_line(text: str, source: str | None = None, name: str | None = None) -> str:
    """`text` as one plain line: no ANSI colour codes, no line breaks, no server path."""
    text = _ANSI.sub("", str(text))
    if source and name and source != name:
        text = text.replace(source, name)
    text = _ABS_PATH.sub("<path>", text)
    return " ".join(text.split())


def _explain_load_failure(model_id: str, exc: Exception, what: str = "config", source: str | None = None) -> str:
    raw = _ANSI.sub("", str(exc)).strip()
    text = raw.splitlines()[0] if raw else type(exc).__name__
    if len(text) > 300:
        text = text[:300] + "…"
    lowered = raw.lower()
    if "trust_remote_code" in lowered or "custom code" in lowered:
        hint = "it needs custom code, and this Space never runs remote code (trust_remote_code=False)"
    elif isinstance(exc, OSError) and what == "weights" and ("no file named" in lowered or "does not appear to have" in lowered):
        hint = "its weights are missing (no model.safetensors); save the model into it with save_pretrained"
    elif isinstance(exc, OSError) or "connect" in lowered or "not found" in lowered or "does not appear" in lowered:
        hint = (
            "it is not a local folder and could not be fetched from the Hugging Face Hub "
            "(check the id's spelling, that the repo is public, and that the Hub is reachable)"
        )
    else:
        hint = f"its {what} could not be read"
    return plain_line(f"could not load model {shown(model_id)}: {hint}. Details: {type(exc).__name__}: {text}", source, model_id)
