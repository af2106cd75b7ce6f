"""Sections about the evaluation: summary, scores per type, intervals, chart, strict mode, strategies."""

from __future__ import annotations

from nercore.strategies import get_strategy, names
from toolkit.card.context import CardContext
from toolkit.card.facts import below_floor
from toolkit.card.fmt import count, is_score, join_names, md_table, pct
from toolkit.card.sections.context import headline_reading
from nercore.runfolder import F1_CHART


def title(ctx: CardContext) -> str:
    return ctx.model_name


def dataset_link(ctx: CardContext) -> str:
    """The dataset's name, linked to its Hub page when it has one."""
    if ctx.dataset.hub_id:
        return f"[{ctx.dataset.pretty}](https://huggingface.co/datasets/{ctx.dataset.hub_id})"
    return ctx.dataset.pretty


def summary(ctx: CardContext) -> str:
    text = _summary(ctx)
    below = below_floor(ctx.results)
    if below:
        text += (
            f"\n\n> **Warning: this model does not work yet.** Its {below}: it was trained too briefly or on too "
            "little data. Do not use it for anything but testing."
        )
    return text


def _summary(ctx: CardContext) -> str:
    overall = ctx.results.overall
    on = f"the {ctx.dataset.pretty} {ctx.split} split"
    if ctx.results.partial:  # a trial run must not read as the whole split's figure
        on = (f"the first {count(ctx.results.num_sentences)} of the {count(ctx.results.split_sentences)} sentences "
              f"of {on} (a partial evaluation)")
    reading = headline_reading(ctx)
    if reading:
        on += f", {reading},"
    trained = f"fine-tuned from {ctx.base.display}" if ctx.base.display else "fine-tuned"
    data = f" on {dataset_link(ctx)}" if ctx.data_info or ctx.dataset.hub_id else ""
    spans = span_headline(ctx)
    if ctx.entities and spans is not None:
        return (
            f"**{ctx.model_name}** is a named-entity recognition model {trained}{data} with nerkit. "
            f"It tags {join_names(ctx.types)} entities. On {on} it reaches **F1 {pct(spans.f1)}** on the annotators' "
            f"character spans (precision {pct(spans.precision)}, recall {pct(spans.recall)}; exact match on the raw "
            f"texts, `aggregation_strategy=\"{ctx.pipeline_strategy}\"`); word-level seqeval F1 {pct(overall.f1)}."
        )
    if ctx.entities:
        return (
            f"**{ctx.model_name}** is a named-entity recognition model {trained}{data} with nerkit. "
            f"It tags {join_names(ctx.types)} entities. On {on} it reaches **F1 {pct(overall.f1)}** "
            f"(precision {pct(overall.precision)}, recall {pct(overall.recall)}; seqeval, default mode)."
        )
    return (
        f"**{ctx.model_name}** is a token-classification model {trained}{data} with nerkit. "
        f"It assigns one of {len(ctx.types)} tags to each word. On {on} it reaches "
        f"**accuracy {pct(overall.accuracy)}**."
    )


def span_headline(ctx: CardContext):
    """The recommended strategy's character-span scores when the data are character spans (the card's
    headline then), else None."""
    block = ctx.results.strategies
    if block is None or not block.raw_text:
        return None
    return block.results.get(ctx.strategy)


def results_intro(ctx: CardContext) -> str:
    results = ctx.results
    tokens = results.num_tokens
    size = f"{count(results.num_sentences)} sentences" + (f", {count(tokens)} tokens" if isinstance(tokens, int) else "")
    if ctx.entities:
        text = (
            f"Entity-level scores on the {ctx.dataset.pretty} {ctx.split} split ({size}), computed with seqeval "
            "in its default (conlleval) mode. All scores are percentages."
        )
        if span_headline(ctx) is not None:
            text += (
                " The data are character spans over raw text, so the headline above is the exact character-span "
                "F1 (\"F1 by aggregation strategy\" below): that is what the annotators marked and what the pipeline "
                "returns. The word-level scores here are on the words nerkit cut from those texts (its word "
                "splitter, cut at every span edge), for comparison with word-level results elsewhere."
            )
    else:
        text = (
            f"Per-tag scores on the {ctx.dataset.pretty} {ctx.split} split ({size}); token accuracy "
            f"**{pct(results.overall.accuracy)}**"
        )
        if is_score(results.macro_f1):
            text += f", macro F1 {pct(results.macro_f1)}"
        text += ". All scores are percentages."
    if results.truncated_words:
        text += (
            f" {count(results.truncated_words)} words lay beyond the model's maximum length; they are scored as "
            "predicted `O`, so these numbers cover every gold word."
        )
    return text


def _f1_cell(value: float, interval: tuple[float, float] | None) -> str:
    if interval is None:
        return pct(value)
    return f"{pct(value)} ({pct(interval[0])}–{pct(interval[1])})"


def results_table(ctx: CardContext) -> str:
    rows = []
    for type_name in ctx.types:
        s = ctx.per_type[type_name]
        rows.append([type_name, pct(s.precision), pct(s.recall), _f1_cell(s.f1, ctx.interval(type_name)), count(s.support)])
    if ctx.entities:
        default = ctx.results.default
        for label, s, interval in (("**micro avg**", default.micro, ctx.interval(None)), ("**macro avg**", default.macro, None)):
            rows.append([label, pct(s.precision), pct(s.recall), _f1_cell(s.f1, interval), count(s.support)])
    f1_header = f"F1 ({ctx.level} CI)" if ctx.intervals else "F1"
    name = "Entity type" if ctx.entities else "Tag"
    return md_table([name, "Precision", "Recall", f1_header, "Support"], rows, numeric={1, 2, 3, 4})


