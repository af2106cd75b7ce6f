"""One evaluation, start to finish: predict, score, optionally bootstrap and run the strategies, write.

Works for models trained here or anywhere else: the model's label names are mapped onto the
dataset's (`labelmap`), and the run writes `eval_results.json` (typed by `nercore.runfolder`,
schema in docs/eval-results.md), a CoNLL predictions file and a short list of error examples.
Words beyond the model's maximum length are scored as predicted `O`, so the reported F1 covers
every gold entity. This module is the last stage of the package: it imports the others.
"""

from __future__ import annotations

import logging
from pathlib import Path

from nercore.tags import is_entity_labels
from toolkit.alignment import load_tokenizer
from nercore.errors import UserError
from toolkit.evaluate.analysis import analyse
from toolkit.evaluate.bootstrap import confidence_intervals, mismatches
from toolkit.evaluate.config import EvalConfig
from toolkit.evaluate.labelmap import LabelMapping, decode, map_model_labels
from toolkit.evaluate.context import context_plan
from toolkit.evaluate.predict import predict_words
from toolkit.model_loading import check_strategies, load_model
from toolkit.evaluate.report import format_table, write_results
from toolkit.evaluate.span_scores import GoldRecords, evaluate_model_records, strategies_block
from toolkit.evaluate.strategies import evaluate_model_strategies
from toolkit.labels import NerData
from toolkit.metrics import score
from nercore import runfolder
from nercore.strategies import names
from nercore.runfolder import EvalResults
from nercore.runfolder.eval_results import SCHEMA_VERSION

logger = logging.getLogger("toolkit")


def default_output_dir(model: str) -> Path:
    path = Path(model)
    return path if path.is_dir() else Path("eval-" + model.replace("/", "--"))


def evaluate_model(config: EvalConfig | str, data: NerData, split: str | None = None, *,
                   records: GoldRecords | None = None, **settings) -> EvalResults:
    """Score `config.model` on `data.splits[config.split]`; writes the results and returns them as eval_results.json's dict.

    `config` is an `EvalConfig` (checked when made; its module says which reading each setting
    governs). The older call `evaluate_model(model, data, split, **settings)` builds one the same way.
    `records` (span data: the split's texts and gold character spans) scores the strategies on those
    texts instead of on joined words, every strategy unless `config.strategies` names some
    (`toolkit.evaluate.span_scores`).
    """
    if not isinstance(config, EvalConfig):
        config = EvalConfig(model=config, **({"split": split} if split is not None else {}), **settings)
    model_name, split = config.model, config.split
    strategy_names = _check_extras(data, config.strategies or (names() if records is not None else None))
    dataset = _split(data, split, config.max_samples)
    model = load_model(model_name, revision=config.revision, backend=config.backend)
    tokenizer = load_tokenizer(model_name, revision=config.revision)
    model_labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    mapping = map_model_labels(model_labels, list(data.labels), dict(config.label_map))

    sentences = list(dataset["tokens"])
    tag_names = data.splits[split].features["tags"].feature.names
    gold = [[tag_names[i] for i in tags] for tags in dataset["tags"]]
    entities = is_entity_labels(list(data.labels))
    plan = context_plan(model, dataset, config.context, config.context_tokens)
    readings = {}
    for setting, tokens in plan.readings.items():
        predicted_ids, stats = predict_words(
            model, tokenizer, sentences, batch_size=config.batch_size, max_length=config.max_length,
            progress=config.progress, documents=plan.documents, context_tokens=tokens,
        )
        readings[setting] = _reading(gold, decode(predicted_ids, mapping), stats, entities, config.bootstrap,
                                     config.seed, config.ci_level)
    part, pred, span_errors, stats = readings[plan.headline]
    payload = {
        "schema_version": SCHEMA_VERSION,
        "model": model_name,
        "split": split,
        "label_column": data.label_column,
        "dataset": data.source,
        "num_sentences": len(sentences),
        **({"split_sentences": len(data.splits[split])} if len(sentences) < len(data.splits[split]) else {}),
        "num_tokens": sum(len(s) for s in sentences),
        "truncated_words": stats.truncated_words,
        **({"command": config.command} if config.command else {}),
        **({"backend": config.backend} if config.backend != "torch" else {}),
        **part,
    }
    if strategy_names:
        payload["strategies"] = _strategies_block(
            model_name, model, sentences, gold, mapping, strategy_names, split, records, revision=config.revision,
            batch_size=config.batch_size, max_length=config.max_length, progress=config.progress,
            documents=plan.documents if plan.headline == "with" else None,
        )
    if len(readings) > 1:
        payload["document_context"] = _other_reading(plan, readings, split, len(sentences))
    out = Path(config.output_dir) if config.output_dir else default_output_dir(model_name)
    results = EvalResults.from_json(payload, file=out / runfolder.for_backend(runfolder.EVAL_RESULTS, config.backend))
    write_results(out, split, results, sentences, gold, pred, span_errors)
    return results


