"""The card's backend section: the F1 of the exported backends (the ONNX files) beside the torch figure.

The numbers come from `eval_results.<backend>.json` (`nerkit evaluate --backend onnx-int8`, after
`nerkit export`), read into `ctx.backend_results`; without such a file the section is left out.
Each row's label and the files' wording come from the backend table (`nercore.backends.table`).
"""

from __future__ import annotations

from nercore.backends import table as backend_table
from nercore.runfolder import EvalResults
from toolkit.card.context import CardContext
from toolkit.card.fmt import count, md_table, pct


def backends(ctx: CardContext) -> str | None:
    """A table of micro P/R/F1 per backend evaluated on the card's split, torch first."""
    found: dict[str, EvalResults] = dict(ctx.backend_results)
    if not found:
        return None
    torch = ctx.results
    rows = [[backend_table.backend(backend_table.TORCH).card_name, *_cells(torch), "–"]]
    shown = []
    for backend, results in found.items():
        if results.split != torch.split or results.num_sentences != torch.num_sentences:
            ctx.warn(f"backend section: the {backend} results are on {results.split} ({results.num_sentences} "
                     f"sentences), not {torch.split} ({torch.num_sentences}); left out. Re-run "
                     f"`nerkit evaluate --backend {backend}` on the same split.")
            continue
        row = backend_table.TABLE.get(backend)
        shown.append(row)
        delta = results.overall.f1 - torch.overall.f1
        rows.append([row.card_name if row else backend, *_cells(results), f"{100 * delta:+.2f}"])
    if len(rows) == 1:
        return None
    table = md_table(["backend", "precision", "recall", "F1", "Δ F1"], rows, numeric={1, 2, 3, 4})
    return (
        f"The same evaluation ({torch.split} split, {count(torch.num_sentences)} sentences, micro averages, in %) run on "
        f"{_files(shown)}, which the demo Space uses on CPU:\n\n" + table
    )


def _files(rows) -> str:
    """"the ONNX files written by `nerkit export`", from the rows shown."""
    known = [row for row in rows if row is not None]
    families = " and ".join(dict.fromkeys(row.family for row in known)) or "exported"
    steps = " and ".join(f"`nerkit {step}`" for step in dict.fromkeys(row.made_by for row in known if row.made_by))
    return f"the {families} files" + (f" written by {steps}" if steps else "")


def _cells(results: EvalResults) -> list[str]:
    overall = results.overall
    return [pct(overall.precision), pct(overall.recall), pct(overall.f1)]