def ci_note(ctx: CardContext) -> str | None:
    block = ctx.intervals
    if block is None:
        ctx.warn("eval_results.json has no confidence_intervals: the card shows F1 without intervals.")
        return None
    method = block.method or "percentile bootstrap over sentences"
    seed = f", seed {block.seed}" if block.seed is not None else ""
    return (
        f"{ctx.level} confidence intervals: {method} ({count(block.resamples)} resamples of the "
        f"{count(ctx.results.num_sentences)} {ctx.split} sentences{seed})."
    )


def chart(ctx: CardContext) -> str | None:
    if ctx.chart_png is None:
        return None  # chart.f1_chart warned why
    what = "Per-entity" if ctx.entities else "Per-tag"
    return f"![{what} F1 on the {ctx.split} split]({F1_CHART})"


def _delta(default: float, strict: float) -> str:
    return f"{100 * (strict - default):+.2f}"


def modes(ctx: CardContext) -> str | None:
    if not ctx.entities:
        return None
    default, strict = ctx.results.default, ctx.results.strict
    if strict is None:
        ctx.warn("eval_results.json has no strict-mode scores: the card leaves out default vs strict.")
        return None
    rows = []
    for type_name in ctx.types:
        d = default.per_type[type_name].f1
        s = strict.per_type[type_name].f1 if type_name in strict.per_type else None
        rows.append([type_name, pct(d), "—", "—"] if s is None else [type_name, pct(d), pct(s), _delta(d, s)])
    d, s = default.micro.f1, strict.micro.f1
    rows.append(["**micro avg**", pct(d), pct(s), _delta(d, s)])
    table = md_table(["Entity type", "F1 default", "F1 strict", "Δ"], rows, numeric={1, 2, 3})
    text = (
        "seqeval's default mode follows the CoNLL `conlleval` script: a predicted `I-X` that does not continue "
        "an `X` entity starts a new one. Strict mode (IOB2) only accepts entities that begin with `B-X`, "
        "so it also penalises ill-formed predictions."
    )
    invalid = ctx.results.invalid_sequences
    if invalid is None:
        ctx.warn("eval_results.json has no invalid_sequences count; the card leaves it out.")
    elif invalid:
        text += (
            f" The model predicted **{count(invalid)}** `I-` tags that do not continue an entity of the same "
            "type; default mode repairs them, strict mode does not."
        )
    else:
        text += " The model predicted no invalid `I-` tags."
    return f"{text}\n\n{table}"


def _strategy_label(name: str) -> str:
    """The table's name cell; a strategy of nerkit's own (`word`) says it is no `aggregation_strategy` value."""
    if get_strategy(name).pipeline:
        return f"`{name}`"
    return f"`{name}` (nerkit's own, not a `pipeline` strategy)"


def strategies(ctx: CardContext) -> str | None:
    block = ctx.results.strategies
    if block is None:
        ctx.warn(
            "eval_results.json has no per-strategy F1: the card leaves out 'F1 by aggregation strategy' "
            "(run `nerkit evaluate --strategies`)."
        )
        return None
    scores = block.results
    order = [name for name in names() if name in scores]
    type_columns = sorted({t for name in order for t in (scores[name].per_type or {})})
    headers = ["Strategy", "Precision", "Recall", "F1"] + [f"F1 {t}" for t in type_columns]
    rows = []
    for name in order:
        s, per = scores[name], scores[name].per_type or {}
        row = [_strategy_label(name), pct(s.precision), pct(s.recall), pct(s.f1)]
        row += [pct(per[t].f1) if t in per else "—" for t in type_columns]
        if name == ctx.strategy:
            row = [f"**{cell}**" if cell != "—" else cell for cell in row]
            row[0] += " (recommended)"
        rows.append(row)
    table = md_table(headers, rows, numeric=set(range(1, len(headers))))
    n = block.num_sentences if block.num_sentences is not None else ctx.results.num_sentences
    if block.raw_text:
        records = block.num_records if block.num_records is not None else n
        text = (
            f"End to end on the {block.split or ctx.split} split's {count(records)} texts, as the annotation tool "
            "exported them: each text (a long one in overlapping windows) is run through "
            "`pipeline(\"token-classification\", aggregation_strategy=...)`, and the predicted (type, start, end) "
            "character spans are matched exactly against the annotators' spans. The recommended strategy's F1 is "
            "the card's headline."
        )
    else:
        text = (
            f"End to end on the {block.split or ctx.split} split ({count(n)} sentences): each sentence's words are "
            "joined with single spaces, run through `pipeline(\"token-classification\", aggregation_strategy=...)`, "
            "and the predicted (type, start, end) character spans are matched exactly against the gold spans. "
            "This is what a user of the pipeline gets, unlike the word-level scores above."
        )
    if "none" in scores:
        text += (
            " `none` returns one tag per sub-token; nerkit decodes those tags into spans for this comparison, "
            "which the pipeline does not do for you."
        )
    return f"{text}\n\n{table}"
