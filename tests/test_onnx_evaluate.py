"""`nerkit evaluate --backend onnx-int8`: the int8 model's end-to-end F1, in its own result files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import require  # optional dependencies: a failure under CI, a skip elsewhere

require("onnxruntime")

TINY_CONLL = Path(__file__).resolve().parent / "data" / "tiny_conll"


def test_evaluate_on_int8_writes_beside_torch_results(tiny_bert, tmp_path):
    from toolkit.cli import main
    from toolkit.export import export_onnx

    run = tmp_path / "run"
    shutil.copytree(tiny_bert, run)
    export_onnx(run)
    common = ["evaluate", "--model", str(run), "--dataset", str(TINY_CONLL), "--split", "test", "--bootstrap", "0"]
    assert main(common) == 0
    torch_results = (run / "eval_results.json").read_text()
    assert main([*common, "--backend", "onnx-int8"]) == 0
    assert (run / "eval_results.json").read_text() == torch_results  # not clobbered
    int8 = json.loads((run / "eval_results.onnx-int8.json").read_text())
    assert int8["backend"] == "onnx-int8" and "backend" not in json.loads(torch_results)
    assert (run / "predictions_test.onnx-int8.conll").is_file() and (run / "errors_test.onnx-int8.txt").is_file()
    # int8 predicts what torch predicts, tag for tag (nearly): an all-`O` int8 model cannot pass
    torch_tags = [line.split()[2] for line in (run / "predictions_test.conll").read_text().splitlines() if line]
    int8_tags = [line.split()[2] for line in (run / "predictions_test.onnx-int8.conll").read_text().splitlines() if line]
    assert len(torch_tags) == len(int8_tags) and sum(t != "O" for t in torch_tags) > 10
    assert sum(a == b for a, b in zip(torch_tags, int8_tags)) >= 0.9 * len(torch_tags)
