"""What one request does, independent of Gradio: check the input, pick the model, run, shape JSON.

The UI and the API endpoints are thin layers over `Service.compare` / `Service.predict`, so the
same rules (limits, model policy, messages) hold for a visitor and for `gradio_client`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from nercore import strategies as registry
from space.scheduler import WindowScheduler
from space.config import SpaceConfig
from nercore.device import DeviceError, default_device, gpu_wrap, is_zero_gpu
from nercore.context import model_context
from nercore.ids import ID_RULE, MAX_MODEL_ARGUMENT, MAX_NAME, MODEL_ID_RE, is_model_id
from nercore.engine import InputTooLongError, check_text, finish, predict_detailed, prepare, word_boundary_method
from space.model_scores import model_scores
from space.model import LoadPolicy, ModelLoadError, get_pipeline, loaded_pipeline, plain_line, set_cache_size
from nercore.errors import shown
from nercore.thresholds import check_min_score, keep_above
from nercore.spans import disagreements

log = logging.getLogger(__name__)

EMPTY_TEXT_MESSAGE = "Type or paste some text, then press Compare."
NO_MODEL_MESSAGE = (
    "No model is configured. Set NER_MODEL to a Hub id or a local folder with a token-classification "
    "model (for example NER_MODEL=dslim/bert-base-NER python app.py), or put one in ./model/."
)


# Text: lone surrogates crash the tokenizer (control characters are tokenised fine, offsets stay right).
_SURROGATE = re.compile("[\ud800-\udfff]")
# Model ids: no control characters at all.
_BAD_CHARS = re.compile("[\ud800-\udfff\x00-\x1f\x7f-\x9f]")


class RequestError(ValueError):
    """A request the Space refuses; the message is meant for the person or program that sent it."""


def _result_of(pipe, prediction, names: Sequence[str]) -> dict:
    """One text's answer as plain Python (ZeroGPU pickles it across processes)."""
    return {
        "entities": {n: prediction.entities[n] for n in names},
        "num_tokens": prediction.num_tokens,
        "windows": prediction.num_windows,
        "forward_ms": round(prediction.forward_s * 1000, 2),
        "total_ms": round(prediction.total_s * 1000, 2),
        "word_boundaries": word_boundary_method(pipe),
        "max_tokens_per_window": int(pipe.tokenizer.model_max_length),
        "backend": getattr(pipe, "nerkit_backend", "torch"),
        "labels": list(pipe.model.config.id2label.values()),
        "document_context": _context_of(pipe),
    }


def _context_of(pipe) -> dict | None:
    """The model's recorded document-context training (config.json), None for a sentence-trained model."""
    try:
        setting = model_context(pipe.model.config)
    except ValueError:  # a malformed key in someone's config: the model still runs
        return None
    return setting.to_json() if setting.enabled else None


def _run(model_id: str, device, pinned: bool, text: str, strategies: tuple, max_chars: int, stride, window_batch: int,
         policy: LoadPolicy | None = None) -> dict:
    """Load (cached) and predict one text in the caller's thread: the ZeroGPU path (spaces.GPU wraps it)."""
    pipe = get_pipeline(model_id, device, pinned=pinned, policy=policy)
    prediction = predict_detailed(
        pipe, text, strategies, stride=stride, max_chars=max_chars, window_batch_size=window_batch
    )
    return _result_of(pipe, prediction, strategies)