def evaluate_and_report(config: EvalConfig, data: NerData, *, records: GoldRecords | None = None) -> str:
    """`nerkit evaluate`: run `evaluate_model` and return the report to print."""
    results = evaluate_model(config, data, records=records)
    return f"{format_table(results)}\nresults written to {config.output_dir or default_output_dir(config.model)}"


def _other_reading(plan, readings: dict, split: str, num_sentences: int) -> dict:
    """The `document_context` block: the reading that is not the headline, beside the setting."""
    other = next(setting for setting in readings if setting != plan.headline)
    part, _, _, stats = readings[other]
    return {
        "headline": plan.headline, "tokens_per_side": plan.readings["with"], "trained": plan.trained,
        "other": {"schema_version": SCHEMA_VERSION, "split": split, "num_sentences": num_sentences,
                  "truncated_words": stats.truncated_words, **part},
    }


def _reading(gold, pred, stats, entities: bool, bootstrap: int, seed: int, ci_level: float):
    """One reading's scores (+ error analysis, CIs): (payload part, predicted tags, span errors, AlignmentStats)."""
    if stats.truncated_words:
        logger.warning(
            "%d word(s) in %d sentence(s) lie beyond the model's max length; they are scored as predicted O.",
            stats.truncated_words,
            stats.truncated_sentences,
        )
    part = score(gold, pred, entities=entities)
    span_errors = None
    if entities:  # error kinds, confusion matrix, MUC-style schemas (toolkit.evaluate.analysis)
        part["error_analysis"], span_errors = analyse(gold, pred)
    if bootstrap:
        part["confidence_intervals"] = _confidence_intervals(gold, pred, part, bootstrap, seed, ci_level, entities)
    return part, pred, span_errors, stats


def _split(data: NerData, split: str, max_samples: int | None):
    if split not in data.splits:
        raise UserError(f"the dataset has no {split!r} split (it has: {', '.join(data.splits)}). Pass --split.")
    dataset = data.splits[split]
    if max_samples:
        dataset = dataset.select(range(min(max_samples, len(dataset))))
    if len(dataset) == 0:
        raise UserError(f"split {split!r} is empty: nothing to evaluate.")
    return dataset


def _check_extras(data: NerData, strategies) -> tuple[str, ...]:
    """The strategies to score, checked against the data before any model work (the rest: `EvalConfig`)."""
    if not strategies:
        return ()
    chosen = check_strategies(strategies)
    if not is_entity_labels(list(data.labels)):
        raise UserError(
            f"--strategies scores entity spans, but the {data.label_column!r} labels have no B-/I- entities "
            f"({', '.join(list(data.labels)[:5])}, ...). Leave out --strategies for tag sets such as POS."
        )
    return chosen


def _confidence_intervals(gold, pred, scores: dict, resamples: int, seed: int, level: float, entities: bool) -> dict:
    boot = confidence_intervals(gold, pred, entities=entities, resamples=resamples, seed=seed, level=level)
    problems = mismatches(boot, scores)
    if problems:  # a bug, not a user error: the intervals would not belong to the reported numbers
        logger.warning("bootstrap point estimates differ from the seqeval scores: %s", "; ".join(problems))
    return boot.to_json()


def _strategies_block(model_name, model, sentences, gold, mapping: LabelMapping, names, split: str,
                      records: GoldRecords | None, *, revision, batch_size, max_length, progress, documents) -> dict:
    """The `strategies` block: on span data the records' own texts against their spans (`span_scores`),
    else each sentence's words joined with spaces (`strategies`)."""
    if records is not None:
        return strategies_block(split, len(sentences), records, evaluate_model_records(
            model, _pipeline_tokenizer(model_name, revision), records, mapping.names, strategies=names,
            batch_size=batch_size, max_length=max_length, progress=progress))
    return {"split": split, "num_sentences": len(sentences), "results": _strategy_results(
        model_name, model, sentences, gold, mapping, names, revision=revision, batch_size=batch_size,
        max_length=max_length, progress=progress, documents=documents)}


def _pipeline_tokenizer(model_name: str, revision: str | None):
    """The tokenizer exactly as a user's pipeline loads it (load_tokenizer may add add_prefix_space)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_name, revision=revision)


def _strategy_results(model_name, model, sentences, gold, mapping: LabelMapping, names, *, revision, batch_size,
                      max_length, progress, documents=None) -> dict:
    return evaluate_model_strategies(
        model, _pipeline_tokenizer(model_name, revision), sentences, gold, mapping.names, strategies=names,
        batch_size=batch_size, max_length=max_length, progress=progress, documents=documents,
    )
