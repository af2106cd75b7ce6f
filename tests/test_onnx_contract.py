"""Contract on ONNX Runtime: the Space's output with the fp32 ONNX backend equals transformers' pipeline.

The same 23 texts and two tokenizer families as tests/test_space_contract.py: for every strategy the
ONNX-backed `predict_all` gives the same entities (labels, words, offsets) as the torch pipeline, with
scores within 1e-4. Plus the rules of `nercore.backends.attach_backend` (which backend "auto" picks, the
fallbacks) and `nerkit evaluate --backend`'s model loading.
"""

from __future__ import annotations

import shutil
import sys

import pytest
from conftest import require  # optional dependencies: a failure under CI, a skip elsewhere

require("onnxruntime")

from nercore.backends import ONNX_FP32, ONNX_INT8, BackendError, attach_backend, session_options  # noqa: E402
from nercore.engine import predict_all, predict_all_batch  # noqa: E402
import nercore.strategies  # noqa: E402
from nercore.strategies import STRATEGY_NAMES  # noqa: E402
from test_space_contract import TEXTS, _call, _long_texts, _pipeline  # noqa: E402

SCORE_TOLERANCE = 1e-4
# strategies transformers' pipeline knows (nerkit's own `word` view is compared with the torch engine only)
PIPELINE_NAMES = getattr(nercore.strategies, "PIPELINE_STRATEGY_NAMES", STRATEGY_NAMES)


def _exported(source, folder, quantize=True):
    from toolkit.export import export_onnx

    shutil.copytree(source, folder)
    export_onnx(folder, quantize=quantize)
    return folder


@pytest.fixture(scope="module", params=["tiny_bert", "tiny_roberta"])
def backends(request, tmp_path_factory):
    folder = _exported(request.getfixturevalue(request.param), tmp_path_factory.mktemp("onnx") / "model")
    torch_pipe = _pipeline(folder)
    onnx_pipe = _pipeline(folder)
    assert attach_backend(onnx_pipe, str(folder), "onnx", strict=True) == "onnx"
    return request.param, folder, torch_pipe, onnx_pipe


def _same(got, expected, where):
    """Same entities as `expected` (keys, labels, words, offsets); scores within SCORE_TOLERANCE."""
    assert [sorted(e) for e in got] == [sorted(e) for e in expected], f"{where}: {got}\n!=\n{expected}"
    for i, (g, e) in enumerate(zip(got, expected)):
        differences = {k: (g[k], e[k]) for k in e if k != "score" and g[k] != e[k]}
        assert not differences, f"{where}[{i}]: {differences}"
        assert abs(float(g["score"]) - float(e["score"])) <= SCORE_TOLERANCE, f"{where}[{i}].score {g} vs {e}"


def test_onnx_backend_gives_the_pipeline_entities_for_every_strategy(backends):
    name, folder, torch_pipe, onnx_pipe = backends
    from nercore.engine import default_stride

    stride = default_stride(torch_pipe.tokenizer)
    references = {}
    for s in PIPELINE_NAMES[1:]:
        references[s] = _pipeline(folder, aggregation_strategy=s, stride=stride)
    references["none"] = torch_pipe
    long_texts = _long_texts(torch_pipe.tokenizer)
    assert len(TEXTS) == 23 and len(long_texts) >= 2
    for text in TEXTS:
        got = predict_all(onnx_pipe, text)
        on_torch = predict_all(torch_pipe, text)
        for s in STRATEGY_NAMES:
            _same(got[s], on_torch[s], f"{name} onnx vs torch engine {s} {text[:30]!r}")
            if s in references and not (s == "none" and text in long_texts):  # the pipeline truncates "none" (see the torch contract)
                _same(got[s], _call(references[s], text), f"{name} onnx vs pipeline {s} {text[:30]!r}")


def test_the_plain_pipeline_call_runs_on_onnx(backends):
    name, _folder, torch_pipe, onnx_pipe = backends
    for text in TEXTS[:6]:
        _same(_call(onnx_pipe, text), _call(torch_pipe, text), f"{name} pipeline() {text[:30]!r}")


def test_batched_texts_of_different_lengths_match(backends):
    name, _folder, torch_pipe, onnx_pipe = backends
    texts = [t for t in TEXTS if t.strip()][:12]
    got = predict_all_batch(onnx_pipe, texts, batch_size=5)
    expected = predict_all_batch(torch_pipe, texts, batch_size=5)
    for text, g, e in zip(texts, got, expected):
        for s in STRATEGY_NAMES:
            _same(g[s], e[s], f"{name} batch {s} {text[:30]!r}")


