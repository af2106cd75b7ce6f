"""The card's YAML front matter: Hub metadata, widget examples and the `model-index` of evaluation results."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from huggingface_hub import ModelCardData
from huggingface_hub.repocard_data import EvalResult

from toolkit.card.context import CardContext


@dataclass
class NerCardData(ModelCardData):
    """Typed construction of the front matter; `ModelCardData` does the Hub-specific serialisation.

    (eval results -> `model-index`, `None` fields dropped). Field order is YAML key order.
    """

    language: str | list[str] | None = None
    license: str | None = None
    library_name: str = "transformers"
    pipeline_tag: str = "token-classification"
    base_model: str | None = None
    datasets: list[str] | None = None
    metrics: list[str] | None = None
    tags: list[str] | None = None
    widget: list[dict[str, str]] | None = None
    inference: dict[str, Any] | None = None
    model_name: str | None = None
    eval_results: list[EvalResult] | None = None

    def __post_init__(self) -> None:
        # Let ModelCardData validate eval_results and normalise tags; attributes keep field order.
        ModelCardData.__init__(self, **{f.name: getattr(self, f.name) for f in fields(self)})


def _metric_label(metric: str) -> str:
    return "F1" if metric == "f1" else metric.title()


def eval_results(ctx: CardContext) -> list[EvalResult]:
    """Overall scores, then precision/recall/F1 per entity type (config = the type)."""
    ds = ctx.dataset
    common = dict(
        task_type="token-classification",
        task_name="Named Entity Recognition" if ctx.entities else "Token Classification",
        dataset_type=ds.type,
        dataset_name=ds.pretty,
        dataset_config=ds.config,
        dataset_split=ctx.split,
        dataset_revision=ds.revision,
    )
    block = ctx.results.document_context
    if block is not None:  # how each sentence was read, so a leaderboard reader cannot mistake the setting
        common["dataset_args"] = {"document_context": f"{block.tokens_per_side} sub-tokens per side"
                                  if block.headline == "with" else "none (sentences alone)"}
    if ctx.results.partial:  # a leaderboard reader must not take a trial run for the whole split
        common["dataset_args"] = {**common.get("dataset_args", {}),
                                  "sentences": f"first {ctx.results.num_sentences} of {ctx.results.split_sentences}"}
        common["dataset_name"] = f"{ds.pretty} (first {ctx.results.num_sentences} sentences)"
    overall = ctx.results.overall
    metrics = ("precision", "recall", "f1", "accuracy") if ctx.entities else ("accuracy",)
    out = [EvalResult(metric_type=m, metric_value=getattr(overall, m), metric_name=_metric_label(m), **common) for m in metrics]
    if ctx.entities:
        for type_name in ctx.types:
            scores = ctx.per_type[type_name]
            out += [
                EvalResult(
                    metric_type=m,
                    metric_value=getattr(scores, m),
                    metric_name=f"{type_name} {_metric_label(m)}",
                    metric_config=type_name,
                    **common,
                )
                for m in ("precision", "recall", "f1")
            ]
    return out


def _tags(ctx: CardContext) -> list[str]:
    tags = ["nerkit", "token-classification"]
    label_column = ctx.results.label_column or "ner_tags"
    if ctx.entities:
        tags += ["ner", "named-entity-recognition"]
    elif label_column == "pos_tags":
        tags += ["pos", "part-of-speech"]
    elif label_column == "chunk_tags":
        tags += ["chunking"]
    if ctx.dataset.known:
        tags.append(ctx.dataset.known.tag)
    return tags


def card_data(ctx: CardContext) -> NerCardData:
    if ctx.license is None:
        ctx.warn("no licence given: the card has no `license` metadata. Pass --license (e.g. apache-2.0).")
    if ctx.dataset.hub_id is None:
        ctx.warn(f"the training data ({ctx.dataset.pretty}) is not a Hub dataset: the card has no `datasets` metadata.")
    return NerCardData(
        language=ctx.language,
        license=ctx.license,
        base_model=ctx.base.hub_id,
        datasets=[ctx.dataset.hub_id] if ctx.dataset.hub_id else None,
        metrics=["precision", "recall", "f1", "accuracy"] if ctx.entities else ["accuracy"],
        tags=_tags(ctx),
        widget=ctx.widget,
        inference={"parameters": {"aggregation_strategy": ctx.pipeline_strategy}},
        model_name=ctx.repo,  # model-index name: the Hub id (the folder's name when rendered without one)
        eval_results=eval_results(ctx),
    )
