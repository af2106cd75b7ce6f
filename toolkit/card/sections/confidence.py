"""Confidence: what an entity's score means for this model, and what a threshold buys.

From the recommended strategy's `confidence` block (`nerkit evaluate --strategies`, see
`toolkit.evaluate.confidence`): the expected calibration error, the precision / recall / F1 of the
entities kept at each score threshold, and one sentence of advice. Older evaluations have no block:
the card then leaves the section out and says so.
"""

from __future__ import annotations

from toolkit.card.context import CardContext
from toolkit.card.fmt import count, md_table, pct

TARGET_PRECISION = 0.95  # the advice: the lowest threshold whose precision reaches this


def confidence(ctx: CardContext) -> str | None:
    block = ctx.results.strategies
    scores = block.results.get(ctx.strategy) if block is not None and ctx.strategy else None
    report = scores.confidence if scores is not None else None
    if report is None:
        if block is not None:
            ctx.warn("eval_results.json has no confidence figures for the recommended strategy: the card leaves out "
                     "'Confidence' (re-run `nerkit evaluate --strategies`).")
        return None
    rows = [[f"≥ {t['min_score']:g}", pct(t["precision"]), pct(t["recall"]), pct(t["f1"]), count(t["kept"])]
            for t in report.thresholds]
    table = md_table(["Score", "Precision", "Recall", "F1", "Entities kept"], rows, numeric={1, 2, 3, 4})
    ece = "—" if report.ece is None else f"{report.ece:.3f}"
    per_type = ", ".join(f"{kind} {value:.3f}" for kind, value in sorted(report.per_type_ece.items()) if value is not None)
    text = (
        f"Scores of the `{ctx.strategy}` strategy's {count(report.entities)} entities on the {block.split or ctx.split} "
        f"split, end to end. Expected calibration error **{ece}** ({report.bins} score bins; 0 would mean that "
        f"entities scored 0.9 are right 90% of the time){f'; per type: {per_type}' if per_type else ''}. "
        "Keeping only the entities at or above a score trades recall for precision:"
    )
    return f"{text}\n\n{table}\n\n{_advice(report.thresholds)}"


def _advice(thresholds: list[dict]) -> str:
    reaching = [t for t in thresholds if t["kept"] and t["precision"] >= TARGET_PRECISION]
    if reaching:
        t = reaching[0]
        return (f"To favour precision, keep entities scored ≥ {t['min_score']:g}: precision {pct(t['precision'])}, "
                f"recall {pct(t['recall'])} (`nerkit predict --min-score {t['min_score']:g}`, or the Space's "
                "`min_score`).")
    kept = [t for t in thresholds if t["kept"]]
    if not kept:
        return "No entity scored 0.5 or more, so no threshold can be advised."
    best = max(kept, key=lambda t: t["precision"])
    return (f"No threshold reaches precision {pct(TARGET_PRECISION)}; the highest is {pct(best['precision'])} at "
            f"≥ {best['min_score']:g} (recall {pct(best['recall'])}).")
