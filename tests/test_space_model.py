"""space.model: device selection (with a stand-in torch, since CI has no GPU), ZeroGPU wrapping,
and validated, cached, thread-safe pipeline loading."""

from __future__ import annotations

import json
import logging
import sys
import threading
import types

import pytest

from space import model as space_model
from space.model import (
    DeviceChoice,
    ModelLoadError,
    clear_cache,
    get_pipeline,
    gpu_wrap,
    load_counts,
    position_limit,
    select_device,
    set_cache_size,
)

from test_space_helpers import rigged_bert  # noqa: F401 (fixture)

CPU = DeviceChoice("cpu", "float32", "CPU")


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
    with pytest.raises(ModelLoadError, match="NER_DEVICE=cuda but torch sees no CUDA"):
        select_device("cuda", torch_module=fake_torch(cuda=False), environ={})
    with pytest.raises(ModelLoadError, match="mps is not available"):
        select_device("mps", torch_module=fake_torch(mps=False), environ={})
    with pytest.raises(ModelLoadError, match="not one of auto, cpu, cuda, mps"):
        select_device("tpu", torch_module=fake_torch(), environ={})


def test_zero_gpu_chooses_cuda_before_a_gpu_is_attached():
    choice = select_device(torch_module=fake_torch(cuda=False), environ={"SPACES_ZERO_GPU": "true"})
    assert (choice.kind, choice.dtype, choice.zero_gpu) == ("cuda", "float16", True)


def test_real_torch_here_is_cpu():
    """This machine (and CI) has no GPU: the real selection must land on CPU, float32."""
    choice = select_device(environ={})
    assert choice.kind in ("cpu", "cuda", "mps")
    import torch

    if not torch.cuda.is_available():
        assert (choice.kind, choice.dtype) in {("cpu", "float32"), ("mps", "float32")}


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


@pytest.fixture
def fresh_cache():
    clear_cache()
    yield
    clear_cache()
    set_cache_size(4)


def test_one_load_per_model_even_under_concurrent_first_requests(tiny_bert, fresh_cache, monkeypatch):
    real = space_model.load_pipeline
    started = threading.Event()

    def slow_load(model_id, device):
        started.set()
        return real(model_id, device)

    monkeypatch.setattr(space_model, "load_pipeline", slow_load)
    results, errors = [], []

    def worker():
        try:
            results.append(get_pipeline(str(tiny_bert), CPU))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(results) == 8 and all(p is results[0] for p in results)
    assert load_counts() == {str(tiny_bert): 1}
    pipe = results[0]
    assert pipe.nerkit_model_id == str(tiny_bert) and pipe.nerkit_device == CPU
    assert str(pipe.model.dtype) == "torch.float32" and pipe.device.type == "cpu"
    assert get_pipeline(f"  {tiny_bert} ", CPU) is pipe  # ids are stripped
    assert load_counts() == {str(tiny_bert): 1}


def test_unpinned_models_live_in_a_small_lru(tiny_bert, tiny_roberta, rigged_bert, fresh_cache):
    set_cache_size(1)
    pinned = get_pipeline(str(tiny_bert), CPU, pinned=True)
    get_pipeline(str(tiny_roberta), CPU, pinned=False)
    get_pipeline(str(rigged_bert), CPU, pinned=False)  # evicts tiny_roberta
    assert get_pipeline(str(tiny_bert), CPU) is pinned
    get_pipeline(str(tiny_roberta), CPU, pinned=False)
    assert load_counts() == {str(tiny_bert): 1, str(tiny_roberta): 2, str(rigged_bert): 1}
    # evicted models keep no per-model lock behind them
    assert {key[0] for key in space_model._key_locks} == {str(tiny_bert), str(tiny_roberta)}


def test_a_failed_load_leaves_no_lock_behind(tmp_path, fresh_cache):
    """Typed ids that fail (junk, typos) must not pile up state in a long-running public Space."""
    for n in range(3):
        with pytest.raises(ModelLoadError):
            get_pipeline(str(tmp_path / f"missing-{n}"), CPU, pinned=False)
    assert space_model._key_locks == {}


def test_refuses_a_model_that_is_not_a_token_classifier(tmp_path, fresh_cache):
    from transformers import BertConfig, BertModel

    from tiny_models import build_wordpiece_tokenizer

    build_wordpiece_tokenizer(tmp_path).save_pretrained(tmp_path)
    BertModel(BertConfig(vocab_size=300, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32)).save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match=r"not a token-classification model: .*\['BertModel'\].*ForTokenClassification"):
        get_pipeline(str(tmp_path), CPU)
    assert load_counts() == {}


def test_refuses_remote_code_and_non_model_folders(tmp_path, fresh_cache):
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "totally-custom-ner",
        "architectures": ["CustomForTokenClassification"],
        "auto_map": {"AutoConfig": "modeling_custom.CustomConfig"},
    }))
    with pytest.raises(ModelLoadError, match="custom code") as info:
        get_pipeline(str(tmp_path), CPU)
    assert "trust_remote_code=False" in str(info.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match="not a model folder \\(no config.json"):
        get_pipeline(str(empty), CPU)
    with pytest.raises(ModelLoadError, match="no model given"):
        get_pipeline("  ", CPU)
    with pytest.raises(ModelLoadError, match="is not a model id"):
        get_pipeline("a\nb", CPU)


def test_max_length_comes_from_the_position_embeddings(tiny_roberta, tmp_path, fresh_cache):
    import shutil

    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(tiny_roberta)
    assert position_limit(config) == 128  # 130 positions, padding index 1
    copy = tmp_path / "roberta-no-limit"
    shutil.copytree(tiny_roberta, copy)
    tok_config = json.loads((copy / "tokenizer_config.json").read_text())
    tok_config["model_max_length"] = 10**30
    (copy / "tokenizer_config.json").write_text(json.dumps(tok_config))
    pipe = get_pipeline(str(copy), CPU)
    assert pipe.tokenizer.model_max_length == 128
