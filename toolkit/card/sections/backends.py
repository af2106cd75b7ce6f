"""The card's ONNX section: the F1 of the exported ONNX model(s) beside the torch figure.

The numbers come from `eval_results.<backend>.json` (`nerkit evaluate --backend onnx-int8`, after
`nerkit export`), read into `ctx.backend_results`; without such a file the section is left out.
"""

from __future__ import annotations

from toolkit.card.context import CardContext
from toolkit.card.fmt import count, md_table, pct
from nercore.runfolder import ONNX_FP32, ONNX_INT8, EvalResults

BACKEND_NAMES = {
    "onnx": f"ONNX Runtime fp32 (`{ONNX_FP32}`)",
    "onnx-int8": f"ONNX Runtime int8, dynamic quantization (`{ONNX_INT8}`)",
}


def backends(ctx: CardContext) -> str | None:
    """A table of micro P/R/F1 per backend evaluated on the card's split, torch first."""
    found: dict[str, EvalResults] = dict(ctx.backend_results)
    if not found:
        return None
    torch = ctx.results
    rows = [["PyTorch (`model.safetensors`)", *_cells(torch), "–"]]
    for backend, results in found.items():
        if results.split != torch.split or results.num_sentences != torch.num_sentences:
            ctx.warn(f"ONNX section: the {backend} results are on {results.split} ({results.num_sentences} "
                     f"sentences), not {torch.split} ({torch.num_sentences}); left out. Re-run "
                     f"`nerkit evaluate --backend {backend}` on the same split.")
            continue
        delta = results.overall.f1 - torch.overall.f1
        rows.append([BACKEND_NAMES.get(backend, backend), *_cells(results), f"{100 * delta:+.2f}"])
    if len(rows) == 1:
        return None
    table = md_table(["backend", "precision", "recall", "F1", "Δ F1"], rows, numeric={1, 2, 3, 4})
    return (
        f"The same evaluation ({torch.split} split, {count(torch.num_sentences)} sentences, micro averages, in %) run on "
        "the ONNX files written by `nerkit export`, which the demo Space uses on CPU:\n\n" + table
    )


def _cells(results: EvalResults) -> list[str]:
    overall = results.overall
    return [pct(overall.precision), pct(overall.recall), pct(overall.f1)]
