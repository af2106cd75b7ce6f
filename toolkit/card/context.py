"""`CardContext`: everything the card says, read and decided once from the run folder.

`build_context` reads the folder's files (eval_results.json through the typed
`nercore.runfolder.EvalResults`), checks the user's arguments, and decides the facts several
sections share (dataset, base model, recommended strategy, widget examples) exactly once. It only
builds data: `toolkit.card.render` draws the charts from it (`with_charts`), so `chart` reads the
context and the context never imports `chart`. Sections are then plain functions of the context,
in any order; optional data they miss is recorded with `ctx.warn`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from toolkit import ids
from toolkit.card import facts
from toolkit.card.facts import BaseModel, DatasetIdentity
from nercore.errors import UserError
from nercore.runfolder import (
    DATA_INFO, EVAL_RESULTS, LABELS, PREDICTIONS, RUN_INFO, TRAINING_ARGS, TRAINING_LOG, ConfidenceIntervals, EvalResults, Scores,
    for_backend, read_json_object,
)
from nercore.backends import table as backend_table
from nercore.strategies import UnknownStrategyError, get_strategy
from nercore.runfolder.predictions import read_predictions
from nercore.runfolder.records import TRAINING_RECORDS, Calibration, Record

logger = logging.getLogger("toolkit")


@dataclass(frozen=True)
class CardContext:
    """One run's card inputs; `warnings` collects what was left out, in the order it was noticed."""

    results: EvalResults
    folder_name: str  # the run folder's name: the model's name when no repo id is given
    dataset: DatasetIdentity
    base: BaseModel
    strategy: str  # recommended aggregation strategy (usage snippet, inference metadata)
    strategy_why: str
    widget: list[dict[str, str]] | None = None
    repo_id: str | None = None
    language: str | list[str] | None = "en"
    license: str | None = None
    labels: Mapping | None = None  # labels.json
    data_info: Mapping | None = None  # data_info.json
    training_args: Mapping | None = None  # training_args.json
    training_log: Mapping | None = None  # training_log.json
    run_info: Mapping | None = None  # run_info.json
    model_config: Mapping = field(default_factory=dict)  # config.json
    tokenizer_config: Mapping = field(default_factory=dict)
    tokenizer_lowercases: bool = False  # tokenizer.json's normaliser lowercases
    parameters: str | None = None  # "110.0 M (F32, 440 MB on disk)" from model.safetensors
    folder: Path | None = None  # the run folder (local paths in recorded commands are shown relative to it)
    chart_png: bytes | None = None  # the charts: None until `render` draws them (`with_charts`)
    confusion_png: bytes | None = None  # the error analysis' confusion heatmap
    reliability_png: bytes | None = None  # the recommended strategy's entity scores against accuracy
    calibration: Calibration | None = None  # calibration.json (`nerkit calibrate`)
    options: CardOptions | None = None  # the `nerkit card` options, recorded in the Reproducibility block
    backend_results: Mapping[str, EvalResults] = field(default_factory=dict)  # eval_results.<backend>.json
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        _record(self.warnings, message)

    @property
    def entities(self) -> bool:
        return self.results.entities

    @property
    def split(self) -> str:
        return self.results.split

    @property
    def per_type(self) -> Mapping[str, Scores]:
        return self.results.per_type

    @property
    def types(self) -> list[str]:
        return sorted(self.per_type)

    @property
    def intervals(self) -> ConfidenceIntervals | None:
        return self.results.confidence_intervals

    def interval(self, type_name: str | None, metric: str = "f1") -> tuple[float, float] | None:
        """The bootstrap interval of one type's (None: overall) metric, when evaluated with one."""
        if self.intervals is None:
            return None
        if type_name is None:
            return self.intervals.overall.get(metric)
        return self.intervals.per_type.get(type_name, {}).get(metric)

    @property
    def level(self) -> str:
        """The intervals' confidence level as a percentage, e.g. "95%"."""
        return f"{100 * self.intervals.level:g}%" if self.intervals else ""

    @property
    def model_name(self) -> str:
        return (self.repo_id or self.folder_name).split("/")[-1]

    @property
    def repo(self) -> str:
        """What the usage snippet loads: the Hub id, else the folder's name."""
        return self.repo_id or self.folder_name

    @property
    def train_config(self) -> Mapping:
        return (self.training_args or {}).get("config") or {}

    @property
    def pipeline_strategy(self) -> str:
        """What `pipeline(..., aggregation_strategy=...)` gets for the recommended row (its `pipeline_name`)."""
        try:
            return get_strategy(self.strategy).pipeline_name or self.strategy
        except UnknownStrategyError:
            return self.strategy

    @property
    def strategies_split(self) -> str:
        """The split the per-strategy (and confidence) figures were measured on."""
        block = self.results.strategies
        return (block.split if block is not None and block.split else None) or self.split

    def calibration_reading(self, side: str) -> dict | None:
        """calibration.json's figures for the recommended strategy `before` or `after` T, on the split the
        card reports (None when it measured another split or strategy, or there is no calibration)."""
        reading = self.calibration.readings.get(self.strategies_split) if self.calibration is not None else None
        return reading[side].get(self.strategy) if reading else None

    @property
    def usage_text(self) -> str:
        return self.widget[0]["text"] if self.widget else facts.DEFAULT_USAGE_TEXT


