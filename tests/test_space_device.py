"""nercore.device: device selection (with a stand-in torch, since CI has no GPU) and ZeroGPU wrapping."""

from __future__ import annotations

import logging
import sys
import types

import pytest

from nercore.device import DeviceError, gpu_wrap, select_device


def fake_torch(cuda=False, mps=None, name="NVIDIA Test GPU", threads=3):
    """Just the attributes select_device reads; `mps=None` means an old torch without backends.mps."""
    backends = types.SimpleNamespace()
    if mps is not None:
        backends.mps = types.SimpleNamespace(is_available=lambda: mps)
    return types.SimpleNamespace(
        cuda=types.SimpleNamespace(is_available=lambda: cuda, get_device_name=lambda i: name),
        backends=backends,
        get_num_threads=lambda: threads,
    )


@pytest.mark.parametrize(
    "torch_kwargs, preference, half, expected",
    [
        (dict(cuda=True, mps=True), "auto", True, ("cuda", "float16", "NVIDIA Test GPU")),
        (dict(cuda=True), "auto", False, ("cuda", "float32", "NVIDIA Test GPU")),
        (dict(cuda=False, mps=True), "auto", True, ("mps", "float32", "Apple MPS")),
        (dict(cuda=False, mps=False), "auto", True, ("cpu", "float32", "CPU (3 threads)")),
        (dict(cuda=False), "auto", True, ("cpu", "float32", "CPU (3 threads)")),
        (dict(cuda=True, mps=True), "cpu", True, ("cpu", "float32", "CPU (3 threads)")),
        (dict(cuda=True, mps=True), "mps", True, ("mps", "float32", "Apple MPS")),
        (dict(cuda=True), "CUDA ", True, ("cuda", "float16", "NVIDIA Test GPU")),
    ],
)
def test_select_device(torch_kwargs, preference, half, expected):
    choice = select_device(preference, half_precision=half, torch_module=fake_torch(**torch_kwargs), environ={})
    assert (choice.kind, choice.dtype, choice.name) == expected
    assert not choice.zero_gpu
    assert choice.kind in choice.label and choice.dtype in choice.label


def test_select_device_refuses_what_is_not_there():
    with pytest.raises(DeviceError, match="NER_DEVICE=cuda but torch sees no CUDA"):
        select_device("cuda", torch_module=fake_torch(cuda=False), environ={})
    with pytest.raises(DeviceError, match="mps is not available"):
        select_device("mps", torch_module=fake_torch(mps=False), environ={})
    with pytest.raises(DeviceError, match="not one of auto, cpu, cuda, mps"):
        select_device("tpu", torch_module=fake_torch(), environ={})


def test_zero_gpu_chooses_cuda_before_a_gpu_is_attached():
    choice = select_device(torch_module=fake_torch(cuda=False), environ={"SPACES_ZERO_GPU": "true"})
    assert (choice.kind, choice.dtype, choice.zero_gpu) == ("cuda", "float16", True)


def test_real_torch_here_is_cpu():
    """This machine (and CI) has no GPU: the real selection must land on CPU, float32."""
    import torch

    choice = select_device(environ={})
    if torch.cuda.is_available():
        assert choice.kind == "cuda" and choice.dtype in ("float16", "bfloat16")
    elif torch.backends.mps.is_available():
        assert (choice.kind, choice.dtype) == ("mps", "float32")
    else:
        assert (choice.kind, choice.dtype) == ("cpu", "float32")


def test_gpu_wrap(monkeypatch, caplog):
    def infer(x):
        return x + 1

    assert gpu_wrap(infer, environ={}) is infer
    calls = []

    def GPU(fn=None, duration=None):  # noqa: N802 - mirrors spaces.GPU
        if fn is None:
            return lambda f: GPU(f)
        calls.append(fn)
        return lambda *a, **k: ("on-gpu", fn(*a, **k))

    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=GPU))
    wrapped = gpu_wrap(infer, environ={"SPACES_ZERO_GPU": "true"})
    assert wrapped(1) == ("on-gpu", 2) and calls == [infer]
    assert gpu_wrap(infer, environ={"SPACES_ZERO_GPU": "true"}, duration=30)(1) == ("on-gpu", 2)
    assert gpu_wrap(infer, environ={"SPACES_ZERO_GPU": "false"}) is infer
    monkeypatch.setitem(sys.modules, "spaces", None)  # import fails
    with caplog.at_level(logging.WARNING):
        assert gpu_wrap(infer, environ={"SPACES_ZERO_GPU": "true"}) is infer
    assert "spaces" in caplog.text
