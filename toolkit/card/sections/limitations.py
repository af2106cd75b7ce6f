"""What the model cannot do, from its tokenizer, label set, scores and training data."""

from __future__ import annotations

from nercore.tags import entity_types
from toolkit.card.context import CardContext
from toolkit.card.fmt import bullets, count, join_names, pct, short_path


def limitations(ctx: CardContext) -> str:
    items = []
    lowercase = lowercaser(ctx)
    if lowercase:
        items.append(
            f"**Uncased base model.** {lowercase} lowercases its input, so the model cannot use capitalisation, "
            "a strong cue for names in English: *apple* and *Apple* look the same to it."
        )
    if ctx.entities:
        items += _entity_items(ctx)
    if ctx.dataset.known and ctx.dataset.known.limitation:
        items.append(ctx.dataset.known.limitation)
    unit = "entities" if ctx.entities else "tags"
    items.append(
        "**Tokenisation.** Scores are measured on pre-tokenised sentences. On raw text the pipeline splits words "
        f"itself; `aggregation_strategy=\"{ctx.pipeline_strategy}\"` turns sub-token predictions back into word-level {unit}."
    )
    truncated = ctx.results.truncated_words
    if truncated:
        items.append(
            f"**Long inputs.** {count(truncated)} words of the {ctx.split} split lay beyond the model's maximum length "
            "and were scored as missed."
        )
    return bullets(items)


def _entity_items(ctx: CardContext) -> list[str]:
    kinds = ctx.types
    items = [
        f"**Only {len(kinds)} entity types.** The model knows {join_names([f'`{k}`' for k in kinds])}; "
        "any other kind of name (dates, products, events, ...) is either left untagged or forced into one of these."
    ]
    unseen = unseen_types(ctx)
    if unseen:
        items.append(
            f"**Never seen in training:** {join_names([f'`{k}`' for k in unseen])} "
            f"{'is' if len(unseen) == 1 else 'are'} in the label set but the training split has no such entities, "
            "so the model will hardly ever predict them."
        )
    worst = min(kinds, key=lambda k: ctx.per_type[k].f1)
    items.append(f"**Weakest type:** `{worst}` (F1 {pct(ctx.per_type[worst].f1)} on the {ctx.split} split).")
    return items


def lowercaser(ctx: CardContext) -> str | None:
    """Who lowercases the input (a phrase such as 'The tokenizer'), or None for cased models."""
    do_lower_case = ctx.tokenizer_config.get("do_lower_case")
    if do_lower_case is True:
        return "The tokenizer (`do_lower_case: true`)"
    if do_lower_case is None and ctx.tokenizer_lowercases:
        return "The tokenizer"
    name = ctx.base.hub_id or ctx.base.name
    if do_lower_case is None and "uncased" in name.lower():
        return f"The base model ({ctx.base.hub_id or short_path(name)})"
    return None


def unseen_types(ctx: CardContext) -> list[str]:
    """Entity types of the label set with no entity in the training split."""
    info = ctx.data_info or {}
    train = (info.get("splits") or {}).get(ctx.train_config.get("train_split", "train")) or {}
    counts = train.get("entities")
    if not isinstance(counts, dict):
        return []
    labels = (ctx.labels or {}).get("labels") or info.get("labels") or []
    known = set(entity_types(labels)) | set(ctx.types)
    return sorted(t for t in known if not counts.get(t))
