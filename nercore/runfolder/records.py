"""Typed records of the run folder's training files: one class per file, read and written through it.

`nerkit train` writes them (toolkit/run_records.py); the card, `push` and the Space read them
back here, so a field has one spelling and a malformed file one error, naming file and field.
Fields a newer writer adds are kept in `extra` and written back unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, ClassVar

from nercore.errors import UserError
from nercore.runfolder.checks import MISSING, Where, is_count, is_object, is_text, read_json_object
from nercore.runfolder.names import CALIBRATION, DATA_INFO, LABELS, RUN_INFO, TRAINING_ARGS, TRAINING_LOG

_FIX = "Train the model again to rewrite the file (docs/eval-results.md#the-run-folder lists the files)."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_texts(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(is_text(item) for item in value)


def _maybe(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


_TEXT, _NUMBER, _OBJECT, _COUNT = ("a non-empty string", is_text), ("a number", _is_number), ("an object", is_object), \
    ("a count (integer >= 0)", is_count)


@dataclass(frozen=True)
class Record:
    """A JSON object with known fields (`SPEC`: name -> (expected, check, required)) and `extra` ones.

    Optional fields an older writer left out read as None and stay out when written back (`absent`),
    so the card warns and carries on; a field that is there must have the right type.
    """

    FILE: ClassVar[str] = ""
    FIX: ClassVar[str] = _FIX  # neutral words: the Space shows them too
    STEP: ClassVar[str] = "train"  # the step that rewrites the file (`UserError.step`; the toolkit names its command)
    SPEC: ClassVar[dict[str, tuple[str, Callable[[Any], bool], bool]]] = {}
    extra: dict[str, Any] = field(default_factory=dict, kw_only=True)
    absent: frozenset[str] = field(default=frozenset(), kw_only=True, repr=False)

    @classmethod
    def from_json(cls, data: Any, *, file: str | Path | None = None):
        where = Where(file or cls.FILE, fix=cls.FIX, step=cls.STEP)
        if not isinstance(data, dict):
            raise UserError(f"{where.file}: expected a JSON object, found {type(data).__name__}. {cls.FIX}", step=cls.STEP)
        values = {}
        for name, (expected, check, required) in cls.SPEC.items():
            value = where.get(data, name, expected, check, optional=not required)
            values[name] = None if value is MISSING else value
        return cls(**values, extra={k: v for k, v in data.items() if k not in cls.SPEC},
                   absent=frozenset(name for name in cls.SPEC if name not in data))

    def to_json(self) -> dict:
        known = {f.name: getattr(self, f.name) for f in fields(self) if f.name in self.SPEC}
        return {**{k: v for k, v in known.items() if k not in self.absent}, **self.extra}

    @classmethod
    def read(cls, folder: str | Path, *, required: bool = False):
        """The record in `folder`, or None when the file is absent and not `required`."""
        path = Path(folder) / cls.FILE
        data = read_json_object(path, required=required)
        return None if data is None else cls.from_json(data, file=path)


@dataclass(frozen=True)
class LabelsRecord(Record):
    FILE: ClassVar[str] = LABELS
    SPEC: ClassVar[dict] = {"labels": ("a list of label names", _is_texts, True), "label_column": (*_TEXT, False),
                            "scheme": (*_TEXT, False), "source_scheme": (*_TEXT, False)}
    labels: list[str]
    label_column: str
    scheme: str
    source_scheme: str


def _is_span_report(value: Any) -> bool:
    return is_object(value) and all(
        is_object(report) and is_object(report.get("counts", {})) and is_object(report.get("examples", {}))
        and all(is_count(n) for n in report.get("counts", {}).values()) for report in value.values())


@dataclass(frozen=True)
class DataInfo(Record):
    FILE: ClassVar[str] = DATA_INFO
    SPEC: ClassVar[dict] = {"source": (*_OBJECT, False), "label_column": (*_TEXT, False),
                            "labels": ("a list of label names", _is_texts, False), "scheme": (*_TEXT, False),
                            "source_scheme": (*_TEXT, False), "splits": (*_OBJECT, False),
                            "span_alignment": ("an object of split -> {counts, examples}", _is_span_report, False)}
    source: dict
    label_column: str
    labels: list[str]
    scheme: str
    source_scheme: str
    splits: dict  # split -> sentences, tokens, documents (where marked), entities (or tags), length stats
    # Character-span sources only (toolkit/data/spans.py): per split, what reading and alignment changed:
    # {"counts": {"spans": 120, "whitespace_trimmed": 3, "expanded": 1, ...},
    #  "examples": {"whitespace_trimmed": [{"record", "context", "before", "after", ...}]}}; None otherwise.
    span_alignment: dict | None = None


@dataclass(frozen=True)
class TrainingArgs(Record):
    FILE: ClassVar[str] = TRAINING_ARGS
    SPEC: ClassVar[dict] = {"config": (*_OBJECT, False), "trainer": (*_OBJECT, False)}
    config: dict  # toolkit.training.TrainConfig as a dict, max_length resolved
    trainer: dict  # transformers' TrainingArguments as a dict


@dataclass(frozen=True)
class TrainingLog(Record):
    FILE: ClassVar[str] = TRAINING_LOG
    SPEC: ClassVar[dict] = {"epochs": ("a list of evaluation rows", lambda v: isinstance(v, list), False),
                            "best_epoch": ("an epoch number or null", _maybe(is_count), False),
                            "best_metric": (*_TEXT, False), "best_value": ("a number or null", _maybe(_is_number), False),
                            "train_runtime_s": (*_NUMBER, False), "train_tokens_per_s": (*_NUMBER, False),
                            "truncated_words": (*_OBJECT, False)}
    epochs: list[dict]
    best_epoch: int | None
    best_metric: str
    best_value: float | None
    train_runtime_s: float
    train_tokens_per_s: float
    truncated_words: dict


@dataclass(frozen=True)
class RunInfo(Record):
    FILE: ClassVar[str] = RUN_INFO
    SPEC: ClassVar[dict] = {"command": (*_TEXT, False), "seed": ("an integer", lambda v: isinstance(v, int), False),
                            "base_model": (*_TEXT, False), "base_model_revision": ("a string or null", _maybe(is_text), False),
                            "hardware": (*_OBJECT, False), "wall_time_s": (*_NUMBER, False), "started_at": (*_TEXT, False),
                            "versions": (*_OBJECT, False)}
    command: str
    seed: int
    base_model: str
    base_model_revision: str | None
    hardware: dict
    wall_time_s: float
    started_at: str
    versions: dict


TRAINING_RECORDS = (LabelsRecord, DataInfo, TrainingArgs, TrainingLog, RunInfo)


def _is_reading(value: Any) -> bool:
    """{num_sentences, before, after}: before/after map each strategy to at least its F1 and ECE."""
    def strategies(side: Any) -> bool:
        return is_object(side) and bool(side) and all(
            is_object(row) and _is_number(row.get("f1")) and _maybe(_is_number)(row.get("ece")) for row in side.values())

    return is_object(value) and is_count(value.get("num_sentences")) and strategies(value.get("before")) \
        and strategies(value.get("after"))


@dataclass(frozen=True)
class Calibration(Record):
    """`nerkit calibrate`: the temperature divided into the classifier, how it was chosen, and what it did."""

    FILE: ClassVar[str] = CALIBRATION
    FIX: ClassVar[str] = ("The weights and this file belong together: train again (or restore the weights from before "
                          "calibration) and calibrate again.")
    STEP: ClassVar[str] = "calibrate"
    SPEC: ClassVar[dict] = {
        "temperature": ("a number > 0", lambda v: _is_number(v) and v > 0, True),
        "strategy": (*_TEXT, True), "objective": (*_TEXT, False), "fit_split": (*_TEXT, True),
        "readings": ("an object of split -> {num_sentences, before, after}, before/after: strategy -> {f1, ece, ...}",
                     lambda v: is_object(v) and bool(v) and all(_is_reading(r) for r in v.values()), True),
        "tried": ("a list of {temperature, log_loss, f1}", lambda v: isinstance(v, list), False),
        "argmax_check": (*_OBJECT, False), "command": (*_TEXT, False),
    }
    temperature: float
    strategy: str  # the strategy whose entity scores T was fitted to
    objective: str
    fit_split: str
    readings: dict  # split -> {"num_sentences", "before"/"after": strategy -> {f1, ece, ...}, "changed_sentences"}
    tried: list
    argmax_check: dict  # {"sub_tokens": n, "changed": 0, "splits": [...]}: the saved model reloaded and compared
    command: str
