"""What an evaluation leaves behind: the result files (written as one set) and the tables it prints.

Everything here reads the typed `EvalResults`, so the printed numbers are the written ones.
"""

from __future__ import annotations

from pathlib import Path

from nercore import runfolder
from toolkit.evaluate.analysis import SpanError
from toolkit.evaluate.analysis_report import error_file, format_error_analysis
from toolkit.evaluate.bootstrap import METHOD
from nercore.runfolder.predictions import predictions_text
from nercore.runfolder import ConfidenceIntervals, EvalResults, ModeReport, Scores, StrategyResults
from toolkit.runtime import json_text, write_files_atomically

MAX_ERROR_EXAMPLES = 25
_ZERO = Scores(0.0, 0.0, 0.0, 0)


def write_results(out: Path, split: str, results: EvalResults, sentences, gold, pred,
                  errors: list[SpanError] | None = None) -> None:
    """Write eval_results.json, the predictions and the error examples as one set, so a failure
    never leaves new results beside the previous run's predictions. With the entity `errors` of
    the error analysis, errors_<split>.txt groups them by kind and lists the hardest sentences first."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_files_atomically({
        out / runfolder.for_backend(runfolder.EVAL_RESULTS, results.backend): json_text(results.to_json()),
        out / runfolder.for_backend(runfolder.PREDICTIONS.format(split=split), results.backend): predictions_text(sentences, gold, pred),
        out / runfolder.for_backend(runfolder.ERRORS.format(split=split), results.backend): (
            error_examples(sentences, gold, pred) if errors is None else error_file(sentences, gold, pred, errors, split)
        ),
    })


def error_examples(sentences, gold, pred, limit: int = MAX_ERROR_EXAMPLES) -> str:
    """The first sentences where prediction and gold differ, aligned word by word."""
    blocks = []
    wrong = [i for i, (g, p) in enumerate(zip(gold, pred)) if g != p]
    for i in wrong[:limit]:
        rows = [f"{'word':<20} {'gold':<10} {'predicted':<10}"]
        for w, g, p in zip(sentences[i], gold[i], pred[i]):
            rows.append(f"{w:<20} {g:<10} {p:<10}{'  <-- ' if g != p else ''}")
        blocks.append(f"# sentence {i}\n" + "\n".join(rows))
    header = f"# {len(wrong)} of {len(sentences)} sentences have at least one wrong tag; the first {min(limit, len(wrong))}:\n"
    return header + "\n\n".join(blocks) + "\n"


def _rows(mode: ModeReport | None) -> dict[str, Scores]:
    """Per-type rows, then the averages, of one seqeval mode."""
    if mode is None:
        return {}
    averages = {"micro avg": mode.micro, "macro avg": mode.macro, "weighted avg": mode.weighted}
    return {**mode.per_type, **{name: s for name, s in averages.items() if s is not None}}


def format_table(results: EvalResults) -> str:
    """The readable report `nerkit evaluate` prints."""
    lines = [f"{results.model} on {results.split} ({results.num_sentences} sentences, {results.num_tokens} tokens)"]
    if not results.entities:
        lines.append(f"{'tag':<10} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}")
        for tag, v in (results.per_tag or {}).items():
            lines.append(f"{tag:<10} {v.precision:>9.4f} {v.recall:>9.4f} {v.f1:>9.4f} {v.support:>8}")
        lines.append(f"token accuracy {results.overall.accuracy:.4f}")
        return "\n".join(lines + _extra_tables(results))
    default, strict = _rows(results.default), _rows(results.strict)
    lines.append(f"{'':<14} {'-------- default (conlleval) --------':>38}   {'---------- strict IOB2 ----------':>34}")
    lines.append(f"{'type':<14} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}   {'precision':>9} {'recall':>9} {'f1':>9}")
    for name, d in default.items():
        s = strict.get(name, _ZERO)
        lines.append(
            f"{name:<14} {d.precision:>9.4f} {d.recall:>9.4f} {d.f1:>9.4f} {d.support:>8}   "
            f"{s.precision:>9.4f} {s.recall:>9.4f} {s.f1:>9.4f}"
        )
    lines.append(
        f"token accuracy {results.overall.accuracy:.4f}   invalid predicted sequences {results.invalid_sequences}"
        f"   words beyond max length {results.truncated_words}"
    )
    return "\n".join(lines + _extra_tables(results))


def _extra_tables(results: EvalResults) -> list[str]:
    """The confidence-interval, per-strategy and error-analysis tables, when the results have them."""
    lines = []
    if results.confidence_intervals:
        lines += ["", format_intervals(results.confidence_intervals, results)]
    if results.strategies:
        lines += ["", format_strategies(results.strategies)]
    if results.error_analysis:
        lines += ["", format_error_analysis(results.error_analysis, results.split)]
    if results.document_context:
        lines += ["", format_context(results)]
    return lines


def format_context(results: EvalResults) -> str:
    """Both readings side by side: each sentence alone, and inside its document."""
    block = results.document_context
    readings = {block.headline: results, ("without" if block.headline == "with" else "with"): block.other}
    trained = block.trained
    how = (f"trained with {trained['tokens_per_side']} context sub-tokens per side" if trained
           else "trained on lone sentences")
    lines = [f"document context ({how}; the headline above is the {block.headline!r} reading):",
             f"{'reading':<44} {'f1':>8} {'95% CI':>17}"]
    for setting, label in (("with", f"with {block.tokens_per_side} sub-tokens of its document per side"),
                           ("without", "each sentence alone")):
        scored = readings[setting]
        ci = scored.confidence_intervals.overall.get("f1") if scored.confidence_intervals else None
        shown = f"{ci[0]:.4f}-{ci[1]:.4f}" if ci else "-"
        lines.append(f"{label:<44} {scored.overall.f1:>8.4f} {shown:>17}")
    return "\n".join(lines)


def format_intervals(block: ConfidenceIntervals, results: EvalResults) -> str:
    """The CI table `nerkit evaluate` prints."""
    lines = [
        f"{100 * block.level:g}% confidence intervals ({block.method or METHOD}, {block.resamples} resamples, "
        f"seed {'?' if block.seed is None else block.seed}):",
        f"{'':<14} {'f1':>9} {'low':>9} {'high':>9}",
    ]
    table = results.per_type
    for kind, entry in block.per_type.items():
        if kind in table:
            low, high = entry["f1"]
            lines.append(f"{kind:<14} {table[kind].f1:>9.4f} {low:>9.4f} {high:>9.4f}")
    for metric in ("f1", "precision", "recall"):
        if metric in block.overall:
            low, high = block.overall[metric]
            name = ("micro avg" if results.entities else "accuracy") if metric == "f1" else f"  {metric}"
            lines.append(f"{name:<14} {getattr(results.overall, metric):>9.4f} {low:>9.4f} {high:>9.4f}")
    return "\n".join(lines)


def format_strategies(block: StrategyResults) -> str:
    """The per-strategy table `nerkit evaluate` prints."""
    kinds = sorted({k for entry in block.results.values() for k in (entry.per_type or {})})
    header = f"{'strategy':<10} {'precision':>9} {'recall':>9} {'f1':>9} {'predicted':>9} {'correct':>8} {'support':>8}"
    header += "".join(f" {'f1 ' + k:>9}" for k in kinds)
    lines = [
        f"aggregation strategies, end to end on {'?' if block.num_sentences is None else block.num_sentences} "
        "sentences (tokens joined with spaces, exact character spans):",
        header,
    ]
    for name, s in block.results.items():
        row = (
            f"{name:<10} {s.precision:>9.4f} {s.recall:>9.4f} {s.f1:>9.4f} "
            f"{s.predicted:>9} {s.correct:>8} {s.support:>8}"
        )
        per = s.per_type or {}
        row += "".join(f" {per[k].f1:>9.4f}" if k in per else f" {'-':>9}" for k in kinds)
        lines.append(row)
    return "\n".join(lines)
