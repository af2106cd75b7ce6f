"""Load token-classification pipelines once per model per process, on the device `space.device` chose.

Why so strict: a Space that accepts a typed model id must never run remote code
(`trust_remote_code` is always False) and must say clearly when a model is not a token classifier,
instead of silently bolting a random classification head onto a plain encoder.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any

from space.device import DeviceChoice, default_device
from space.windows import position_limit

log = logging.getLogger(__name__)

_UNSET_MAX_LENGTH = 100_000  # tokenizers without a real limit report ~1e30
_FALLBACK_MAX_LENGTH = 512


class ModelLoadError(Exception):
    """A model cannot be used by the Space; the message says what was expected, what was found, and the fix."""


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------

_cache: "OrderedDict[tuple, Any]" = OrderedDict()
_pinned: set[tuple] = set()
_load_counts: Counter = Counter()
_cache_lock = threading.Lock()
_key_locks: dict[tuple, threading.Lock] = {}
_max_unpinned = 4


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
        for (model_id, _kind, _dtype), n in _load_counts.items():
            out[model_id] += n
        return dict(out)


def clear_cache() -> None:
    """Forget every loaded pipeline (tests use it; a Space never needs to)."""
    with _cache_lock:
        _cache.clear()
        _pinned.clear()
        _load_counts.clear()
        _key_locks.clear()


def get_pipeline(model_id: str, device: DeviceChoice | None = None, *, pinned: bool = True):
    """The token-classification pipeline for `model_id`, loaded at most once per process.

    Thread-safe: concurrent first requests for one model wait for a single load; loads of
    different models do not block each other. Pinned models (default + configured list) are
    never evicted; unpinned ones live in a small LRU (`set_cache_size`).
    """
    model_id = _normalise_id(model_id)
    device = device or default_device()
    key = (model_id, device.kind, device.dtype)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            if pinned:
                _pinned.add(key)
            return _cache[key]
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:
        with _cache_lock:
            if key in _cache:  # loaded by another request while this one waited
                _cache.move_to_end(key)
                if pinned:
                    _pinned.add(key)
                return _cache[key]
        try:
            pipe = load_pipeline(model_id, device)
        except BaseException:
            with _cache_lock:  # no lock kept per failed id: typed junk ids must not pile up
                _key_locks.pop(key, None)
            raise
        with _cache_lock:
            _cache[key] = pipe
            _load_counts[key] += 1
            if pinned:
                _pinned.add(key)
            _evict_locked()
    return pipe


def _evict_locked() -> None:
    unpinned = [k for k in _cache if k not in _pinned]
    while len(unpinned) > _max_unpinned:
        victim = unpinned.pop(0)
        _cache.pop(victim, None)
        _key_locks.pop(victim, None)
        log.info("unloaded %s (model cache full)", victim[0])


def _normalise_id(model_id: str) -> str:
    if not isinstance(model_id, str) or not model_id.strip():
        raise ModelLoadError("no model given: pass a Hub id like 'dslim/bert-base-NER' or a local folder with config.json.")
    model_id = model_id.strip()
    if len(model_id) > 500 or any(ch in model_id for ch in "\n\r\t\0"):
        raise ModelLoadError(f"{model_id[:80]!r}… is not a model id: expected 'owner/name' or a folder path.")
    return model_id


def load_pipeline(model_id: str, device: DeviceChoice):
    """Load without caching; `get_pipeline` is what callers want."""
    import torch
    from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer, pipeline

    model_id = _normalise_id(model_id)
    local = Path(model_id).expanduser()
    if local.exists():
        if not local.is_dir() or not (local / "config.json").is_file():
            raise ModelLoadError(
                f"{model_id!r} exists locally but is not a model folder (no config.json in it); "
                "point to the folder written by save_pretrained (config.json, weights, tokenizer files)."
            )
        source = str(local)
    else:
        source = model_id

    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=False)
    except Exception as exc:  # OSError (missing / offline), ValueError (unknown type, remote code)
        raise ModelLoadError(_explain_load_failure(model_id, exc)) from exc

    architectures = list(getattr(config, "architectures", None) or [])
    if not any(str(a).endswith("ForTokenClassification") for a in architectures):
        raise ModelLoadError(
            f"{model_id!r} is not a token-classification model: its config.json lists architectures "
            f"{architectures or '(none)'}; expected one ending in 'ForTokenClassification'. "
            "Choose a model fine-tuned for NER (e.g. dslim/bert-base-NER), not a base encoder."
        )
    from transformers.models.auto.modeling_auto import MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES

    if config.model_type not in MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES:
        raise ModelLoadError(
            f"{model_id!r} has model_type {config.model_type!r}, which transformers cannot run for token "
            "classification without remote code; this Space never enables trust_remote_code."
        )

    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    except Exception as exc:
        raise ModelLoadError(_explain_load_failure(model_id, exc, what="tokenizer")) from exc
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(
            f"{model_id!r} has only a slow (Python) tokenizer ({type(tokenizer).__name__}); the Space needs a fast "
            "tokenizer for character offsets, the first/average/max strategies and windowing of long texts. "
            "Save the model with a tokenizer.json (AutoTokenizer.from_pretrained(..., use_fast=True).save_pretrained)."
        )
    limit = position_limit(config)
    current = getattr(tokenizer, "model_max_length", None)
    if limit and (not isinstance(current, int) or current > limit):
        tokenizer.model_max_length = limit
    elif not isinstance(current, int) or current > _UNSET_MAX_LENGTH:
        log.warning("%s: tokenizer has no max length and config none either; using %d", model_id, _FALLBACK_MAX_LENGTH)
        tokenizer.model_max_length = _FALLBACK_MAX_LENGTH

    dtype = torch.float16 if device.dtype == "float16" else torch.float32
    try:
        model = AutoModelForTokenClassification.from_pretrained(source, trust_remote_code=False, dtype=dtype)
    except Exception as exc:
        raise ModelLoadError(_explain_load_failure(model_id, exc, what="weights")) from exc
    model.eval()
    try:
        model.to(device.kind)
    except Exception as exc:
        raise ModelLoadError(f"could not move {model_id!r} to {device.kind}: {exc}; set NER_DEVICE=cpu to run on the CPU.") from exc
    pipe = pipeline("token-classification", model=model, tokenizer=tokenizer, device=torch.device(device.kind))
    pipe.nerkit_model_id = model_id  # shown in the UI
    pipe.nerkit_device = device
    log.info("loaded %s on %s", model_id, device.label)
    return pipe


def _explain_load_failure(model_id: str, exc: Exception, what: str = "config") -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if len(text) > 300:
        text = text[:300] + "…"
    lowered = str(exc).lower()
    if "trust_remote_code" in lowered or "custom code" in lowered:
        hint = "it needs custom code, and this Space never runs remote code (trust_remote_code=False)"
    elif isinstance(exc, OSError) or "connect" in lowered or "not found" in lowered or "does not appear" in lowered:
        hint = (
            "it is not a local folder and could not be fetched from the Hugging Face Hub "
            "(check the id's spelling, that the repo is public, and that the Hub is reachable)"
        )
    else:
        hint = f"its {what} could not be read"
    return f"could not load model {model_id!r}: {hint}. Details: {type(exc).__name__}: {text}"