@dataclass(frozen=True)
class CardOptions:
    """What the user adds to the folder's records; the one place these options are declared and checked.

    `repo_id` names the model in the usage snippet (default: the folder's name); `language` is a
    code, "en,de" or a list; `base_model` gives the Hub id of a base model trained from a local
    folder; `widget_texts` replace the widget sentences picked from the evaluated split (for data
    that may not be quoted). Bad values raise `UserError` when the options are made, before any work.
    """

    repo_id: str | None = None
    language: str | Sequence[str] | None = "en"
    license: str | None = None
    base_model: str | None = None
    widget_texts: Sequence[str] | None = None

    def __post_init__(self) -> None:
        checked = {
            "repo_id": ids.check_repo_id(self.repo_id) if self.repo_id is not None else None,
            "language": ids.parse_languages(self.language),
            "license": ids.check_license(self.license),
            "base_model": ids.check_model_id(self.base_model) if self.base_model is not None else None,
            "widget_texts": tuple(self.widget_texts) if self.widget_texts is not None else None,
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)


def build_context(output_dir: str | Path, options: CardOptions = CardOptions()) -> CardContext:
    """Read and check the run folder; raises `UserError` before anything is written."""
    repo_id, override = options.repo_id, options.base_model
    path = Path(output_dir)
    results = read_eval_results(path)
    files: dict[str, dict | None] = {record.FILE: _as_json(record.read(path)) for record in TRAINING_RECORDS}
    files.update({name: read_json_object(path / name, required=False) for name in ("config.json", "tokenizer_config.json")})
    warnings: list[str] = []
    warn = partial(_record, warnings)
    recorded = (files[DATA_INFO] or {}).get("source") or {}
    dataset = facts.dataset_identity(results.dataset or recorded, recorded)
    config = (files[TRAINING_ARGS] or {}).get("config") or {}
    base = facts.base_model(files[RUN_INFO] or {}, config, override, warn)
    _check_intervals_contain_estimates(results, warn)
    strategy_f1 = {name: s.f1 for name, s in results.strategies.results.items()} if results.strategies else {}
    strategy, why = facts.recommended_strategy(strategy_f1, results.split, config.get("label_strategy"), results.entities)
    widget = facts.widget_examples(
        [text.strip() for text in options.widget_texts or [] if text.strip()],
        dataset.known,
        read_predictions(path / PREDICTIONS.format(split=results.split)),
        entities=results.entities,
        split=results.split,
        warn=warn,
    )
    return CardContext(
        results=results, folder_name=path.resolve().name, folder=path, dataset=dataset, base=base,
        strategy=strategy, strategy_why=why, widget=widget,
        repo_id=repo_id, language=options.language, license=options.license,
        labels=files[LABELS], data_info=files[DATA_INFO], training_args=files[TRAINING_ARGS],
        training_log=files[TRAINING_LOG], run_info=files[RUN_INFO],
        model_config=files["config.json"] or {}, tokenizer_config=files["tokenizer_config.json"] or {},
        tokenizer_lowercases=facts.tokenizer_json_lowercases(path / "tokenizer.json"),
        parameters=facts.safetensors_parameters(path / "model.safetensors"),
        backend_results=read_backend_results(path),
        calibration=Calibration.read(path),
        options=options,
        warnings=warnings,
    )


def _as_json(record: Record | None) -> dict | None:
    """A record checked by its typed reader, handed to the sections as the plain mapping they format."""
    return None if record is None else record.to_json()


def _record(warnings: list[str], message: str) -> None:
    warnings.append(message)
    logger.warning("card: %s", message)


def read_eval_results(path: Path) -> EvalResults:
    """The folder's evaluation, which every number on the card comes from."""
    if not path.is_dir():
        raise UserError(
            f"{path}: no such folder. Pass the --output-dir of a `nerkit train` run "
            "(evaluated with `nerkit evaluate`)."
        )
    eval_file = path / EVAL_RESULTS
    if not eval_file.is_file():
        raise UserError(
            f"{eval_file} not found: the card's numbers come from the evaluation. Run "
            f"`nerkit evaluate --model {path} --dataset ... --split test` first, then `nerkit card {path}`."
        )
    return EvalResults.from_json(eval_file)


def read_backend_results(path: Path) -> dict[str, EvalResults]:
    """The exported backends' evaluations (`eval_results.<backend>.json`) present in the folder, by backend."""
    return {
        backend: EvalResults.from_json(path / for_backend(EVAL_RESULTS, backend))
        for backend in (row.name for row in backend_table.exported())
        if (path / for_backend(EVAL_RESULTS, backend)).is_file()
    }


def _check_intervals_contain_estimates(results: EvalResults, warn: facts.Warn) -> None:
    intervals = results.confidence_intervals
    if intervals is None:
        return
    low, high = intervals.overall["f1"]
    f1 = results.overall.f1
    if not low - 1e-9 <= f1 <= high + 1e-9:
        warn(f"the F1 confidence interval {[low, high]} does not contain the F1 {f1:.4f}; check the evaluation.")
