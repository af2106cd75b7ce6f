"""Confidence: what an entity's score means for this model, and what a threshold buys.

From the recommended strategy's `confidence` block (`nerkit evaluate --strategies`, see
`toolkit.evaluate.confidence`): the expected calibration error, the precision / recall / F1 of the
entities kept at each score threshold, and one sentence of advice. Older evaluations have no block:
the card then leaves the section out and says so.
"""

from __future__ import annotations

from toolkit.card.context import CardContext
from nercore.runfolder import RELIABILITY_CHART
from nercore.strategies import get_strategy, names
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
    ece = _ece(report.ece)
    per_type = ", ".join(f"{kind} {value:.3f}" for kind, value in sorted(report.per_type_ece.items()) if value is not None)
    text = (
        f"Scores of the `{ctx.strategy}` strategy's {count(report.entities)} entities on the {ctx.strategies_split} "
        f"split, end to end. Expected calibration error **{ece}** ({report.bins} score bins; 0 would mean that "
        f"entities scored 0.9 are right 90% of the time){f'; per type: {per_type}' if per_type else ''}. "
        "Keeping only the entities at or above a score trades recall for precision:"
    )
    parts = [text, table, _advice(report.thresholds), _calibration(ctx)]
    if ctx.reliability_png is not None:
        parts.append(f"![Reliability of the {ctx.strategy} strategy's entity scores]({RELIABILITY_CHART})")
    return "\n\n".join(part for part in parts if part)


def _calibration(ctx: CardContext) -> str | None:
    """What `nerkit calibrate` did, from calibration.json: T, and ECE and F1 before and after."""
    record = ctx.calibration
    if record is None:
        return None
    if record.temperature == 1.0:
        return (f"`nerkit calibrate` found no temperature that made the `{record.strategy}` scores more reliable on "
                f"the {record.fit_split} split without lowering its F1, so the scores are the model's own.")
    measured = {name for reading in record.readings.values() for name in reading["before"]}
    combining = [name for name in names() if name in measured and get_strategy(name).combines_scores]  # T moves them
    text = (f"The scores are **temperature-scaled**: T = {record.temperature:.3g}, fitted on the {record.fit_split} "
            f"split to the `{record.strategy}` strategy's entity scores and baked into the classifier (its weight and "
            "bias divided by T), so any `pipeline(...)` gets them. No sub-token's predicted label changed "
            f"({count((record.argmax_check or {}).get('sub_tokens', 0))} checked). Entities move only where scores "
            f"decide: {_combining_clause(combining)}where a text spans several overlapping windows the "
            "pipeline keeps the higher-scored of two overlapping entities.")
    shown = ctx.strategy if all(ctx.strategy in r["before"] for r in record.readings.values()) else record.strategy
    rows = []
    for split, reading in record.readings.items():
        before, after = reading["before"], reading["after"]
        moved = [f"{name} {pct(before[name]['f1'])} → {pct(after[name]['f1'])}"
                 for name in dict.fromkeys([shown, *combining]) if name in before and name in after]
        changed = ", ".join(f"{name} {n}" for name, n in (reading.get("changed_sentences") or {}).items() if n)
        rows.append([split, count(reading["num_sentences"]), _ece(before[shown]["ece"]), _ece(after[shown]["ece"]),
                     "; ".join(moved), changed or "none"])
    table = md_table(["Split", "Sentences", f"ECE before (`{shown}`)", "ECE after", "F1 before → after",
                      "Sentences whose entities changed"], rows, numeric={1, 2, 3})
    return f"{text}\n\n{table}"


def _combining_clause(names: list[str]) -> str:
    """"`average` and `max` combine them, and " for the measured rows whose entities compare scores."""
    if not names:
        return ""
    quoted = [f"`{name}`" for name in names]
    listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"
    return f"{listed} combine{'s' if len(names) == 1 else ''} them, and "


def _ece(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _advice(thresholds: list[dict]) -> str:
    kept = [t for t in thresholds if t["kept"]]
    if not kept:
        return "No entity scored 0.5 or more, so no threshold can be advised."
    reaching = [t for t in kept if t["precision"] >= TARGET_PRECISION]
    if reaching:
        t = reaching[0]
        text = (f"To favour precision, keep entities scored ≥ {t['min_score']:g}: precision {pct(t['precision'])}, "
                f"recall {pct(t['recall'])} (`nerkit predict --min-score {t['min_score']:g}`, or the Space's "
                "`min_score`).")
    else:
        best = max(kept, key=lambda t: t["precision"])
        text = (f"No threshold reaches precision {pct(TARGET_PRECISION)}; the highest is {pct(best['precision'])} at "
                f"≥ {best['min_score']:g} (recall {pct(best['recall'])}).")
    top = max(kept, key=lambda t: (t["f1"], -t["min_score"]))
    if top is not kept[0] and top["f1"] > kept[0]["f1"]:
        text += (f" The best F1 is at ≥ {top['min_score']:g}: {pct(top['f1'])} (precision {pct(top['precision'])}, "
                 f"recall {pct(top['recall'])}), against {pct(kept[0]['f1'])} at ≥ {kept[0]['min_score']:g}.")
    return text
