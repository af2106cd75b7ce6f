"""What one request does, independent of Gradio: check the input, pick the model, run, shape JSON.

The UI and the API endpoints are thin layers over `Service.compare` / `Service.predict`, so the
same rules (limits, model policy, messages) hold for a visitor and for `gradio_client`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Iterable

from space import strategies as registry
from space.config import SpaceConfig
from space.device import DeviceError, default_device, gpu_wrap
from space.engine import InputTooLongError, predict_detailed, word_boundary_method
from space.model import ModelLoadError, get_pipeline, set_cache_size
from space.spans import disagreements

log = logging.getLogger(__name__)

EMPTY_TEXT_MESSAGE = "Type or paste some text, then press Compare."
NO_MODEL_MESSAGE = (
    "No model is configured. Set NER_MODEL to a Hub id or a local folder with a token-classification "
    "model (for example NER_MODEL=dslim/bert-base-NER python app.py), or put one in ./model/."
)


class RequestError(ValueError):
    """A request the Space refuses; the message is meant for the person or program that sent it."""


def _run(model_id: str, device, pinned: bool, text: str, strategies: tuple, max_chars: int, stride, window_batch: int) -> dict:
    """Load (cached) and predict; everything returned is plain Python (ZeroGPU pickles it across processes)."""
    pipe = get_pipeline(model_id, device, pinned=pinned)
    prediction = predict_detailed(
        pipe, text, strategies, stride=stride, max_chars=max_chars, window_batch_size=window_batch
    )
    return {
        "entities": prediction.entities,
        "num_tokens": prediction.num_tokens,
        "windows": prediction.num_windows,
        "forward_ms": round(prediction.forward_s * 1000, 2),
        "total_ms": round(prediction.total_s * 1000, 2),
        "word_boundaries": word_boundary_method(pipe),
        "max_tokens_per_window": int(pipe.tokenizer.model_max_length),
    }


class Service:
    def __init__(self, config: SpaceConfig | None = None):
        self.config = config or SpaceConfig.from_env()
        set_cache_size(self.config.model_cache)
        self._run = gpu_wrap(_run)
        self._device = None

    @property
    def device(self):
        if self._device is None:
            try:
                self._device = default_device(self.config.device, self.config.half_precision)
            except DeviceError as exc:  # shown like any other reason the model cannot run
                raise ModelLoadError(str(exc)) from exc
        return self._device

    # -- input checks -----------------------------------------------------------------------
    def resolve_model(self, model: str | None) -> tuple[str, bool]:
        """(model id, pinned) for a requested model; "" or None means the default."""
        if model is None:
            model = ""
        if not isinstance(model, str):
            raise RequestError("model must be a string: a Hub id like 'dslim/bert-base-NER' or one of the listed models.")
        model = model.strip()
        if not model:
            if not self.config.default_model:
                raise RequestError(NO_MODEL_MESSAGE)
            return self.config.default_model, True
        if model in self.config.choices:
            return model, True
        if not self.config.allow_custom_model:
            raise RequestError(
                f"unknown model {model!r}: this Space only serves {', '.join(self.config.choices) or '(none configured)'}."
            )
        if Path(model).expanduser().exists() and not self.config.allow_local_paths:
            raise RequestError(
                f"{model!r} is a local path, and typed local paths are disabled here; list it in NER_MODELS "
                "or set NER_ALLOW_LOCAL_PATHS=1."
            )
        return model, False

    def check_text(self, text: Any) -> str:
        if text is None:
            return ""
        if not isinstance(text, str):
            raise RequestError(f"text must be a string, got {type(text).__name__}.")
        if len(text) > self.config.max_chars:
            raise RequestError(
                f"The text has {len(text):,} characters; this Space accepts at most {self.config.max_chars:,} "
                "(NER_MAX_CHARS). Split it into parts and send them one by one."
            )
        return text

    @staticmethod
    def check_strategies(strategies: Iterable[str] | str | None) -> tuple[str, ...]:
        try:
            return registry.validate_strategies(strategies)
        except registry.UnknownStrategyError as exc:
            raise RequestError(str(exc)[0].upper() + str(exc)[1:]) from exc

    # -- requests ---------------------------------------------------------------------------
    def run(self, text: Any, strategies: Iterable[str] | str | None = None, model: str | None = None) -> dict:
        """Everything the UI shows; raises RequestError / ModelLoadError with a user-facing message."""
        began = time.perf_counter()
        names = self.check_strategies(strategies)
        text = self.check_text(text)
        model_id, pinned = self.resolve_model(model)
        result = {
            "model": model_id,
            "strategies": list(names),
            "device": self.device.label,
            "message": "",
        }
        if not text.strip():
            result.update(entities={s: [] for s in names}, disagreements=[], message=EMPTY_TEXT_MESSAGE)
            return result
        try:
            run = self._run(
                model_id, self.device, pinned, text, names, self.config.max_chars, self.config.stride,
                self.config.window_batch_size,
            )
        except InputTooLongError as exc:
            raise RequestError(str(exc)) from exc
        result.update(run)
        result["disagreements"] = disagreements(run["entities"], text)
        result["wall_ms"] = round((time.perf_counter() - began) * 1000, 2)
        return result

    def compare(self, text: Any, strategies: Iterable[str] | str | None = None, model: str | None = None) -> dict:
        """The `/compare` payload: entities per strategy, disagreement regions, and run info."""
        r = self.run(text, strategies, model)
        info_keys = ("device", "num_tokens", "windows", "forward_ms", "total_ms", "word_boundaries", "max_tokens_per_window")
        return {
            "model": r["model"],
            "entities": r["entities"],
            "disagreements": r["disagreements"],
            "message": r["message"],
            "info": {k: r[k] for k in info_keys if k in r},
        }

    def predict(self, text: Any, strategy: str = "simple", model: str | None = None) -> list[dict]:
        """The `/predict` payload: one strategy's entities (empty list for empty text)."""
        if not isinstance(strategy, str):
            raise RequestError(f"strategy must be one name out of {', '.join(s.name for s in registry.STRATEGIES)}.")
        (name,) = self.check_strategies([strategy])
        return self.run(text, [name], model)["entities"][name]


__all__ = ["Service", "RequestError", "ModelLoadError", "EMPTY_TEXT_MESSAGE", "NO_MODEL_MESSAGE"]
