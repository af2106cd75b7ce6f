"""The card's error analysis: which kinds of errors the model makes, which types it confuses, MUC-style schemas.

Every number comes from eval_results.json's `error_analysis` block (`ctx.results.error_analysis`,
written by `nerkit evaluate`); the example sentences stay in the local errors_<split>.txt.
"""

from __future__ import annotations

from toolkit.card.context import CardContext
from toolkit.card.fmt import count, md_table, pct
from nercore.runfolder import CONFUSION_CHART, ErrorAnalysis, ErrorCounts
from nercore.runfolder.analysis import ERROR_KINDS, SCHEMAS

KIND_NAMES = {
    "boundary": "boundary errors",
    "type": "type errors",
    "both": "wrong in both span and type",
    "missed": "missed entities",
    "spurious": "spurious entities",
}
SCHEMA_HELP = {
    "strict": "exact span and type",
    "exact": "exact span, any type",
    "partial": "overlapping span, any type; a partial match counts half",
    "ent_type": "overlapping span, right type",
}


def _share(value: float) -> str:
    return f"{100 * value:.0f}%"


def _worst_confusion(block: ErrorAnalysis, gold: str) -> tuple[str, int] | None:
    """The type `gold` entities are most often predicted as, other than their own."""
    row = {p: n for p, n in block.confusion.gold.get(gold, {}).items() if p != gold and n}
    if not row:
        return None
    predicted = max(sorted(row), key=row.get)
    return predicted, row[predicted]


def summary_sentences(block: ErrorAnalysis) -> str:
    """A few sentences: the overall shares, then each type's most frequent kind of error."""
    overall = block.breakdown
    shares = [f"{_share(overall.share(k))} {KIND_NAMES[k]}" for k in ERROR_KINDS if getattr(overall, k)]
    listed = shares[0] if len(shares) == 1 else ", ".join(shares[:-1]) + " and " + shares[-1]
    text = f"Of the {count(overall.errors)} entity errors, {listed.replace(' ', ' are ', 1)}."
    for name, counts in block.breakdown_per_type.items():
        kind = counts.main_kind
        if kind is None:
            continue
        text += f" {_share(counts.share(kind))} of {name} errors are {KIND_NAMES[kind]}"
        worst = _worst_confusion(block, name) if kind in ("type", "both") else None
        text += f" (most often as {worst[0]}: {count(worst[1])})." if worst else "."
    return text


def _breakdown_table(block: ErrorAnalysis) -> str:
    def row(name: str, counts: ErrorCounts) -> list[str]:
        cells = [f"{count(getattr(counts, k))} ({_share(counts.share(k))})" for k in ERROR_KINDS]
        return [name, *cells, count(counts.errors), count(counts.correct)]

    rows = [row(name, counts) for name, counts in block.breakdown_per_type.items()]
    rows.append(["**all**", *row("", block.breakdown)[1:]])
    headers = ["Entity type", "Boundary", "Type", "Both", "Missed", "Spurious", "Errors", "Correct"]
    return md_table(headers, rows, numeric=set(range(1, len(headers))))


def _confusion_table(block: ErrorAnalysis) -> str:
    confusion = block.confusion
    kinds = confusion.types
    rows = [[f"**{g}**", *(count(confusion.cell(g, p)) for p in kinds), count(confusion.missed.get(g, 0))] for g in kinds]
    rows.append(["*spurious*", *(count(confusion.spurious.get(p, 0)) for p in kinds), "—"])
    return md_table(["Gold \\ predicted", *kinds, "*missed*"], rows, numeric=set(range(1, len(kinds) + 2)))


def _schemas_table(block: ErrorAnalysis) -> str:
    rows = []
    for name in SCHEMAS:
        s = block.schemas[name]
        rows.append([f"`{name}` ({SCHEMA_HELP[name]})", *(count(v) for v in (
            s.correct, s.incorrect, s.partial, s.missed, s.spurious)), pct(s.precision), pct(s.recall), pct(s.f1)])
    headers = ["Schema", "Correct", "Incorrect", "Partial", "Missed", "Spurious", "Precision", "Recall", "F1"]
    return md_table(headers, rows, numeric=set(range(1, len(headers))))


def error_analysis(ctx: CardContext) -> str | None:
    if not ctx.entities:
        return None
    block = ctx.results.error_analysis
    if block is None:
        ctx.warn("eval_results.json has no error_analysis: the card leaves out the error analysis "
                 "(re-run `nerkit evaluate` to add it).")
        return None
    parts = [
        f"Entity errors on the {ctx.dataset.pretty} {ctx.split} split. Gold and predicted entities that overlap "
        "are paired; a pair with the right type but a different span is a *boundary* error, the same span with "
        "the wrong type a *type* error, and a pair wrong in both counts as *both*. A gold entity no prediction "
        "overlaps is *missed*, a prediction no gold entity overlaps is *spurious*. Errors count for the gold "
        "type (spurious ones for the predicted type).",
        summary_sentences(block) if block.breakdown.errors else "The model made no entity errors on this split.",
        _breakdown_table(block),
        "Confusion between entity types (rows: gold type, columns: predicted type, for overlapping entities):",
        _confusion_table(block),
    ]
    if ctx.confusion_png is not None:
        parts.append(f"![Entity-type confusion on the {ctx.split} split]({CONFUSION_CHART})")
    if block.schemas:
        parts += [
            "The four MUC-style schemas of [nervaluate](https://github.com/MantisAI/nervaluate) "
            "(percentages; `partial` and `ent_type` give overlapping matches credit). nervaluate's `strict` "
            "is exact span and type, like seqeval's default mode above, not seqeval's strict IOB2 mode:",
            _schemas_table(block),
        ]
    return "\n\n".join(parts)