class Service:
    def __init__(self, config: SpaceConfig | None = None):
        self.config = config or SpaceConfig.from_env()
        set_cache_size(self.config.model_cache)
        self._run = gpu_wrap(_run)
        self._device = None
        cfg = self.config
        # The inference slot: NER_CONCURRENCY forward passes at once. Loading happens before a request
        # takes it. On ZeroGPU the forward pass must run in the request's own thread (spaces.GPU).
        self._zero_gpu = is_zero_gpu()
        self._slot = threading.BoundedSemaphore(cfg.concurrency)
        self.batcher = None if self._zero_gpu else WindowScheduler(
            max_tokens=cfg.batch_tokens, max_windows=cfg.batch_size, max_wait_s=cfg.batch_wait_ms / 1000,
            workers=cfg.concurrency,
        )

    @property
    def device(self):
        if self._device is None:
            try:
                self._device = default_device(self.config.device, self.config.half_precision)
            except DeviceError as exc:  # shown like any other reason the model cannot run
                raise ModelLoadError(str(exc)) from exc
        return self._device

    def status_text(self) -> str:
        """One plain line about the default model (display name, loaded or not), device, backend and text limit."""
        cfg = self.config
        if not cfg.default_model:
            return NO_MODEL_MESSAGE
        try:
            device = self.device
        except ModelLoadError as exc:
            return str(exc)
        pipe = loaded_pipeline(cfg.default_model, device, cfg.backend)
        state = "loaded" if pipe is not None else "loading"
        backend = getattr(pipe, "nerkit_backend", "torch") if pipe is not None else cfg.backend
        language = f"{cfg.default_language} " if cfg.default_language else ""  # e.g. "Default English model …"
        return (f"Default {language}model {cfg.default_display} ({state}) · device {device.label} · backend {backend} · "
                f"texts up to {cfg.max_chars:,} characters.")

    # -- input checks -----------------------------------------------------------------------
    def resolve_model(self, model: str | None) -> tuple[str, bool, str]:
        """(model id or path, pinned, display name) for a requested model; "" or None means the default."""
        cfg = self.config
        if model is None:
            model = ""
        if not isinstance(model, str):
            raise RequestError("model must be a string: one of the listed models (or a Hub id where typing is allowed).")
        model = model.strip()
        if not model:
            if not cfg.default_model:
                raise RequestError(NO_MODEL_MESSAGE)
            return cfg.default_model, True, cfg.default_display
        source = cfg.source_of(model)
        if source is not None:
            return source, True, cfg.display_of(source)
        if not cfg.allow_custom_model:
            raise RequestError(
                f"unknown model {shown(model)}: this Space only serves {', '.join(cfg.choices) or '(none configured)'}."
            )
        if _BAD_CHARS.search(model):
            raise RequestError(f"{shown(model)} is not a model id: it contains control characters.")
        if len(model) > MAX_MODEL_ARGUMENT:
            raise RequestError(f"the model id has {len(model):,} characters; a Hub id is at most {2 * MAX_NAME + 1} "
                               "(owner/name).")
        if cfg.allow_local_paths and self._is_local_path(model):
            return model, False, model
        if not cfg.allow_local_paths and not MODEL_ID_RE.match(model):
            # Decided from the string alone: probing the disk would tell visitors which paths exist.
            raise RequestError(
                f"{shown(model)} is not a Hub model id ('owner/name'), and typed local paths are disabled here; "
                "list a folder in NER_MODELS or set NER_ALLOW_LOCAL_PATHS=1."
            )
        if not is_model_id(model):
            raise RequestError(f"{shown(model)} is not a Hub model id: expected 'owner/name' ({ID_RULE}).")
        return model, False, model

    @staticmethod
    def _is_local_path(model: str) -> bool:
        try:
            return Path(model).expanduser().exists()
        except (OSError, ValueError):  # too long for the file system, or a NUL: not a folder here
            return False

    def check_text(self, text: Any) -> str:
        if text is None:
            return ""
        if not isinstance(text, str):
            raise RequestError(f"text must be a string, got {type(text).__name__}.")
        try:
            check_text(text, self.config.max_chars)  # the engine's one length rule
        except InputTooLongError as exc:
            raise RequestError(str(exc)) from None
        bad = _SURROGATE.search(text)
        if bad:
            raise RequestError(
                f"The text has an unpaired surrogate (U+{ord(bad.group()):04X}) at character {bad.start()}: half of a "
                "UTF-16 pair, not a character; remove it (or send the whole character) and try again."
            )
        return text

    @staticmethod
    def check_strategies(strategies: Iterable[str] | str | None) -> tuple[str, ...]:
        try:
            return registry.validate_strategies(strategies)
        except registry.UnknownStrategyError as exc:
            raise RequestError(str(exc)[0].upper() + str(exc)[1:]) from exc

    # -- requests ---------------------------------------------------------------------------
    def run(self, text: Any, strategies: Iterable[str] | str | None = None, model: str | None = None, *,
            scores: bool = True, min_score: Any = None) -> dict:
        """Everything the UI shows; raises RequestError / ModelLoadError with a one-line user-facing message.

        `scores` adds the model's per-strategy F1 (its eval_results.json; a download for a Hub model the
        first time), which `/predict` does not return and so does not look up."""
        try:
            if self.batcher is None:
                return self._request(text, strategies, model, scores, min_score)
            with self.batcher.expect():
                return self._request(text, strategies, model, scores, min_score)
        except (RequestError, ModelLoadError) as exc:
            message = plain_line(str(exc))
            log.warning("refused a request: %s", message)  # one line, no traceback: the visitor's mistake
            raise type(exc)(message) from None

    def _request(self, text: Any, strategies, model, with_scores: bool = True, min_score: Any = None) -> dict:
        began = time.perf_counter()
        try:
            min_score = check_min_score(min_score)
        except ValueError as exc:
            raise RequestError(str(exc)) from None
        names = self.check_strategies(strategies)
        text = self.check_text(text)
        model_id, pinned, display = self.resolve_model(model)
        result = {"model": display, "strategies": list(names), "device": self.device.label, "message": ""}
        if not text.strip():
            result.update(entities={s: [] for s in names}, disagreements=[], message=EMPTY_TEXT_MESSAGE)
            return result
        cfg = self.config
        policy = LoadPolicy(max_params=None if pinned else cfg.max_params, timeout=cfg.load_timeout, display=display,
                            backend=cfg.backend)
        try:
            if self.batcher is None:
                with self._slot:
                    run = self._run(model_id, self.device, pinned, text, names, cfg.max_chars, cfg.stride,
                                    cfg.window_batch_size, policy)
            else:
                pipe = get_pipeline(model_id, self.device, pinned=pinned, policy=policy)  # outside the slot
                pending = prepare(pipe, text, names, stride=cfg.stride, max_chars=cfg.max_chars)  # this thread
                self.batcher.run(pipe, pending)  # its windows, fairly among everyone's (space.scheduler)
                with self.batcher.grouping(pending):  # long texts take turns, so one-line requests get the GIL
                    run = _result_of(pipe, finish(pipe, pending), names)
        except InputTooLongError as exc:
            raise RequestError(str(exc)) from exc
        result.update(run)
        reference = registry.reference_names()  # rows that do not vote in disagreements (the table says)
        if min_score:  # the API's threshold, after grouping: whole entities kept or dropped (nercore.thresholds)
            result["entities"] = keep_above(result["entities"], min_score, text, reference)
        scores = model_scores(model_id) if with_scores else None  # eval_results.json via the core reader; cached
        result["scores"] = scores.to_json() if scores else None
        result["disagreements"] = disagreements(result["entities"], text, reference=reference)
        result["wall_ms"] = round((time.perf_counter() - began) * 1000, 2)
        return result

    def compare(self, text: Any, strategies: Iterable[str] | str | None = None, model: str | None = None,
                min_score: Any = None) -> dict:
        """The `/compare` payload: entities per strategy (those scored at least `min_score`, if given),
        disagreement regions, and run info."""
        r = self.run(text, strategies, model, min_score=min_score)
        info_keys = ("device", "num_tokens", "windows", "forward_ms", "total_ms", "word_boundaries", "max_tokens_per_window",
                     "backend", "labels", "document_context")
        return {
            "model": r["model"],
            "entities": r["entities"],
            "disagreements": r["disagreements"],
            "message": r["message"],
            "scores": r.get("scores"),
            "info": {k: r[k] for k in info_keys if k in r},
        }

    def predict(self, text: Any, strategy: str = "simple", model: str | None = None, min_score: Any = None) -> list[dict]:
        """The `/predict` payload: one strategy's entities (empty list for empty text), scored at least `min_score`."""
        if not isinstance(strategy, str):
            raise RequestError(f"strategy must be one name out of {', '.join(s.name for s in registry.STRATEGIES)}.")
        (name,) = self.check_strategies([strategy])
        return self.run(text, [name], model, scores=False, min_score=min_score)["entities"][name]


__all__ = ["Service", "RequestError", "ModelLoadError", "EMPTY_TEXT_MESSAGE", "NO_MODEL_MESSAGE"]
