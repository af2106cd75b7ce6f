"""The cross-validated audit: K trainings (`nerkit train`'s own `train`, same flags), each reading its held-out fold.

Cost: K trainings of K-1 folds each, about K-1 times one `nerkit train` on the split, plus one
reading of the split. Each finished fold's probabilities are kept (`toolkit.audit.folds`), so an
interrupted run started again with the same flags trains only the folds it had not finished and
gives the same result. A fold's model folder is a scratch folder, removed once read.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import datasets

from nercore.errors import UserError
from toolkit.audit.folds import FOLDS_DIR, assign_folds, check_folds, fingerprint, fold_path, load_fold, save_fold
from toolkit.audit.probabilities import label_projection, word_probabilities
from toolkit.audit.rank import QUALITIES, check_quality, import_cleanlab
from toolkit.audit.run import AuditResult, SplitPlaces, check_split, finish
from toolkit.labels import DOCUMENT_COLUMN, NerData

# Flags that decide a fold's probabilities (others, like --output-dir or --overwrite, do not).
_IGNORED_FIELDS = ("output_dir", "command", "overwrite", "resume_from_checkpoint", "keep_checkpoints", "train_split")


def fold_groups(dataset) -> tuple[list[int], bool]:
    """Each sentence's group (its document, else itself) and whether the split marks documents."""
    if DOCUMENT_COLUMN in dataset.column_names:
        return list(dataset[DOCUMENT_COLUMN]), True
    return list(range(len(dataset))), False


def audit_cross_validated(config, data: NerData, split: str, folds: int, *, raw=None, output_dir: str | Path,
                          progress: bool = True, exports: tuple[str, ...] = (), quality: str = QUALITIES[0],
                          say=print) -> AuditResult:
    """Audit `split` with `folds` models trained by `toolkit.training.train` from `config` (a TrainConfig)."""
    check_split(data, split)
    check_quality(quality)
    if config.eval_split not in data.splits:
        raise UserError(
            f"the dataset has no {config.eval_split!r} split for choosing each fold's best epoch (it has: "
            f"{', '.join(data.splits)}). Pass --eval-split (--eval-split {split} scores each fold on its own training part)."
        )
    import_cleanlab()
    dataset = data.splits[split]
    groups, documents = fold_groups(dataset)
    check_folds(folds, groups, documents=documents)
    assignment = assign_folds(groups, folds, config.seed)
    flags = {k: v for k, v in dataclasses.asdict(config).items() if k not in _IGNORED_FIELDS}
    base = fingerprint(data=_content(dataset), labels=list(data.labels), folds=assignment, flags=flags,
                       eval=_content(data.splits[config.eval_split]))
    out = Path(output_dir)
    rows: list = [None] * len(dataset)
    cut_words = 0
    for fold in range(folds):
        held = [i for i, f in enumerate(assignment) if f == fold]
        key = fingerprint(base=base, fold=fold)
        kept = load_fold(fold_path(out, fold), key)
        if kept is None:
            say(f"fold {fold + 1}/{folds}: training on {len(dataset) - len(held)} sentences, "
                f"then reading the {len(held)} held out")
            kept = _run_fold(config, data, split, held, assignment, fold, out, progress)
            save_fold(fold_path(out, fold), key, *kept)
        else:
            say(f"fold {fold + 1}/{folds}: kept from {fold_path(out, fold)} ({len(held)} sentences)")
        indices, fold_rows, cut = kept
        for index, row in zip(indices, fold_rows):
            rows[index] = row
        cut_words += cut
    return finish(data, split, rows, cut_words, out, SplitPlaces.of(raw, split), folds=assignment, exports=exports,
                  quality=quality)


def _content(dataset) -> str:
    """A hash of a split's words, tags (and documents): kept folds are reused only for the same data."""
    columns = [c for c in ("tokens", "tags", DOCUMENT_COLUMN) if c in dataset.column_names]
    return fingerprint(**{column: dataset[column] for column in columns})


def _run_fold(config, data: NerData, split: str, held: list[int], assignment: list[int], fold: int, out: Path,
              progress: bool):
    """Train on every fold but `fold`, read the held-out sentences; returns (indices, word rows, cut words)."""
    from toolkit.alignment import load_tokenizer
    from toolkit.evaluate.context import context_plan
    from toolkit.model_loading import load_model
    from toolkit.training import train

    dataset = data.splits[split]
    training = dataset.select([i for i, f in enumerate(assignment) if f != fold])
    fold_data = dataclasses.replace(data, splits=datasets.DatasetDict({**data.splits, split: training}))
    scratch = out / FOLDS_DIR / f"fold_{fold}_model"
    fold_config = dataclasses.replace(config, output_dir=str(scratch), train_split=split, overwrite=True,
                                      resume_from_checkpoint=None, keep_checkpoints=False, command=None)
    train(fold_config, fold_data)
    model, tokenizer = load_model(str(scratch)), load_tokenizer(str(scratch))
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    reading = dataset.select(held)
    plan = context_plan(model, reading, "both", None)
    probabilities = word_probabilities(
        model, tokenizer, list(reading["tokens"]), label_projection(labels, list(data.labels)),
        documents=plan.documents, context_tokens=plan.readings[plan.headline], batch_size=config.eval_batch_size,
        max_length=config.max_length, progress=progress)
    shutil.rmtree(scratch, ignore_errors=True)
    return held, probabilities.rows, probabilities.cut_words
