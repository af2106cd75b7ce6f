"""A small hand-made `CardContext` for section unit tests: no run folder, no files."""

from __future__ import annotations

import copy
from typing import Any

from toolkit.card import CardContext
from toolkit.card.facts import BaseModel, dataset_identity
from nercore.runfolder import EvalResults


def scores(p: float, r: float, f: float, support: int | None = None) -> dict:
    out = {"precision": p, "recall": r, "f1": f}
    if support is not None:
        out["support"] = support
    return out


ENTITY_RESULTS: dict[str, Any] = {
    "schema_version": 1,
    "split": "test",
    "task": "entities",
    "label_column": "ner_tags",
    "num_sentences": 10,
    "num_tokens": 120,
    "overall": {"precision": 0.8, "recall": 0.7, "f1": 0.75, "accuracy": 0.95},
    "modes": {
        "default": {
            "per_type": {"PER": scores(0.9, 0.8, 0.85, 6), "LOC": scores(0.5, 0.5, 0.5, 4)},
            "micro avg": scores(0.8, 0.7, 0.75, 10),
            "macro avg": scores(0.7, 0.65, 0.675, 10),
        }
    },
}

TAG_RESULTS: dict[str, Any] = {
    "schema_version": 1,
    "split": "test",
    "task": "tags",
    "label_column": "pos_tags",
    "num_sentences": 3,
    "overall": {"precision": 0.9, "recall": 0.9, "f1": 0.9, "accuracy": 0.9},
    "macro_f1": 0.85,
    "per_tag": {"NN": scores(0.9, 0.9, 0.9, 8), "DT": scores(0.8, 0.8, 0.8, 2)},
}


def make_context(results: dict | None = None, *, edit=None, source: dict | None = None, **fields: Any) -> CardContext:
    """A context for `results` (default: two entity types, no optional blocks); `fields` override the rest."""
    data = copy.deepcopy(results or ENTITY_RESULTS)
    if edit:
        edit(data)
    values: dict[str, Any] = dict(
        results=EvalResults.from_json(data, file="eval_results.json"),
        folder_name="my-run",
        dataset=dataset_identity(source or {"kind": "csv", "name": "/home/alice/data/news.csv"}),
        base=BaseModel(hub_id="bert-base-cased", display="[bert-base-cased](https://huggingface.co/bert-base-cased)",
                       revision=None, name="bert-base-cased"),
        strategy="first",
        strategy_why="Because.",
    )
    values.update(fields)
    return CardContext(**values)
