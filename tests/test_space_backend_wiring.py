"""NER_BACKEND from the environment to the answer: config validation, the load policy, and what
`/compare` reports (which backend ran, the model's labels), on tiny models exported to ONNX."""

from __future__ import annotations

import gc
import logging
import shutil

import pytest
from conftest import require  # optional dependencies: a failure under CI, a skip elsewhere

from space.config import ConfigError, SpaceConfig
from space.model import LoadPolicy, clear_cache, get_pipeline
from space.service import Service
from tiny_models import CONLL_LABELS

TEXT = "John Smith works for Acme Corp in Paris."


@pytest.fixture()
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


# --- config ------------------------------------------------------------------------------------

def test_backend_defaults_to_auto_and_is_normalised(tmp_path):
    assert SpaceConfig.from_env({}, repo_root=tmp_path).backend == "auto"
    assert SpaceConfig.from_env({"NER_BACKEND": ""}, repo_root=tmp_path).backend == "auto"
    assert SpaceConfig.from_env({"NER_BACKEND": " ONNX-Int8 "}, repo_root=tmp_path).backend == "onnx-int8"
    assert SpaceConfig.from_env({"NER_BACKEND": "torch"}, repo_root=tmp_path).backend == "torch"


@pytest.mark.parametrize("value", ["tensorrt", "int8", "onnx_int8"])
def test_a_bad_backend_is_a_config_error_naming_the_variable(value, tmp_path):
    with pytest.raises(ConfigError, match=rf"NER_BACKEND='{value}': expected one of auto, torch, onnx, onnx-int8"):
        SpaceConfig.from_env({"NER_BACKEND": value}, repo_root=tmp_path)
    with pytest.raises(ConfigError, match="NER_BACKEND"):
        SpaceConfig(backend=value)


# --- a model with ONNX files -------------------------------------------------------------------

@pytest.fixture(scope="module")
def exported(tiny_bert, tmp_path_factory):
    """(folder with onnx/model.onnx + onnx/model_quantized.onnx, folder with only onnx/model.onnx)."""
    require("onnxruntime")
    require("onnx")
    from nercore.backends import ONNX_INT8
    from toolkit.export import export_onnx

    both = tmp_path_factory.mktemp("wiring") / "both"
    shutil.copytree(tiny_bert, both)
    export_onnx(both, quantize=True)
    fp32_only = both.parent / "fp32-only"
    shutil.copytree(both, fp32_only)
    (fp32_only / ONNX_INT8).unlink()
    return both, fp32_only


def _compare(folder, backend: str) -> dict:
    service = Service(SpaceConfig(default_model=str(folder), device="cpu", backend=backend))
    return service, service.compare(TEXT)


@pytest.mark.parametrize("backend, which, expected", [
    ("auto", 0, "onnx-int8"),
    ("auto", 1, "onnx"),
    ("onnx", 0, "onnx"),
    ("onnx-int8", 0, "onnx-int8"),
    ("torch", 0, "torch"),
])
def test_compare_says_which_backend_ran_and_lists_the_labels(exported, fresh_cache, backend, which, expected):
    service, answer = _compare(exported[which], backend)
    assert answer["info"]["backend"] == expected
    assert answer["info"]["labels"] == CONLL_LABELS
    assert set(answer) == {"model", "entities", "disagreements", "message", "scores", "info"}
    assert "(loaded) · device cpu" in service.status_text() and f"backend {expected}" in service.status_text()
    assert service.run(TEXT)["labels"] == CONLL_LABELS  # what the UI's legend reads


def test_torch_and_onnx_fp32_give_the_same_spans(exported, fresh_cache):
    spans = {}
    for backend in ("torch", "onnx"):
        _service, answer = _compare(exported[0], backend)
        spans[backend] = {name: [(e["start"], e["end"], e.get("entity_group", e.get("entity"))) for e in found]
                          for name, found in answer["entities"].items()}
    assert spans["torch"] == spans["onnx"]


def test_one_cached_pipeline_per_backend_asked_for(exported, fresh_cache):
    from nercore.device import default_device

    cpu = default_device("cpu", False)
    onnx = get_pipeline(str(exported[0]), cpu, policy=LoadPolicy(backend="auto"))
    torch_pipe = get_pipeline(str(exported[0]), cpu, policy=LoadPolicy(backend="torch"))
    assert (onnx.nerkit_backend, torch_pipe.nerkit_backend) == ("onnx-int8", "torch")
    assert get_pipeline(str(exported[0]), cpu, policy=LoadPolicy(backend="auto")) is onnx


def _torch_classifiers() -> int:
    import torch

    gc.collect()
    return sum(1 for o in gc.get_objects()
               if type(o).__name__.endswith("ForTokenClassification") and isinstance(o, torch.nn.Module))


def test_an_onnx_backend_keeps_no_torch_weights(exported, fresh_cache):
    before = _torch_classifiers()
    service, answer = _compare(exported[0], "onnx-int8")
    assert answer["info"]["backend"] == "onnx-int8"
    assert _torch_classifiers() == before  # the torch model was dropped once ONNX Runtime took over
    _service, answer = _compare(exported[0], "torch")
    assert answer["info"]["backend"] == "torch" and _torch_classifiers() == before + 1  # the count sees one


def test_an_onnx_choice_the_model_cannot_meet_falls_back_to_torch(tiny_bert, fresh_cache, caplog):
    require("onnxruntime")
    with caplog.at_level(logging.WARNING, logger="nercore.backends"):
        _service, answer = _compare(tiny_bert, "onnx-int8")  # tiny_bert has no onnx/ folder
    assert answer["info"]["backend"] == "torch" and answer["info"]["labels"] == CONLL_LABELS
    assert "using torch" in caplog.text
    _service, answer = _compare(tiny_bert, "auto")  # auto falls back quietly
    assert answer["info"]["backend"] == "torch"