# ------------------------------------------------------------------------------------------------
# attach_backend: what "auto" picks, and the fallbacks
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bert_with_onnx(tiny_bert, tmp_path_factory):
    return _exported(tiny_bert, tmp_path_factory.mktemp("onnx-auto") / "model")


def test_auto_prefers_int8_then_fp32_then_torch(bert_with_onnx, tmp_path):
    pipe = _pipeline(bert_with_onnx)
    assert attach_backend(pipe, str(bert_with_onnx), "auto") == "onnx-int8"
    assert pipe.nerkit_backend == "onnx-int8" and pipe.model.path.name == "model_quantized.onnx"
    assert pipe.model.config.id2label == _pipeline(bert_with_onnx).model.config.id2label
    assert pipe("John Smith visited Paris")  # the pipeline runs on it

    fp32_only = tmp_path / "fp32"
    shutil.copytree(bert_with_onnx, fp32_only)
    (fp32_only / ONNX_INT8).unlink()
    assert attach_backend(_pipeline(fp32_only), str(fp32_only), "auto") == "onnx"
    (fp32_only / ONNX_FP32).unlink()
    torch_pipe = _pipeline(fp32_only)
    model = torch_pipe.model
    assert attach_backend(torch_pipe, str(fp32_only), "auto") == "torch" and torch_pipe.model is model


def test_torch_preference_and_missing_runtime_keep_torch(bert_with_onnx, monkeypatch):
    pipe = _pipeline(bert_with_onnx)
    assert attach_backend(pipe, str(bert_with_onnx), "torch") == "torch"
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    assert attach_backend(pipe, str(bert_with_onnx), "auto") == "torch"
    assert attach_backend(pipe, str(bert_with_onnx), "onnx") == "torch"  # not strict: falls back, warns
    with pytest.raises(BackendError, match="pip install"):
        attach_backend(pipe, str(bert_with_onnx), "onnx-int8", strict=True)


def test_explicit_onnx_without_files_says_how_to_export(tiny_bert):
    with pytest.raises(BackendError, match="export an ONNX model first") as raised:  # neutral: the Space shows it
        attach_backend(_pipeline(tiny_bert), str(tiny_bert), "onnx", strict=True)
    assert raised.value.step == "export" and "nerkit" not in str(raised.value)
    with pytest.raises(BackendError, match="expected one of auto, torch, onnx, onnx-int8"):
        attach_backend(_pipeline(tiny_bert), str(tiny_bert), "tensorrt")


def test_auto_keeps_torch_off_the_cpu(bert_with_onnx):
    class OnGpu:
        device = type("Device", (), {"type": "cuda"})()
        model = None

    assert attach_backend(OnGpu(), str(bert_with_onnx), "auto") == "torch"


def test_session_never_spins_and_takes_the_thread_count():
    options = session_options(threads=3)
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.intra_op_num_threads == 3


# ------------------------------------------------------------------------------------------------
# nerkit evaluate --backend: the model it loads
# ------------------------------------------------------------------------------------------------


def test_evaluate_loads_the_onnx_files_and_predicts_the_same_words(bert_with_onnx):
    from toolkit.alignment import load_tokenizer
    from toolkit.evaluate.predict import predict_words
    from toolkit.model_loading import load_model

    sentences = [t.split() for t in TEXTS if t.split()][:10]
    tokenizer = load_tokenizer(str(bert_with_onnx))
    torch_words, _ = predict_words(load_model(str(bert_with_onnx), device="cpu"), tokenizer, sentences, progress=False)
    fp32 = load_model(str(bert_with_onnx), backend="onnx")
    assert fp32.backend == "onnx"
    assert predict_words(fp32, tokenizer, sentences, batch_size=4, progress=False)[0] == torch_words
    assert load_model(str(bert_with_onnx), backend="onnx-int8").path.name == "model_quantized.onnx"


def test_evaluate_backend_errors_are_user_errors(tiny_bert):
    from nercore.errors import UserError
    from toolkit.model_loading import load_model

    with pytest.raises(UserError, match="nerkit export"):
        load_model(str(tiny_bert), backend="onnx-int8")
    with pytest.raises(UserError, match="unknown backend"):
        load_model(str(tiny_bert), backend="auto")
