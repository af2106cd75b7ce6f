"""`eval_results.json` as typed records: `nerkit evaluate` writes one, the card and the bootstrap read it.

`from_json` validates (a `UserError` names the file and the field); `to_json` gives back the
dict `nerkit evaluate` writes, key for key and in the same order, so reading and writing a file
changes nothing. Fields a file leaves out are None here and stay out of `to_json`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nercore.runfolder.checks import (
    COUNT, INTERVAL, MISSING, SCORE, Where, is_count, is_interval, is_object, is_score, is_table, is_text,
    optional, put,
)

AVERAGES = ("micro avg", "macro avg", "weighted avg")
TASKS = ("entities", "tags")
STRATEGY_TEXTS = ("words", "raw")  # what the strategies block scored: words joined, or span data's own texts


def _strategy_names() -> tuple[str, ...]:
    from nercore.strategies import names

    return names()


@dataclass(frozen=True)
class Scores:
    """Precision/recall/F1 with the counts behind them (support = gold entities or tokens)."""

    precision: float
    recall: float
    f1: float
    support: int | None = None
    predicted: int | None = None
    correct: int | None = None

    @classmethod
    def from_json(cls, data: Any, where: Where, key: str, *, support: bool = True) -> Scores:
        if not isinstance(data, dict):
            raise where.fail(key, "an object with precision/recall/f1", data)
        inner = where.at(key)
        values = {name: inner.get(data, name, SCORE, is_score) for name in ("precision", "recall", "f1")}
        if support:
            values["support"] = inner.get(data, "support", COUNT, is_count)
        for name in ("support", "predicted", "correct"):
            values.setdefault(name, optional(inner.get(data, name, COUNT, is_count, optional=True)))
        return cls(**values)

    def to_json(self) -> dict:
        payload = {"precision": self.precision, "recall": self.recall, "f1": self.f1}
        for name in ("support", "predicted", "correct"):
            put(payload, name, getattr(self, name))
        return payload


def _score_table(data: dict, where: Where, key: str, *, support: bool = True) -> dict[str, Scores]:
    return {name: Scores.from_json(entry, where, f"{key}.{name}", support=support) for name, entry in data.items()}


def _table_json(table: dict[str, Scores]) -> dict:
    return {name: scores.to_json() for name, scores in table.items()}


@dataclass(frozen=True)
class Overall:
    """Micro precision/recall/F1 over entities (over tokens for tag sets) and token accuracy."""

    precision: float
    recall: float
    f1: float
    accuracy: float

    @classmethod
    def from_json(cls, data: dict, where: Where) -> Overall:
        block = data.get("overall")
        inner = where.at("overall")
        return cls(**{name: inner.get(block, name, "a number between 0 and 1", is_score) for name in ("precision", "recall", "f1", "accuracy")})

    def to_json(self) -> dict:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "accuracy": self.accuracy}


@dataclass(frozen=True)
class ModeReport:
    """One seqeval mode (default = conlleval-like, strict = IOB2): per-type scores and averages."""

    per_type: dict[str, Scores]
    micro: Scores
    macro: Scores | None = None
    weighted: Scores | None = None

    @classmethod
    def from_json(cls, data: Any, where: Where, mode: str, *, need_macro: bool) -> ModeReport:
        inner = where.at(f"modes.{mode}")
        expected = "an object of entity types" if need_macro else "an object"
        per_type = inner.get(data, "per_type", expected, is_table if need_macro else is_object)
        averages = {}
        for key in AVERAGES:
            entry = data.get(key, MISSING)
            if entry is not MISSING or key == "micro avg" or (key == "macro avg" and need_macro):
                averages[key] = Scores.from_json(entry, inner, key)
        return cls(
            per_type=_score_table(per_type, inner, "per_type"),
            micro=averages["micro avg"],
            macro=averages.get("macro avg"),
            weighted=averages.get("weighted avg"),
        )

    def to_json(self) -> dict:
        payload: dict = {"per_type": _table_json(self.per_type)}
        for key, scores in zip(AVERAGES, (self.micro, self.macro, self.weighted)):
            put(payload, key, scores.to_json() if scores else None)
        return payload


@dataclass(frozen=True)
class Confidence:
    """How well one strategy's entity scores match how often its entities are right
    (`toolkit.evaluate.confidence`): ECE overall and per type, reliability bins, threshold table."""

    bins: int
    entities: int
    ece: float | None
    per_type_ece: dict[str, float | None]
    reliability: list[dict]  # {low, high, count, confidence, accuracy}
    thresholds: list[dict]  # {min_score, precision, recall, f1, kept}

    @classmethod
    def from_json(cls, data: Any, where: Where, key: str) -> Confidence:
        inner = where.enter(data, key)

        def maybe_score(value: Any) -> bool:  # no entity of a type: no ECE
            return value is None or is_score(value)

        def rows(value: Any) -> bool:
            return isinstance(value, list) and all(isinstance(x, dict) for x in value)

        values = {
            "bins": inner.get(data, "bins", COUNT, is_count),
            "entities": inner.get(data, "entities", COUNT, is_count),
            "ece": inner.get(data, "ece", "a number between 0 and 1, or null", maybe_score),
            "per_type_ece": inner.get(data, "per_type_ece", "an object: type -> ECE",
                                      lambda v: isinstance(v, dict) and all(maybe_score(x) for x in v.values())),
            "reliability": inner.get(data, "reliability", "an array of objects", rows),
            "thresholds": inner.get(data, "thresholds", "an array of objects", rows),
        }
        for i, entry in enumerate(values["thresholds"]):
            for name in ("min_score", "precision", "recall", "f1"):
                inner.at(f"thresholds[{i}]").get(entry, name, SCORE, is_score)
        return cls(**values)

    def to_json(self) -> dict:
        return {"bins": self.bins, "entities": self.entities, "ece": self.ece, "per_type_ece": self.per_type_ece,
                "reliability": self.reliability, "thresholds": self.thresholds}


@dataclass(frozen=True)
class StrategyScores(Scores):
    """End-to-end span scores of one aggregation strategy, overall and per type."""

    per_type: dict[str, Scores] | None = None
    confidence: Confidence | None = None  # written by nerkit evaluate since issue 18; older files have none

    @classmethod
    def from_json(cls, data: Any, where: Where, key: str, *, support: bool = False) -> StrategyScores:
        scores = Scores.from_json(data, where, key, support=support)
        per_type = data.get("per_type")
        table = _score_table(per_type, where, f"{key}.per_type", support=False) if per_type is not None else None
        block = data.get("confidence")
        confidence = Confidence.from_json(block, where.at(key), "confidence") if block is not None else None
        return cls(**scores.__dict__, per_type=table, confidence=confidence)

    def to_json(self) -> dict:
        payload = super().to_json()
        put(payload, "per_type", _table_json(self.per_type) if self.per_type is not None else None)
        put(payload, "confidence", self.confidence.to_json() if self.confidence is not None else None)
        return payload


@dataclass(frozen=True)
class StrategyResults:
    """The `strategies` block: each requested strategy's scores on one split.

    `text` says what the pipeline read: None (older files) or "words", each sentence's words joined
    with spaces; "raw", span data's own texts (`num_records` of them) against the annotators' spans.
    """

    results: dict[str, StrategyScores]
    split: str | None = None
    num_sentences: int | None = None
    text: str | None = None
    num_records: int | None = None

    @property
    def raw_text(self) -> bool:
        return self.text == "raw"

    @classmethod
    def from_json(cls, block: Any, where: Where) -> StrategyResults:
        inner = where.enter(block, "strategies")
        results = inner.get(block, "results", "an object keyed by strategy", is_table)
        names = _strategy_names()
        for name in results:
            if name not in names:
                raise inner.fail(f"results.{name}", f"one of {', '.join(names)}", name)
        return cls(
            results={name: StrategyScores.from_json(entry, inner, f"results.{name}") for name, entry in results.items()},
            split=optional(inner.get(block, "split", "a split name", is_text, optional=True)),
            num_sentences=optional(inner.get(block, "num_sentences", COUNT, is_count, optional=True)),
            text=optional(inner.get(block, "text", '"words" or "raw"', lambda v: v in STRATEGY_TEXTS, optional=True)),
            num_records=optional(inner.get(block, "num_records", COUNT, is_count, optional=True)),
        )

    def to_json(self) -> dict:
        payload: dict = {}
        put(payload, "split", self.split)
        put(payload, "num_sentences", self.num_sentences)
        put(payload, "text", self.text)
        put(payload, "num_records", self.num_records)
        payload["results"] = {name: scores.to_json() for name, scores in self.results.items()}
        return payload


Interval = tuple[float, float]


@dataclass(frozen=True)
class ConfidenceIntervals:
    """The `confidence_intervals` block: bootstrap intervals for overall P/R/F1 and per-type F1."""

    level: float
    resamples: int
    overall: dict[str, Interval]
    per_type: dict[str, dict[str, Interval]] = field(default_factory=dict)
    method: str | None = None
    seed: int | None = None
    mode: str | None = None

    @classmethod
    def from_json(cls, block: Any, where: Where) -> ConfidenceIntervals:
        inner = where.enter(block, "confidence_intervals")
        level = inner.get(block, "level", "a number between 0 and 1, e.g. 0.95", lambda v: is_score(v) and 0 < v < 1)
        resamples = inner.get(block, "resamples", "a count > 0", lambda v: is_count(v) and v > 0)
        inner.at("overall").get(block.get("overall"), "f1", INTERVAL, is_interval)
        overall = {metric: _interval(value, inner, f"overall.{metric}") for metric, value in block["overall"].items()}
        per_type = {}
        for name, entry in (block.get("per_type") or {}).items():
            inner.enter(entry, f"per_type.{name}")
            per_type[name] = {metric: _interval(v, inner, f"per_type.{name}.{metric}") for metric, v in entry.items()}
        return cls(
            level=level,
            resamples=resamples,
            overall=overall,
            per_type=per_type,
            method=optional(inner.get(block, "method", "a description", is_text, optional=True)),
            seed=optional(inner.get(block, "seed", "an integer seed", is_count, optional=True)),
            mode=optional(inner.get(block, "mode", "a seqeval mode name", is_text, optional=True)),
        )

    def to_json(self) -> dict:
        payload: dict = {}
        put(payload, "method", self.method)
        payload.update(level=self.level, resamples=self.resamples)
        put(payload, "seed", self.seed)
        put(payload, "mode", self.mode)
        payload["overall"] = {metric: list(pair) for metric, pair in self.overall.items()}
        payload["per_type"] = {name: {m: list(pair) for m, pair in entry.items()} for name, entry in self.per_type.items()}
        return payload


def _interval(value: Any, where: Where, key: str) -> Interval:
    if not is_interval(value):
        raise where.fail(key, INTERVAL, value)
    return (value[0], value[1])
