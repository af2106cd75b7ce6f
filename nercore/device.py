"""Where inference runs: CUDA (float16), Apple MPS or CPU, and ZeroGPU's per-call attachment.

The one home of device choice, for the Space and the toolkit alike (training, evaluation, predict):
gradio-free and cache-free, so the toolkit may import it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping

log = logging.getLogger(__name__)


class DeviceError(ValueError):
    """An unknown or unavailable device was asked for; the message names the setting and the fix."""


@dataclass(frozen=True)
class DeviceChoice:
    """Where inference runs: chosen once per process and shown in the UI."""

    kind: str  # "cuda" | "mps" | "cpu"
    dtype: str  # "float16" | "float32"
    name: str  # human-readable, e.g. "NVIDIA H100 80GB HBM3" or "CPU (2 threads)"
    zero_gpu: bool = False

    @property
    def label(self) -> str:
        return f"{self.kind} · {self.dtype} · {self.name}"


def is_zero_gpu(environ: Mapping[str, str] | None = None) -> bool:
    """True on a Hugging Face ZeroGPU Space (the platform sets SPACES_ZERO_GPU=true)."""
    environ = os.environ if environ is None else environ
    return str(environ.get("SPACES_ZERO_GPU", "")).strip().lower() in ("true", "1")


def select_device(
    preference: str = "auto",
    *,
    half_precision: bool = True,
    torch_module: Any = None,
    environ: Mapping[str, str] | None = None,
) -> DeviceChoice:
    """CUDA (float16 unless `half_precision=False`) when available, else Apple MPS, else CPU.

    `preference` forces one of "cpu", "cuda", "mps" (an unavailable one is an error, not a silent
    fallback). On ZeroGPU the GPU is attached per call by `spaces.GPU`, so CUDA is chosen even
    though none is visible at start-up. `torch_module` exists so the logic is testable without a GPU.
    """
    preference = (preference or "auto").strip().lower()
    if preference not in ("auto", "cpu", "cuda", "mps"):
        raise DeviceError(f"device {preference!r} is not one of auto, cpu, cuda, mps; set NER_DEVICE to one of them.")
    if torch_module is None:
        import torch as torch_module  # noqa: N813 - the real module when not injected
    torch = torch_module
    zero_gpu = is_zero_gpu(environ)
    cuda_ok = zero_gpu or bool(torch.cuda.is_available())
    mps_backend = getattr(getattr(torch, "backends", None), "mps", None)
    mps_ok = bool(mps_backend is not None and mps_backend.is_available())
    cuda_dtype = "float16" if half_precision else "float32"

    if preference == "cpu":
        return _cpu(torch)
    if preference == "cuda":
        if not cuda_ok:
            raise DeviceError("NER_DEVICE=cuda but torch sees no CUDA device; install a CUDA build of torch or set NER_DEVICE=auto.")
        return _cuda(torch, cuda_dtype, zero_gpu)
    if preference == "mps":
        if not mps_ok:
            raise DeviceError("NER_DEVICE=mps but torch.backends.mps is not available; set NER_DEVICE=auto or cpu.")
        return DeviceChoice("mps", "float32", "Apple MPS")
    if cuda_ok:
        return _cuda(torch, cuda_dtype, zero_gpu)
    if mps_ok:
        return DeviceChoice("mps", "float32", "Apple MPS")
    return _cpu(torch)


def _cuda(torch: Any, dtype: str, zero_gpu: bool) -> DeviceChoice:
    if zero_gpu:
        return DeviceChoice("cuda", dtype, "ZeroGPU (attached per request)", zero_gpu=True)
    try:
        name = str(torch.cuda.get_device_name(0))
    except Exception:  # a name is cosmetic; never fail on it
        name = "CUDA device"
    return DeviceChoice("cuda", dtype, name)


def _cpu(torch: Any) -> DeviceChoice:
    try:
        threads = int(torch.get_num_threads())
    except Exception:
        threads = os.cpu_count() or 1
    return DeviceChoice("cpu", "float32", f"CPU ({threads} threads)")


@lru_cache(maxsize=None)
def default_device(preference: str = "auto", half_precision: bool = True) -> DeviceChoice:
    """`select_device` once per process (per preference)."""
    choice = select_device(preference, half_precision=half_precision)
    log.info("Space device: %s", choice.label)
    return choice


def gpu_wrap(fn: Callable, *, environ: Mapping[str, str] | None = None, duration: int | None = None) -> Callable:
    """`spaces.GPU(fn)` on ZeroGPU, `fn` unchanged elsewhere; the `spaces` package is optional."""
    if not is_zero_gpu(environ):
        return fn
    try:
        import spaces  # type: ignore[import-not-found]
    except ImportError:
        log.warning("SPACES_ZERO_GPU is set but the `spaces` package is not installed; running without spaces.GPU.")
        return fn
    return spaces.GPU(duration=duration)(fn) if duration else spaces.GPU(fn)
