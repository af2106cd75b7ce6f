"""The "Document context" section: the model's F1 with each sentence read inside its document and alone.

Why: a card's headline F1 is measured one way; a visitor pastes a paragraph, a pipeline user may
send one sentence. Both readings are shown, side by side, with the advice that follows from them.
"""

from __future__ import annotations

from toolkit.card.context import CardContext
from toolkit.card.fmt import md_table, pct

READING = {"with": "in its document", "without": "alone"}


def headline_reading(ctx: CardContext) -> str | None:
    """How the headline figure read each sentence, for the summary and the model-index (None: no documents)."""
    block = ctx.results.document_context
    if block is None:
        return None
    if block.headline == "with":
        return f"each sentence read in its document ({block.tokens_per_side} sub-tokens of context per side)"
    return "each sentence read alone"


def _cell(results, type_name: str | None) -> str:
    scores = results.overall if type_name is None else results.per_type.get(type_name)
    if scores is None:
        return "—"
    intervals = results.confidence_intervals
    interval = None
    if intervals is not None:
        interval = intervals.overall.get("f1") if type_name is None else intervals.per_type.get(type_name, {}).get("f1")
    return f"{pct(scores.f1)} ({pct(interval[0])}–{pct(interval[1])})" if interval else pct(scores.f1)


def document_context(ctx: CardContext) -> str | None:
    block = ctx.results.document_context
    if block is None:
        return None
    readings = {block.headline: ctx.results, ("without" if block.headline == "with" else "with"): block.other}
    trained = block.trained
    if trained:
        how = (f"This model was trained with up to {trained['tokens_per_side']} sub-tokens of each sentence's "
               f"document on each side (labels and loss on the sentence's own words only), with context dropout "
               f"{trained.get('dropout', 0):g}: that share of training sentences were served alone.")
    else:
        how = "This model was trained on lone sentences, without their documents."
    level = f" ({ctx.level} CI)" if ctx.intervals else ""
    rows = [["**overall (micro)**", _cell(readings["with"], None), _cell(readings["without"], None)]]
    rows += [[t, _cell(readings["with"], t), _cell(readings["without"], t)] for t in ctx.types]
    table = md_table(["Entity type", f"F1{level}, {READING['with']}", f"F1{level}, {READING['without']}"], rows,
                     numeric={1, 2})
    gain = readings["with"].overall.f1 - readings["without"].overall.f1
    if gain >= 0:
        advice = ("**Pass whole paragraphs or documents, not single sentences**: the model reads names better "
                  f"with their neighbours ({100 * gain:+.2f} F1 here).")
    else:
        advice = ("**Pass one sentence at a time**: this model scores lower when a sentence arrives inside its "
                  f"document ({100 * gain:+.2f} F1 here), as text pasted into a Space does.")
    what = (f"Each {ctx.split} sentence's own words are scored twice: read {READING['with']} (up to "
            f"{block.tokens_per_side} sub-tokens of the neighbouring sentences of its document on each side, never "
            f"across a document boundary) and read {READING['without']}. The headline figure above reads "
            f"each sentence {READING[block.headline]}.")
    strategies = _strategies_reading(ctx)
    return f"{how} {what}{strategies}\n\n{table}\n\n{advice}"


def _strategies_reading(ctx: CardContext) -> str:
    """Which context the per-strategy F1 used: not `--context-tokens`, which sets only the table's reading."""
    block, strategies = ctx.results.document_context, ctx.results.strategies
    if strategies is None or strategies.raw_text:
        return ""
    if block.headline != "with":
        return " The F1 by aggregation strategy reads each sentence alone, as the headline does."
    trained = (block.trained or {}).get("tokens_per_side")
    window = (f"windows of {4 * trained} text sub-tokens, overlapping by {2 * trained} (from the {trained} per side "
              "it was trained with)") if trained else "windows of the model's full length"
    return (f" The F1 by aggregation strategy reads each document as one text through the pipeline, as the demo "
            f"Space does: in {window}, whatever the evaluation's context setting, so its context can differ from "
            "this table's.")
