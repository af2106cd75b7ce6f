"""What the error analysis shows locally: errors_<split>.txt and the summary `nerkit evaluate` prints.

errors_<split>.txt quotes the evaluation data, so it stays in the run folder: the Hub plan leaves
errors_* out of every push. The printed summary reads the typed `ErrorAnalysis`, so it shows the
numbers eval_results.json holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from toolkit.evaluate.analysis import Span, SpanError
from nercore.runfolder import ErrorAnalysis
from nercore.runfolder.analysis import ERROR_KIND_HELP, ERROR_KINDS, SCHEMAS

MAX_HARD_SENTENCES = 25
MAX_EXAMPLES_PER_KIND = 10


def _text(words: Sequence[str], span: Span | None) -> str:
    if span is None:
        return "nothing"
    kind, start, end = span
    return f'{kind} "{" ".join(words[start:end])}" [{start}, {end})'


def _kinds(counts: Counter) -> str:
    return ", ".join(f"{counts[k]} {k}" for k in ERROR_KINDS if counts[k])


def _aligned(words, gold, pred) -> str:
    rows = [f"{'word':<20} {'gold':<10} {'predicted':<10}"]
    for w, g, p in zip(words, gold, pred):
        rows.append(f"{w:<20} {g:<10} {p:<10}{'  <-- ' if g != p else ''}")
    return "\n".join(rows)


def error_file(sentences, gold, pred, errors: list[SpanError], split: str, *,
               hard: int = MAX_HARD_SENTENCES, per_kind: int = MAX_EXAMPLES_PER_KIND) -> str:
    """errors_<split>.txt for entity tag sets: examples grouped by kind of error (from the hardest sentences
    first), then the hardest sentences (most entity errors, then most wrong tags) word by word."""
    by_sentence: dict[int, Counter] = {}
    for error in errors:
        by_sentence.setdefault(error.sentence, Counter())[error.kind] += 1
    wrong_tags = {i: sum(a != b for a, b in zip(g, p)) for i, (g, p) in enumerate(zip(gold, pred)) if g != p}
    tag_only = len(set(wrong_tags) - set(by_sentence))
    totals = Counter(error.kind for error in errors)
    order = sorted(wrong_tags, key=lambda i: (-sum(by_sentence.get(i, Counter()).values()), -wrong_tags[i], i))
    rank = {sentence: position for position, sentence in enumerate(order)}
    lines = [
        f"# Errors on the {split} split: {len(errors)} entity errors in {len(by_sentence)} of {len(sentences)} sentences"
        + (f" ({_kinds(totals)})." if errors else "."),
        f"# {tag_only} more sentence(s) differ only in tags that decode to the same entities."
        if tag_only else "# Every sentence with a wrong tag has an entity error.",
        "# Spans are word positions [start, end). This file quotes the evaluation data; `nerkit push` never uploads it.",
        "",
        "## Examples by kind of error",
    ]
    for kind in ERROR_KINDS:
        chosen = sorted((e for e in errors if e.kind == kind), key=lambda e: rank.get(e.sentence, len(rank)))
        shown = f"; {min(per_kind, len(chosen))} from the hardest sentences" if chosen else ""
        lines += ["", f"### {kind}: {ERROR_KIND_HELP[kind]} ({totals[kind]}{shown})"]
        for e in chosen[:per_kind]:
            words = sentences[e.sentence]
            lines.append(f"sentence {e.sentence}: gold {_text(words, e.gold)} -> predicted {_text(words, e.predicted)}")
    lines += ["", f"## Hardest sentences first (most entity errors, then most wrong tags): the first {min(hard, len(order))}"]
    for i in order[:hard]:
        counts = by_sentence.get(i, Counter())
        what = f"{sum(counts.values())} entity errors ({_kinds(counts)})" if counts else "no entity error"
        lines += ["", f"# sentence {i}: {what}, {wrong_tags[i]} wrong tags", _aligned(sentences[i], gold[i], pred[i])]
    return "\n".join(lines) + "\n"


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def format_error_analysis(block: ErrorAnalysis, split: str) -> str:
    """The short error-analysis summary `nerkit evaluate` prints after its tables."""
    lines = [f"error analysis (details and examples in errors_{split}.txt):"]
    if block.schemas:
        lines.append(f"{'schema':<10} " + " ".join(f"{h:>9}" for h in (
            "correct", "incorrect", "partial", "missed", "spurious", "precision", "recall", "f1")))
        for name in SCHEMAS:
            s = block.schemas[name]
            lines.append(
                f"{name:<10} {s.correct:>9} {s.incorrect:>9} {s.partial:>9} {s.missed:>9} {s.spurious:>9} "
                f"{s.precision:>9.4f} {s.recall:>9.4f} {s.f1:>9.4f}"
            )
    lines.append(f"{'errors':<10} " + " ".join(f"{h:>9}" for h in (*ERROR_KINDS, "all")))
    for name, counts in [*block.breakdown_per_type.items(), ("overall", block.breakdown)]:
        cells = [f"{getattr(counts, k)} {_pct(counts.share(k)):>4}" for k in ERROR_KINDS]
        lines.append(f"{name:<10} " + " ".join(f"{c:>9}" for c in cells) + f" {counts.errors:>9}")
    for name, counts in block.breakdown_per_type.items():
        kind = counts.main_kind
        if kind:
            lines.append(f"{_pct(counts.share(kind))} of {name} errors are {kind} errors ({ERROR_KIND_HELP[kind]}).")
    return "\n".join(lines)
