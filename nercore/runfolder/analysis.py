"""The `error_analysis` block of `eval_results.json`: what kinds of errors a model makes.

Three parts (docs/eval-results.md): `schemas`, nervaluate's four MUC-style schemas overall and per
type; `confusion`, gold type by predicted type for overlapping spans, with missed and spurious
spans; `breakdown`, the errors split into boundary, type, both, missed and spurious, overall and
per type. Typed like the rest of the file: `from_json` validates (errors name the file and the
field), `to_json` gives back the same dict in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nercore.runfolder.checks import COUNT, SCORE, Where, is_count, is_object, is_score, is_table, optional

SCHEMAS = ("strict", "exact", "partial", "ent_type")  # nervaluate's names, in the order shown
SCHEMA_COUNTS = ("correct", "incorrect", "partial", "missed", "spurious", "possible", "actual")
ERROR_KINDS = ("boundary", "type", "both", "missed", "spurious")
ERROR_KIND_HELP = {
    "boundary": "right type, overlapping but different span",
    "type": "same span, wrong type",
    "both": "overlapping different span and wrong type",
    "missed": "gold entity with no overlapping prediction",
    "spurious": "predicted entity with no overlapping gold entity",
}


@dataclass(frozen=True)
class SchemaScores:
    """One nervaluate schema's counts and precision/recall/F1 (as nervaluate computes them)."""

    correct: int
    incorrect: int
    partial: int
    missed: int
    spurious: int
    possible: int  # gold entities: correct + incorrect + partial + missed
    actual: int  # predicted entities: correct + incorrect + partial + spurious
    precision: float
    recall: float
    f1: float

    @classmethod
    def from_json(cls, data: Any, where: Where, key: str) -> SchemaScores:
        inner = where.enter(data, key)
        values = {name: inner.get(data, name, COUNT, is_count) for name in SCHEMA_COUNTS}
        values.update({name: inner.get(data, name, SCORE, is_score) for name in ("precision", "recall", "f1")})
        return cls(**values)

    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in (*SCHEMA_COUNTS, "precision", "recall", "f1")}


def _schema_table(data: Any, where: Where, key: str) -> dict[str, SchemaScores]:
    inner = where.enter(data, key)
    for name in data:
        if name not in SCHEMAS:
            raise inner.fail(name, f"one of the schemas {', '.join(SCHEMAS)}", name)
    return {name: SchemaScores.from_json(data.get(name), inner, name) for name in SCHEMAS}


@dataclass(frozen=True)
class ErrorCounts:
    """Entities matched exactly (`correct`) and the errors by kind; `share` is a kind's part of all errors."""

    correct: int
    boundary: int
    type: int
    both: int
    missed: int
    spurious: int

    @property
    def errors(self) -> int:
        return sum(getattr(self, kind) for kind in ERROR_KINDS)

    def share(self, kind: str) -> float:
        """`kind`'s share of all errors, in [0, 1] (0 when there are none)."""
        return getattr(self, kind) / self.errors if self.errors else 0.0

    @property
    def main_kind(self) -> str | None:
        """The most frequent kind of error (the earlier in ERROR_KINDS on a tie); None without errors."""
        if not self.errors:
            return None
        return max(ERROR_KINDS, key=lambda kind: (getattr(self, kind), -ERROR_KINDS.index(kind)))

    @classmethod
    def from_json(cls, data: Any, where: Where, key: str) -> ErrorCounts:
        inner = where.enter(data, key)
        return cls(**{name: inner.get(data, name, COUNT, is_count) for name in ("correct", *ERROR_KINDS)})

    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in ("correct", *ERROR_KINDS)}


def _counts(data: Any, where: Where, key: str) -> dict[str, int]:
    inner = where.enter(data, key)
    return {name: inner.get(data, name, COUNT, is_count) for name in data}


@dataclass(frozen=True)
class Confusion:
    """Gold type by predicted type for paired overlapping spans, plus unpaired gold (missed) and predictions (spurious)."""

    gold: dict[str, dict[str, int]]  # gold type -> predicted type -> pairs
    missed: dict[str, int]  # gold type -> gold spans no prediction overlaps
    spurious: dict[str, int]  # predicted type -> predicted spans no gold span overlaps

    @property
    def types(self) -> list[str]:
        names = {*self.gold, *self.missed, *self.spurious, *(t for row in self.gold.values() for t in row)}
        return sorted(names)

    def cell(self, gold: str, predicted: str) -> int:
        return self.gold.get(gold, {}).get(predicted, 0)

    @classmethod
    def from_json(cls, data: Any, where: Where) -> Confusion:
        inner = where.enter(data, "confusion")
        gold = inner.get(data, "gold", "an object of gold types", is_object)
        table = inner.at("gold")
        return cls(
            gold={name: _counts(row, table, name) for name, row in gold.items()},
            missed=_counts(inner.get(data, "missed", "an object of counts", is_object), inner, "missed"),
            spurious=_counts(inner.get(data, "spurious", "an object of counts", is_object), inner, "spurious"),
        )

    def to_json(self) -> dict:
        return {"gold": {name: dict(row) for name, row in self.gold.items()}, "missed": dict(self.missed),
                "spurious": dict(self.spurious)}


@dataclass(frozen=True)
class ErrorAnalysis:
    """The `error_analysis` block (entity tag sets only). `schemas` is None when nervaluate was not installed."""

    breakdown: ErrorCounts
    breakdown_per_type: dict[str, ErrorCounts]
    confusion: Confusion
    schemas: dict[str, SchemaScores] | None = None
    schemas_per_type: dict[str, dict[str, SchemaScores]] | None = None

    @classmethod
    def from_json(cls, block: Any, where: Where) -> ErrorAnalysis:
        inner = where.enter(block, "error_analysis")
        inner.get(block, "breakdown", "an object with overall and per_type", is_object)
        breakdown = inner.at("breakdown")
        per_type = breakdown.get(block["breakdown"], "per_type", "an object of entity types", is_object)
        schemas = optional(inner.get(block, "schemas", "an object with overall and per_type", is_table, optional=True))
        values: dict[str, Any] = {
            "breakdown": ErrorCounts.from_json(block["breakdown"].get("overall"), breakdown, "overall"),
            "breakdown_per_type": {
                name: ErrorCounts.from_json(entry, breakdown.at("per_type"), name) for name, entry in per_type.items()
            },
            "confusion": Confusion.from_json(block.get("confusion"), inner),
        }
        if schemas is not None:
            at = inner.at("schemas")
            values["schemas"] = _schema_table(schemas.get("overall"), at, "overall")
            types = at.get(schemas, "per_type", "an object of entity types", is_object)
            values["schemas_per_type"] = {
                name: _schema_table(entry, at.at("per_type"), name) for name, entry in types.items()
            }
        return cls(**values)

    def to_json(self) -> dict:
        payload: dict = {}
        if self.schemas is not None:
            payload["schemas"] = {
                "overall": {name: s.to_json() for name, s in self.schemas.items()},
                "per_type": {
                    kind: {name: s.to_json() for name, s in table.items()}
                    for kind, table in (self.schemas_per_type or {}).items()
                },
            }
        payload["confusion"] = self.confusion.to_json()
        payload["breakdown"] = {
            "overall": self.breakdown.to_json(),
            "per_type": {name: counts.to_json() for name, counts in self.breakdown_per_type.items()},
        }
        return payload
