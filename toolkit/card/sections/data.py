"""The training data: source, tag scheme, split sizes and entity counts, licence note and citation."""

from __future__ import annotations

from collections.abc import Mapping

from toolkit.card.context import CardContext
from toolkit.card.fmt import count, md_table, number
from toolkit.card.sections.results import dataset_link
from nercore.runfolder import DATA_INFO

USUAL_SPLITS = ("train", "validation", "test")


def split_order(names) -> list[str]:
    """train, validation, test first, then any other split alphabetically."""
    names = set(names)
    return [s for s in USUAL_SPLITS if s in names] + sorted(names - set(USUAL_SPLITS))


def data(ctx: CardContext) -> str | None:
    info = ctx.data_info
    if not info or not isinstance(info.get("splits"), dict) or not info["splits"]:
        ctx.warn(f"{DATA_INFO} not found or has no splits: the card leaves out the data section.")
        return None
    splits = info["splits"]
    order = split_order(splits)
    parts = [_source_lines(ctx, info), _sizes(splits, order)]
    if ctx.entities and all(isinstance(splits[s].get("entities"), dict) for s in order):
        kinds = sorted({k for s in order for k in splits[s]["entities"]})
        rows = [[k] + [count(splits[s]["entities"].get(k, 0)) for s in order] for k in kinds]
        rows.append(["**total**"] + [count(sum(splits[s]["entities"].values())) for s in order])
        table = md_table(["Entity type", *order], rows, numeric=set(range(1, len(order) + 1)))
        parts.append(f"Entities per type:\n\n{table}")
    elif ctx.entities:
        ctx.warn(f"{DATA_INFO} has no entity counts per split; the card leaves that table out.")
    if isinstance(info.get("span_alignment"), Mapping) and info["span_alignment"]:
        parts.append(_span_changes(info["span_alignment"], split_order(info["span_alignment"])))
    return "\n\n".join(parts)


def _span_changes(reports: Mapping, order: list[str]) -> str:
    """Character-span data: what reading and alignment to the sub-tokens changed, counted per split.

    Numbers only: the examples in data_info.json quote the training texts, which a public card must not.
    """
    from toolkit.data.spans import REPORT_TEXT

    counts = {s: reports[s].get("counts", {}) if isinstance(reports[s], Mapping) else {} for s in order}
    kinds = [k for k in REPORT_TEXT if any(counts[s].get(k) for s in order)]
    kinds += sorted({k for s in order for k in counts[s]} - set(REPORT_TEXT))
    rows = [[REPORT_TEXT.get(k, k)] + [count(int(counts[s].get(k, 0))) for s in order] for k in kinds]
    settings = next((reports[s].get("settings") for s in order if isinstance(reports[s], Mapping)
                     and isinstance(reports[s].get("settings"), Mapping)), None) or {}
    how = ", ".join(f"`--{key.replace('_', '-')} {value}`" for key, value in settings.items())
    intro = ("The training data are character spans from an annotation tool, aligned to the model's sub-tokens"
             + (f" ({how})" if how else "") + "; sentences above are texts, long texts counted once per chunk. "
             "What reading and alignment changed (docs/annotations.md explains each line):")
    return f"{intro}\n\n{md_table(['Spans', *order], rows, numeric=set(range(1, len(order) + 1)))}"


def _source_lines(ctx: CardContext, info: Mapping) -> str:
    labels = ctx.labels or {}
    dataset = f"- **Dataset:** {dataset_link(ctx)}"
    if ctx.dataset.config:
        dataset += f", configuration `{ctx.dataset.config}`"
    if ctx.dataset.revision:
        dataset += f", revision `{ctx.dataset.revision}`"
    lines = [dataset, f"- **Label column:** `{info.get('label_column', ctx.results.label_column or 'ner_tags')}`"]
    scheme = info.get("scheme") or labels.get("scheme")
    source_scheme = info.get("source_scheme") or labels.get("source_scheme")
    if scheme == "none":
        lines.append("- **Tag scheme:** plain tags (no B-/I- prefixes)")
    elif scheme and source_scheme and source_scheme != scheme:
        lines.append(f"- **Tag scheme:** {scheme} (converted from {source_scheme} in the source files)")
    elif scheme:
        lines.append(f"- **Tag scheme:** {scheme}")
    return "\n".join(lines)


def _sizes(splits: Mapping, order: list[str]) -> str:
    has_length = all(isinstance(splits[s].get("length"), dict) for s in order)
    headers = ["Split", "Sentences", "Tokens"]
    if has_length:
        headers += ["Length min", "mean", "median", "p95", "max"]
    rows = []
    for s in order:
        entry = splits[s]
        row = [s, count(entry.get("sentences", 0)), count(entry.get("tokens", 0))]
        if has_length:
            row += [number(entry["length"].get(k)) for k in ("min", "mean", "median", "p95", "max")]
        rows.append(row)
    table = md_table(headers, rows, numeric=set(range(1, len(headers))))
    return f"Sentence lengths are in words.\n\n{table}" if has_length else table


def data_licence(ctx: CardContext) -> str | None:
    if ctx.dataset.known:
        return ctx.dataset.known.licence
    ctx.warn(f"no licence note or citation is known for {ctx.dataset.pretty}; add them to the card by hand.")
    return None


def citation(ctx: CardContext) -> str | None:
    """The dataset's BibTeX (data_licence already warned when none is known)."""
    if ctx.dataset.known:
        return f"```bibtex\n{ctx.dataset.known.citation}\n```"
    return None
