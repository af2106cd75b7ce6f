"""`nerkit calibrate`: fit a temperature on one split, bake it into the run folder's classifier, check, record.

The steps (why each: `toolkit.evaluate.temperature`):
1. everything is checked before any work: a local folder, not yet calibrated, both splits present,
   entity labels, a classifier head the weights file names;
2. one forward pass per split (the fitting split, default validation, and the reported one, default
   test), read as `nerkit evaluate --strategies` reads it (documents joined for a context model);
3. T from the fitting split only, for the recommended strategy there (or `--strategy`);
4. F1 of every strategy and the fitted strategy's ECE before and after, on both splits;
5. the two classifier tensors divided by T; the model loaded back from disk as a user loads it and
   every sub-token's argmax compared on both splits: a single change restores the old weights;
6. when T is not 1, the files that described the old weights (evaluations, card, charts, ONNX) are
   removed, since their scores are stale; calibration.json is written either way.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from nercore import runfolder
from nercore.errors import UserError
from nercore.runfolder.records import Calibration
from nercore.tags import is_entity_labels
from toolkit.evaluate import temperature as temp
from toolkit.evaluate.context import context_plan
from toolkit.evaluate.labelmap import map_model_labels
from toolkit.model_loading import check_strategies, load_model
from toolkit.evaluate.strategies import model_pipeline, score_predicted, split_texts
from toolkit.labels import NerData
from toolkit.run_records import remove_stale
from toolkit.runtime import json_text, write_files_atomically

logger = logging.getLogger("toolkit")

OBJECTIVE = "log-loss of the strategy's entity scores against exact-match correctness"


def calibrate_run(folder: str | Path, data: NerData, *, fit_split: str = "validation", split: str = "test",
                  strategy: str | None = None, batch_size: int = 64, max_length: int | None = None,
                  progress: bool = True, command: str | None = None, max_samples: int | None = None) -> Calibration:
    """Fit, bake, check and record a temperature for the model in `folder` (see the module docstring).

    `max_samples` reads only the first N sentences of each split (a quick run: T is fitted on fewer entities)."""
    from nercore.strategies import best_recommendable, names as strategy_names
    from transformers import AutoTokenizer

    folder = check_folder(folder)
    splits = _check_splits(data, fit_split, split)
    sentences = {name: _first(data.splits[name], max_samples) for name in splits}
    chosen = _check_strategy(strategy)
    began = time.perf_counter()
    model = load_model(str(folder))
    head = temp.classifier_tensors(model)
    temp.weight_files(folder, head)  # the head's tensors are in the weights file(s), before any work
    tokenizer = AutoTokenizer.from_pretrained(str(folder))  # as a user's pipeline loads it
    model_labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    mapping = map_model_labels(model_labels, list(data.labels), None)
    pipe, types, ignore = model_pipeline(model, tokenizer, mapping.names, max_length=max_length)
    scored = {name: _read_split(pipe, model, sentences[name], name, strategy_names(), types, ignore, batch_size, progress)
              for name in splits}

    before = {name: scored[name].predictions(pipe, 1.0) for name in splits}
    scores_before = {name: score_predicted(scored[name].split.gold, before[name]) for name in splits}
    fitted = chosen or best_recommendable({n: r["f1"] for n, r in scores_before[fit_split].items()})
    if fitted is None:
        raise UserError(f"every strategy scored F1 0 on the {fit_split!r} split: there are no right entities to fit "
                        "a temperature to. Check the model and the data first (`nerkit evaluate`).")
    t, tried = temp.fit_temperature(pipe, scored[fit_split], fitted, progress=progress)
    readings = {}
    for name in splits:
        after = scored[name].predictions(pipe, t) if t != 1.0 else before[name]
        scores_after = score_predicted(scored[name].split.gold, after) if t != 1.0 else scores_before[name]
        readings[name] = {"num_sentences": len(sentences[name]), "before": temp.summary(scores_before[name]),
                          "after": temp.summary(scores_after),
                          "changed_sentences": temp.changed_sentences(before[name], after)}
    check = {"sub_tokens": 0, "changed": 0, "splits": splits}
    if t != 1.0:  # the weights changed: what described the old scores goes
        check = _bake_and_check(folder, head, t, scored, splits, batch_size, max_length, mapping.names)
        remove_stale(folder, runfolder.derived_from_weights(folder))
    path = folder / runfolder.CALIBRATION
    record = Calibration.from_json({
        "temperature": t, "strategy": fitted, "objective": OBJECTIVE, "fit_split": fit_split, "readings": readings,
        "tried": tried, "argmax_check": check, **({"command": command} if command else {}),
    }, file=path)
    write_files_atomically({path: json_text(record.to_json())})
    logger.info("calibrate: done in %.0f s", time.perf_counter() - began)
    return record


def _check_splits(data: NerData, fit_split: str, split: str) -> list[str]:
    splits = list(dict.fromkeys([fit_split, split]))
    for name in splits:
        if name not in data.splits or len(data.splits[name]) == 0:
            raise UserError(f"the dataset has no (or an empty) {name!r} split (it has: {', '.join(data.splits)}). "
                            f"Pass --fit-split and --split (the temperature is fitted on the first, reported on both).")
    if not is_entity_labels(list(data.labels)):
        raise UserError(f"calibration scores entity spans, but the {data.label_column!r} labels have no B-/I- entities "
                        f"({', '.join(list(data.labels)[:5])}, ...): there is no entity score to calibrate.")
    return splits


def _check_strategy(strategy: str | None) -> str | None:
    from nercore.strategies import recommendable

    if not strategy:
        return None
    chosen = check_strategies(strategy)
    if len(chosen) != 1 or chosen[0] not in recommendable():
        raise UserError(f"--strategy takes one strategy that returns whole entities ({', '.join(recommendable())}); "
                        f"got {strategy!r}.")
    return chosen[0]


def _read_split(pipe, model, dataset, name: str, names, types, ignore, batch_size: int, progress: bool):
    """One forward pass over a split, read as `nerkit evaluate --strategies` reads it."""
    tag_names = dataset.features["tags"].feature.names
    gold = [[tag_names[i] for i in tags] for tags in dataset["tags"]]
    plan = context_plan(model, dataset, "both")
    documents = plan.documents if plan.headline == "with" else None
    return temp.score_split(pipe, split_texts(list(dataset["tokens"]), gold, documents=documents), names, types,
                            ignore_labels=ignore, batch_size=batch_size, desc=f"calibrate: {name}", progress=progress)


def _first(dataset, max_samples: int | None):
    return dataset.select(range(min(max_samples, len(dataset)))) if max_samples else dataset


def check_folder(folder: str | Path) -> Path:
    """The folder to calibrate, checked before the data is read (a mistyped path fails at once)."""
    path = Path(folder)
    if not path.is_dir():
        raise UserError(f"{folder!s} is not a local folder: calibration rewrites the model's weights in place. "
                        "Download the model first (`hf download ID --local-dir DIR`) and pass DIR.")
    existing = path / runfolder.CALIBRATION
    record = Calibration.read(path) if existing.is_file() else None
    if record is not None and record.temperature != 1.0:  # T = 1 changed nothing: trying again is harmless
        raise UserError(f"{existing} says these weights already carry T = {record.temperature:g}; calibrating again "
                        "would divide the logits twice. Retrain, or restore the weights from before calibration and "
                        "delete the file, then run `nerkit calibrate` again.")
    return path


def _bake_and_check(folder: Path, head, t: float, scored: dict, splits: list[str], batch_size: int,
                    max_length: int | None, mapped_labels) -> dict:
    """Bake T, reload the folder as a user would, compare every sub-token's argmax; restore on any change."""
    from transformers import AutoTokenizer

    originals = temp.bake(folder, head, t)
    try:
        model = load_model(str(folder))
        pipe, _, _ = model_pipeline(model, AutoTokenizer.from_pretrained(str(folder)), mapped_labels, max_length=max_length)
        changed = total = 0
        worst = 0.0
        for name in splits:
            fresh = temp.rerun(pipe, scored[name], batch_size)
            changed += temp.changed_argmax(scored[name].logits, fresh)
            total += scored[name].sub_tokens
            worst = max(worst, max(float(abs(a / t - b).max()) for x, y in zip(scored[name].logits, fresh)
                                   for a, b in zip(x, y)))
    except BaseException:
        temp.restore(originals)
        raise
    if changed:
        temp.restore(originals)
        raise UserError(f"baking T = {t:g} changed the argmax of {changed} of {total} sub-tokens (it must change none); "
                        "the weights were restored. Please report this with the model's architecture.")
    return {"sub_tokens": total, "changed": 0, "splits": splits, "max_logit_difference": worst}


def _ece(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def format_report(record: Calibration) -> str:
    """What `nerkit calibrate` prints."""
    lines = [f"temperature {record.temperature:g}, fitted on {record.fit_split} to the `{record.strategy}` strategy's "
             f"entity scores ({len(record.tried)} values tried)"]
    names = list(next(iter(record.readings.values()))["before"])
    lines.append(f"{'split':<12} {'ECE before':>10} {'after':>6}   F1 before → after")
    for split, reading in record.readings.items():
        b, a = reading["before"], reading["after"]
        f1 = ", ".join(f"{n} {100 * b[n]['f1']:.2f} → {100 * a[n]['f1']:.2f}" for n in names)
        lines.append(f"{split:<12} {_ece(b[record.strategy]['ece']):>10} {_ece(a[record.strategy]['ece']):>6}   {f1}")
    check = record.argmax_check or {}
    if record.temperature == 1.0:
        lines.append("no temperature lowered the log-loss without lowering F1: the weights are unchanged")
    else:
        lines.append(f"argmax unchanged on all {check.get('sub_tokens', 0):,} sub-tokens of "
                     f"{' and '.join(check.get('splits', []))} (the saved model loaded back and compared)")
    return "\n".join(lines)
