"""The card's ONNX section: the int8 F1 beside the torch figure, only when `--backend` results exist."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

from toolkit.card import build_card
from toolkit.card.context import build_context
from toolkit.card.sections.backends import backends
from nercore.runfolder import EVAL_RESULTS, EvalResults, for_backend

RUN_FIXTURE = Path(__file__).resolve().parent / "data" / "run_fixture"
FIXTURE = RUN_FIXTURE / EVAL_RESULTS


def _run_with(tmp_path, **f1_shift) -> Path:
    """A copy of the run fixture with `eval_results.<backend>.json` files, their F1 moved by `f1_shift`."""
    run = Path(shutil.copytree(RUN_FIXTURE, tmp_path / "run"))
    for backend, shift in f1_shift.items():
        data = json.loads(FIXTURE.read_text(encoding="utf-8"))
        data["backend"] = backend
        data["overall"]["f1"] += shift
        (run / for_backend(EVAL_RESULTS, backend)).write_text(json.dumps(data), encoding="utf-8")
    return run


def _ctx(**backend_results):
    warnings: list[str] = []
    return SimpleNamespace(results=EvalResults.from_json(FIXTURE), backend_results=backend_results,
                           warn=warnings.append, warnings=warnings)


def test_int8_f1_is_shown_beside_torch():
    torch = EvalResults.from_json(FIXTURE)
    int8 = dataclasses.replace(torch, backend="onnx-int8", overall=dataclasses.replace(torch.overall, f1=torch.overall.f1 - 0.002))
    text = backends(_ctx(**{"onnx-int8": int8}))
    assert "PyTorch" in text and "onnx/model_quantized.onnx" in text
    # percentages, like every other table of the card (issue 27)
    assert f"| {100 * torch.overall.f1:.2f} |" in text and f"| {100 * int8.overall.f1:.2f} |" in text and "| -0.20 |" in text
    assert f"{torch.overall.f1:.4f}" not in text


def test_left_out_without_backend_results_or_on_another_split():
    assert backends(_ctx()) is None
    torch = EvalResults.from_json(FIXTURE)
    ctx = _ctx(**{"onnx-int8": dataclasses.replace(torch, split="validation", backend="onnx-int8")})
    assert backends(ctx) is None and "validation" in ctx.warnings[0]


def test_backend_results_have_their_own_file_and_field():
    assert for_backend(EVAL_RESULTS, "onnx-int8") == "eval_results.onnx-int8.json"
    assert for_backend("predictions_test.conll", "onnx") == "predictions_test.onnx.conll"
    assert for_backend(EVAL_RESULTS, "torch") == EVAL_RESULTS
    payload = EvalResults.from_json(FIXTURE).to_json() | {"backend": "onnx-int8"}
    again = EvalResults.from_json(payload)
    assert again.backend == "onnx-int8" and again.to_json()["backend"] == "onnx-int8"
    assert EvalResults.from_json(FIXTURE).backend is None and "backend" not in EvalResults.from_json(FIXTURE).to_json()


def test_the_card_reads_backend_results_from_the_run_folder(tmp_path):
    run = _run_with(tmp_path, **{"onnx-int8": -0.002})
    ctx = build_context(run)
    assert list(ctx.backend_results) == ["onnx-int8"] and ctx.backend_results["onnx-int8"].backend == "onnx-int8"
    text = str(build_card(run).card)
    assert "ONNX Runtime int8" in text and "`onnx/model_quantized.onnx`" in text and "| -0.20 |" in text
    assert "ONNX Runtime fp32" not in text  # no eval_results.onnx.json


def test_the_card_has_no_onnx_section_without_backend_results(tmp_path):
    run = _run_with(tmp_path)
    assert build_context(run).backend_results == {}
    assert "ONNX Runtime" not in str(build_card(run).card)
