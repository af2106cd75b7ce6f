"""`nerkit export`: onnx/model.onnx + onnx/model_quantized.onnx, checked against torch, never half-written."""

from __future__ import annotations

import argparse
import shutil
import sys

import pytest
from conftest import require  # optional dependencies: a failure under CI, a skip elsewhere

require("onnxruntime")
require("onnx")

from nercore.backends import ONNX_FP32, ONNX_INT8  # noqa: E402
from toolkit import export as export_module  # noqa: E402
from nercore.errors import UserError  # noqa: E402


@pytest.fixture
def run_dir(tiny_bert, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(tiny_bert, folder)
    return folder


def test_export_writes_both_files_with_dynamic_axes(run_dir):
    import onnx

    check = export_module.export_onnx(run_dir)
    assert check.fp32_max_abs_diff <= export_module.FP32_TOLERANCE
    assert check.int8_argmax_agreement is not None and check.int8_argmax_agreement > 0.9
    graph = onnx.load(str(run_dir / ONNX_FP32)).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask", "token_type_ids"]
    for value in [*graph.input, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param == "batch" and dims[1].dim_param == "sequence", value.name
    quantized = onnx.load(str(run_dir / ONNX_INT8)).graph
    assert any(node.op_type in ("MatMulInteger", "DynamicQuantizeMatMul") for node in quantized.node)
    assert not [p for p in run_dir.rglob("*") if p.name.startswith(".onnx-export") or p.suffix == ".tmp"]


def test_byte_level_bpe_model_exports_too(tiny_roberta, tmp_path):
    folder = tmp_path / "roberta"
    shutil.copytree(tiny_roberta, folder)
    check = export_module.export_onnx(folder, quantize=False)
    assert check.fp32_max_abs_diff <= export_module.FP32_TOLERANCE
    assert (folder / ONNX_FP32).is_file() and not (folder / ONNX_INT8).exists()


def test_logits_beyond_the_tolerance_write_nothing(run_dir, monkeypatch):
    (run_dir / "onnx").mkdir()
    (run_dir / ONNX_FP32).write_bytes(b"previous export")
    monkeypatch.setattr(export_module, "FP32_TOLERANCE", -1.0)  # any difference at all is too much
    with pytest.raises(UserError, match="nothing was written"):
        export_module.export_onnx(run_dir)
    assert (run_dir / ONNX_FP32).read_bytes() == b"previous export"
    assert not (run_dir / ONNX_INT8).exists()
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".")) == []


