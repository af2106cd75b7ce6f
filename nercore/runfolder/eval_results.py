"""`EvalResults`: the whole of `eval_results.json`, one typed record per block."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nercore.errors import UserError
from nercore.runfolder.analysis import ErrorAnalysis
from nercore.runfolder.checks import MISSING, Where, is_count, is_object, is_score, is_table, is_text, optional, put, read_json_object
from nercore.runfolder.names import EVAL_RESULTS
from nercore.runfolder.results import (
    TASKS, ConfidenceIntervals, ModeReport, Overall, Scores, StrategyResults, _score_table, _table_json,
)

SCHEMA_VERSION = 1
# Written by `nerkit evaluate` before the scores; strings/dicts kept as they are.
_HEADER = ("model", "label_column", "dataset")
_KNOWN = {
    "schema_version", "model", "split", "label_column", "dataset", "num_sentences", "split_sentences", "num_tokens",
    "truncated_words",
    "command", "task", "overall", "modes", "invalid_sequences", "per_tag", "macro_f1", "confidence_intervals",
    "strategies",
    "error_analysis",
    "backend",
    "document_context",
}
CONTEXT_SETTINGS = ("with", "without")


@dataclass(frozen=True)
class DocumentContext:
    """The evaluation's two readings of each sentence: inside its document (`with`) and alone (`without`).

    The top level of eval_results.json holds the `headline` one (the setting the model was trained
    with); `other` is the same evaluation in the other setting (overall, per type, CIs, error analysis).
    """

    headline: str  # "with" or "without"
    tokens_per_side: int  # context sub-tokens per side in the "with" reading
    trained: dict | None  # the model's config.json `document_context` (None: trained on lone sentences)
    other: "EvalResults"

    @classmethod
    def from_json(cls, data: Any, where: Where) -> "DocumentContext":
        inner = where.enter(data, "document_context")
        headline = inner.get(data, "headline", '"with" or "without"', lambda v: v in CONTEXT_SETTINGS)
        tokens = inner.get(data, "tokens_per_side", "a count", is_count)
        trained = inner.get(data, "trained", "an object or null", lambda v: v is None or isinstance(v, dict))
        other = inner.get(data, "other", "an evaluation object", is_object)
        return cls(headline, tokens, trained, EvalResults._parse(other, inner.at("other")))

    @property
    def with_context(self) -> "EvalResults | None":
        return self.other if self.headline == "without" else None

    def to_json(self) -> dict:
        return {"headline": self.headline, "tokens_per_side": self.tokens_per_side, "trained": self.trained,
                "other": self.other.to_json()}


@dataclass(frozen=True)
class EvalResults:
    """One evaluation of one model on one split.

    Entity tag sets have `default` (and usually `strict`) mode reports and `invalid_sequences`;
    tag sets without entities (POS) have `per_tag` and `macro_f1` instead.
    """

    split: str
    task: str  # "entities" or "tags"
    overall: Overall
    num_sentences: int
    model: str | None = None
    label_column: str | None = None
    dataset: dict | None = None  # the data source (kind, name, files, fingerprints)
    split_sentences: int | None = None  # the whole split's size; more than num_sentences: a partial evaluation
    num_tokens: int | None = None
    truncated_words: int | None = None
    command: str | None = None
    default: ModeReport | None = None
    strict: ModeReport | None = None
    invalid_sequences: int | None = None
    per_tag: dict[str, Scores] | None = None
    macro_f1: float | None = None
    confidence_intervals: ConfidenceIntervals | None = None
    strategies: StrategyResults | None = None
    error_analysis: ErrorAnalysis | None = None  # entity tag sets; docs/eval-results.md
    backend: str | None = None  # the nercore.backends table's name when the evaluation did not use torch
    document_context: DocumentContext | None = None  # data with documents: both readings (docs/eval-results.md)
    extra: dict[str, Any] = field(default_factory=dict)  # fields of newer writers, kept as they are
    schema_version: int = SCHEMA_VERSION

    @property
    def entities(self) -> bool:
        return self.task == "entities"

    @property
    def partial(self) -> bool:
        """Only the first `num_sentences` of the split's `split_sentences` were scored (a trial run)."""
        return self.split_sentences is not None and self.num_sentences < self.split_sentences

    @property
    def per_type(self) -> dict[str, Scores]:
        """The scores per entity type (default mode), or per tag for tag sets."""
        return (self.default.per_type if self.default else {}) if self.entities else (self.per_tag or {})

    @classmethod
    def from_json(cls, source: str | Path | dict, *, file: str | Path | None = None) -> EvalResults:
        """Validate and type a file (or its parsed dict); errors name `file` and the field."""
        if isinstance(source, dict):
            data, file = source, file or EVAL_RESULTS
        else:
            data, file = read_json_object(Path(source)), file or source
        try:
            return cls._parse(data, Where(file))
        except (AttributeError, TypeError) as err:  # a list where an object should be, and the like
            raise UserError(f"{file}: unexpected structure ({err}). Evaluate the model again to rewrite it.",
                            step="evaluate") from err

    @classmethod
    def _parse(cls, data: dict, where: Where) -> EvalResults:
        where.get(data, "schema_version", str(SCHEMA_VERSION), lambda v: v == SCHEMA_VERSION)
        split = where.get(data, "split", "a split name", is_text)
        task = where.get(data, "task", '"entities" or "tags"', lambda v: v in TASKS)
        overall = Overall.from_json(data, where)
        values: dict[str, Any] = {
            "split": split,
            "task": task,
            "overall": overall,
            "num_sentences": where.get(data, "num_sentences", "a count", is_count),
            "split_sentences": optional(where.get(data, "split_sentences", "a count", is_count, optional=True)),
            "num_tokens": optional(where.get(data, "num_tokens", "a count", is_count, optional=True)),
            "truncated_words": optional(where.get(data, "truncated_words", "a count", is_count, optional=True)),
            "command": optional(where.get(data, "command", "the command line", lambda v: isinstance(v, str), optional=True)),
            "backend": optional(where.get(data, "backend", 'a backend name such as "onnx-int8"', is_text, optional=True)),
            "extra": {key: value for key, value in data.items() if key not in _KNOWN},
        }
        for key in _HEADER:
            values[key] = data.get(key)
        values.update(_entity_part(data, where) if task == "entities" else _tag_part(data, where))
        if "strategies" in data:
            values["strategies"] = StrategyResults.from_json(data["strategies"], where)
        if "error_analysis" in data:  # optional: files written before it existed still load
            values["error_analysis"] = ErrorAnalysis.from_json(data["error_analysis"], where)
        if "confidence_intervals" in data:
            values["confidence_intervals"] = ConfidenceIntervals.from_json(data["confidence_intervals"], where)
        if "document_context" in data:
            values["document_context"] = DocumentContext.from_json(data["document_context"], where)
        return cls(**values)

    def to_json(self) -> dict:
        """The dict `nerkit evaluate` writes (same keys, same order)."""
        payload: dict = {"schema_version": self.schema_version}
        put(payload, "model", self.model)
        payload["split"] = self.split
        put(payload, "label_column", self.label_column)
        put(payload, "dataset", self.dataset)
        payload["num_sentences"] = self.num_sentences
        for key in ("split_sentences", "num_tokens", "truncated_words", "command"):
            put(payload, key, getattr(self, key))
        put(payload, "backend", self.backend)
        payload.update(task=self.task, overall=self.overall.to_json())
        modes = {name: report.to_json() for name, report in (("default", self.default), ("strict", self.strict)) if report}
        put(payload, "modes", modes or None)
        put(payload, "invalid_sequences", self.invalid_sequences)
        put(payload, "per_tag", _table_json(self.per_tag) if self.per_tag is not None else None)
        put(payload, "macro_f1", self.macro_f1)
        put(payload, "error_analysis", self.error_analysis.to_json() if self.error_analysis else None)
        put(payload, "confidence_intervals", self.confidence_intervals.to_json() if self.confidence_intervals else None)
        put(payload, "strategies", self.strategies.to_json() if self.strategies else None)
        put(payload, "document_context", self.document_context.to_json() if self.document_context else None)
        payload.update(self.extra)
        return payload


def _entity_part(data: dict, where: Where) -> dict:
    modes = where.get(data, "modes", "an object with the default (and strict) mode", is_object)
    default = ModeReport.from_json(modes.get("default", MISSING), where, "default", need_macro=True)
    strict = ModeReport.from_json(modes["strict"], where, "strict", need_macro=False) if "strict" in modes else None
    invalid = where.get(data, "invalid_sequences", "a count", is_count, optional=True)
    return {"default": default, "strict": strict, "invalid_sequences": optional(invalid)}


def _tag_part(data: dict, where: Where) -> dict:
    per_tag = where.get(data, "per_tag", "an object of tags", is_table)
    macro_f1 = where.get(data, "macro_f1", "a number between 0 and 1", is_score, optional=True)
    return {"per_tag": _score_table(per_tag, where, "per_tag"), "macro_f1": optional(macro_f1)}
