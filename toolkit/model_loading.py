"""Loading a model for inference and checking strategy names: one home below evaluation, prediction,
export and calibration, so none of them reaches into another stage for it.

`load_model` gives a token-classification model in float32 on the toolkit's device, or the model
folder's exported file run by a backend of the table (`nercore.backends.table`), in an object the
pipeline and the word-level predictions call alike; `build_pipeline` wraps it as the user's `pipeline(...)` would;
`check_strategies` turns `--strategies` into registry names.
"""

from __future__ import annotations

from typing import Any, Iterable

from nercore.device import select_device
from nercore.errors import UserError
from toolkit.steps import with_command


def load_model(name_or_path: str, *, revision: str | None = None, device: str | None = None, backend: str = "torch"):
    """A token-classification model in float32 on the toolkit's device, or a UserError saying why not.

    Any other `backend` of the table (e.g. "onnx-int8") gives the model folder's file for it (`nerkit
    export`) run by that backend's runtime, in an object the pipeline and `predict_words` call like
    the torch model.
    """
    from transformers import AutoConfig, AutoModelForTokenClassification

    backend = _check_backend(backend)
    try:
        config = AutoConfig.from_pretrained(name_or_path, revision=revision)
    except (OSError, ValueError) as err:
        raise UserError(f"could not load a model from {name_or_path!r}: {err}") from err
    architectures = config.architectures or []
    if architectures and not any(arch.endswith("ForTokenClassification") for arch in architectures):
        raise UserError(
            f"{name_or_path!r} is a {', '.join(architectures)} model, not a token-classification model. "
            "Evaluate a model fine-tuned for token classification (e.g. the output folder of `nerkit train`)."
        )
    if backend != "torch":
        return _load_exported(name_or_path, config, backend, revision)
    import torch

    # float32 whatever the checkpoint's dtype: half-precision weights (like the bundled model's)
    # are upcast, since CPU half-precision inference is slow and less accurate.
    model = AutoModelForTokenClassification.from_pretrained(name_or_path, revision=revision, dtype=torch.float32)
    model.to(device or select_device(half_precision=False).kind).eval()
    return model


def _check_backend(backend: str) -> str:
    from nercore.backends import BackendError, check_backend

    try:
        return check_backend(backend, allow_auto=False)
    except BackendError as err:
        raise UserError(f"--backend: {err}") from err


def _load_exported(name_or_path: str, config, backend: str, revision: str | None):
    from nercore.backends import BackendError, load_backend, resolve_backend

    try:
        _, path = resolve_backend(name_or_path, backend, strict=True, revision=revision)
        return load_backend(path, config, backend)
    except BackendError as err:
        raise UserError(with_command(f"--backend {backend}: {err}", err, name_or_path), step=err.step) from err


def check_strategies(strategies: str | Iterable[str] | None) -> tuple[str, ...]:
    """Canonical strategy names in registry order; "all" or None means every registered strategy."""
    from nercore.strategies import UnknownStrategyError, validate_strategies

    try:
        return validate_strategies(strategies)
    except UnknownStrategyError as err:
        raise UserError(f"--strategies: {err} Pass e.g. --strategies first,average or --strategies for all.") from err


def build_pipeline(model: Any, tokenizer: Any, *, max_length: int | None = None):
    """A token-classification pipeline on the already loaded model (same device, same weights).

    The window length is the tokenizer's limit capped by the model's position embeddings
    and by `max_length` when given (`nercore.lengths`, as the Space does).
    """
    import torch
    from transformers import pipeline

    from nercore.lengths import fit_tokenizer

    fit_tokenizer(tokenizer, model.config, max_length, inference=True)
    return pipeline("token-classification", model=model, tokenizer=tokenizer, device=torch.device(model.device))