def test_missing_onnxruntime_is_a_user_error(run_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with pytest.raises(UserError, match=r"onnxruntime.*pip install"):
        export_module.export_onnx(run_dir)
    assert not (run_dir / "onnx").exists()


def test_a_folder_without_a_model_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no config.json"):
        export_module.export_onnx(tmp_path)


def test_the_command_parses_and_exports(run_dir, capsys):
    from toolkit.commands import export as command

    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    args = parser.parse_args(["export", str(run_dir), "--no-quantize"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "max |logit - torch|" in out and ONNX_FP32 in out and ONNX_INT8 not in out


def test_int8_only_keeps_the_folder_small_and_quantizes_the_embeddings(run_dir, capsys):
    """`--int8-only` (the bundled model's layout): fp32 is exported and checked, then dropped."""
    import onnx

    from toolkit.cli import main

    (run_dir / ONNX_FP32).parent.mkdir(exist_ok=True)
    (run_dir / ONNX_FP32).write_bytes(b"an earlier export")  # not written by this export: removed only with --clean
    assert main(["export", str(run_dir), "--int8-only", "--clean"]) == 0
    assert (run_dir / ONNX_INT8).is_file() and not (run_dir / ONNX_FP32).exists()
    out = capsys.readouterr().out
    assert "fp32: max |logit - torch|" in out and f"removed (--clean): {ONNX_FP32}" in out
    ops = {node.op_type for node in onnx.load(str(run_dir / ONNX_INT8)).graph.node}
    assert {"MatMulInteger", "DequantizeLinear"} & ops, ops  # weights and embedding tables in int8
    with pytest.raises(UserError, match="would write nothing"):
        export_module.export_onnx(run_dir, quantize=False, keep_fp32=False)


def _ops(path) -> dict[str, set[str]]:
    import onnx

    ops: dict[str, set[str]] = {}
    for node in onnx.load(str(path)).graph.node:
        ops.setdefault(node.domain or "ai.onnx", set()).add(node.op_type)
    return ops


def test_the_export_fuses_attention_for_onnx_runtime(run_dir):
    """Eager attention exported and fused: no SDPA Where/IsNaN guards, one Attention per layer, int8 QAttention."""
    check = export_module.export_onnx(run_dir)
    assert check.fused.get("Attention") == 2 and check.fused.get("SkipLayerNormalization")  # the tiny BERT has 2 layers
    assert "fused ops: 2 Attention" in check.summary()
    fp32, int8 = _ops(run_dir / ONNX_FP32), _ops(run_dir / ONNX_INT8)
    assert {"Attention", "SkipLayerNormalization", "BiasGelu"} <= fp32["com.microsoft"]
    assert not {"IsNaN", "Softmax"} & fp32["ai.onnx"], fp32["ai.onnx"]
    assert "QAttention" in int8["com.microsoft"]


def test_no_optimize_keeps_standard_onnx_ops(run_dir, capsys):
    from toolkit.cli import main

    assert main(["export", str(run_dir), "--no-optimize"]) == 0
    assert "fused ops: none" in capsys.readouterr().out
    assert set(_ops(run_dir / ONNX_FP32)) == {"ai.onnx"}
    assert set(_ops(run_dir / ONNX_INT8)) <= {"ai.onnx", "com.microsoft"}  # the quantizer's own DynamicQuantize ops
    assert "Attention" not in _ops(run_dir / ONNX_INT8).get("com.microsoft", set())


def test_a_roberta_export_is_fused_and_exact(tiny_roberta, tmp_path):
    folder = tmp_path / "roberta"
    shutil.copytree(tiny_roberta, folder)
    check = export_module.export_onnx(folder)
    assert check.fp32_max_abs_diff <= export_module.FP32_TOLERANCE and check.int8_argmax_agreement > 0.9
    assert check.fused.get("Attention") == 2


def test_export_never_deletes_what_it_did_not_write(run_dir, capsys):
    """docs/cli.md's `nerkit export model --no-quantize --opset 17` on a folder with an int8 export (the
    bundled model) used to delete model_quantized.onnx and leave eval_results.onnx-int8.json describing it."""
    from toolkit.cli import main

    assert main(["export", str(run_dir), "--int8-only"]) == 0
    int8 = (run_dir / ONNX_INT8).read_bytes()
    (run_dir / "eval_results.onnx-int8.json").write_text("{}")
    capsys.readouterr()
    assert main(["export", str(run_dir), "--no-quantize", "--opset", "17"]) == 0
    out = capsys.readouterr().out
    assert (run_dir / ONNX_INT8).read_bytes() == int8 and (run_dir / "eval_results.onnx-int8.json").is_file()
    assert (run_dir / ONNX_FP32).is_file()
    assert "kept from an earlier export" in out and ONNX_INT8 in out and "eval_results.onnx-int8.json" in out
    assert main(["export", str(run_dir), "--no-quantize", "--clean"]) == 0  # asked for: both go
    assert not (run_dir / ONNX_INT8).exists() and not (run_dir / "eval_results.onnx-int8.json").exists()
    assert (run_dir / ONNX_FP32).is_file() and (run_dir / "config.json").is_file()


def test_the_check_covers_batch_invariance(run_dir):
    """Each file, run as nerkit runs it, gives a text the same logits alone and padded among the samples:
    int8 bit for bit (its dynamic quantization scales span the whole pass, so OrtModel runs rows alone)."""
    check = export_module.export_onnx(run_dir)
    assert check.int8_batch_diff == 0.0
    assert check.fp32_batch_diff <= export_module.FP32_TOLERANCE
    assert "alone vs in a batch identical" in check.summary()


def test_a_batch_dependent_file_writes_nothing(run_dir, monkeypatch):
    """int8 run as one padded batch (what OrtModel did before rows_alone): a text's logits depend on its
    neighbours, and the export refuses before writing anything."""
    from nercore import backends

    real = backends.OrtModel.__init__

    def batched(self, *args, **kwargs):
        real(self, *args, **kwargs)
        self.rows_alone = False

    monkeypatch.setattr(backends.OrtModel, "__init__", batched)
    with pytest.raises(UserError, match="depend on the other texts in its pass; nothing was written"):
        export_module.export_onnx(run_dir)
    assert not (run_dir / "onnx").exists() or not any((run_dir / "onnx").iterdir())
