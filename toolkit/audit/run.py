"""`nerkit audit`: out-of-sample probabilities for a split, ranked by cleanlab, written as `audit.jsonl`.

Two ways to get probabilities the model did not learn from: a trained model reads a split it was
not trained on (`audit_model`), or K models are trained, each reading the fold it did not see
(`audit_cross_validated`, in `toolkit.audit.crossval`). Both end here, in `finish`: cleanlab's rank
(`toolkit.audit.rank`), one row per suspect sentence (`toolkit.audit.records`), written at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nercore.errors import UserError
from nercore.runfolder.records import Calibration, DataInfo, TrainingArgs
from toolkit.audit.probabilities import label_projection, word_probabilities
from toolkit.audit.rank import QUALITIES, Ranking, check_entity_labels, check_quality, import_cleanlab, rank_issues
from toolkit.audit.records import AUDIT_FILE, AuditRow, audit_text, marked_sentence
from toolkit.labels import NerData
from toolkit.runtime import write_files_atomically

logger = logging.getLogger("toolkit")


@dataclass
class AuditResult:
    split: str
    rows: list[AuditRow]  # suspect sentences, most likely wrong first
    ranking: Ranking
    num_sentences: int
    cut_words: int  # words past the model's max length, not judged
    temperature: float | None  # the calibration baked into the model, when there was one
    path: Path  # the audit.jsonl written
    exports: list[Path]  # the annotation-tool files written beside it (--to)
    probabilities: list[np.ndarray]  # per sentence, the word probabilities that were ranked (to rank them again)


@dataclass(frozen=True)
class SplitPlaces:
    """Where each sentence of the audited split came from: file name and 1-based line (None when unknown)."""

    file: str | None
    lines: list[int] | None
    line_per_token: bool = False
    raw_split: object = None  # toolkit.data.RawSplit, whose `where` names a record of any source

    @classmethod
    def of(cls, raw, split: str) -> "SplitPlaces":
        raw_split = raw.splits.get(split) if raw is not None else None
        if raw_split is None:
            return cls(None, None)
        return cls(raw_split.file, raw_split.lines, raw_split.line_per_token, raw_split)

    def where(self, sentence: int) -> str:
        """'train.txt line 12 (sentence index 3)', 'tasks.json task 17 (sentence index 3)' or 'sentence index 3'."""
        return self.raw_split.where(sentence) if self.raw_split is not None else f"sentence index {sentence}"

    def line(self, sentence: int, word: int | None = None) -> int | None:
        if self.lines is None:
            return None
        return self.lines[sentence] + ((word or 0) if self.line_per_token else 0)


def check_split(data: NerData, split: str) -> None:
    check_entity_labels(list(data.labels), data.label_column)
    if split not in data.splits:
        raise UserError(f"the dataset has no {split!r} split (it has: {', '.join(data.splits)}). Pass --split.")
    if len(data.splits[split]) == 0:
        raise UserError(f"split {split!r} is empty: nothing to audit.")


def check_not_trained_on(model: str, data: NerData, split: str) -> None:
    """Refuse a split the run's records say the model was trained on: its probabilities are not out of sample."""
    folder = Path(model)
    if not folder.is_dir():
        return
    args, info = TrainingArgs.read(folder), DataInfo.read(folder)
    if args is None or info is None or not isinstance(args.config, dict):
        return
    train_split = args.config.get("train_split") or "train"
    trained = ((info.source or {}).get("files") or {}).get(train_split) or {}
    audited = (data.source.get("files") or {}).get(split) or {}
    if trained.get("sha256") and audited.get("sha256"):
        same = trained["sha256"] == audited["sha256"]
    else:
        same = split == train_split and (info.source or {}).get("name") == data.source.get("name")
    if same:
        raise UserError(
            f"{model} was trained on this {split!r} split ({folder / TrainingArgs.FILE} and {DataInfo.FILE} say so), "
            "so its probabilities there are not out of sample and would hide the label errors. Audit "
            f"--split validation or test with it, or audit {split!r} with --folds K --model BASE_MODEL."
        )


def audit_model(model_name: str, data: NerData, split: str, *, raw=None, output_dir: str | Path | None = None,
                revision: str | None = None, batch_size: int = 64, max_length: int | None = None,
                progress: bool = True, exports: tuple[str, ...] = (), quality: str = QUALITIES[0]) -> AuditResult:
    """Audit `split` with a trained model, read the way `nerkit evaluate` reads it (document context included)."""
    from toolkit.alignment import load_tokenizer
    from toolkit.evaluate.context import context_plan
    from toolkit.model_loading import load_model

    check_split(data, split)
    check_quality(quality)
    check_not_trained_on(model_name, data, split)
    import_cleanlab()
    out = Path(output_dir) if output_dir else default_output_dir(model_name)
    dataset = data.splits[split]
    model = load_model(model_name, revision=revision)
    tokenizer = load_tokenizer(model_name, revision=revision)
    model_labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    projection = label_projection(model_labels, list(data.labels))
    plan = context_plan(model, dataset, "both", None)
    probabilities = word_probabilities(
        model, tokenizer, list(dataset["tokens"]), projection, documents=plan.documents,
        context_tokens=plan.readings[plan.headline], batch_size=batch_size, max_length=max_length, progress=progress)
    calibration = Calibration.read(model_name) if Path(model_name).is_dir() else None
    return finish(data, split, probabilities.rows, probabilities.cut_words, out, SplitPlaces.of(raw, split),
                  temperature=calibration.temperature if calibration else None, exports=exports, quality=quality)


def default_output_dir(model: str) -> Path:
    path = Path(model)
    return path if path.is_dir() else Path("audit-" + model.replace("/", "--"))


def finish(data: NerData, split: str, probabilities: list[np.ndarray], cut_words: int, out: Path,
           places: SplitPlaces, *, temperature: float | None = None, folds: list[int] | None = None,
           exports: tuple[str, ...] = (), quality: str = QUALITIES[0]) -> AuditResult:
    """Rank with cleanlab, build one row per suspect sentence, write audit.jsonl (and the `exports`) as one set."""
    from toolkit.audit.exports import export_path, export_text

    dataset = data.splits[split]
    names = list(data.labels)
    labels = [list(tags) for tags in dataset["tags"]]
    ranking = rank_issues(labels, probabilities, names, quality)
    tokens = list(dataset["tokens"])
    rows = [_row(rank, sentence, split, tokens[sentence], [names[t] for t in labels[sentence]],
                 probabilities[sentence], ranking, places, names, folds)
            for rank, sentence in enumerate(ranking.order, start=1)]
    if cut_words:
        logger.warning("%d word(s) lie beyond the model's max length and were not audited.", cut_words)
    path = out / AUDIT_FILE
    own = {row.sentence_index: probabilities[row.sentence_index].max(axis=1).tolist() for row in rows}
    files = {path: audit_text(rows), **{export_path(out, tool): export_text(tool, rows, own) for tool in exports}}
    out.mkdir(parents=True, exist_ok=True)
    write_files_atomically(files)
    return AuditResult(split=split, rows=rows, ranking=ranking, num_sentences=len(labels), cut_words=cut_words,
                       temperature=temperature, path=path, exports=[p for p in files if p != path],
                       probabilities=probabilities)


def _row(rank: int, sentence: int, split: str, words: list[str], given: list[str], seen: np.ndarray,
         ranking: Ranking, places: SplitPlaces, names: list[str], folds: list[int] | None) -> AuditRow:
    predicted = [names[int(np.argmax(row))] for row in seen] + [None] * (len(words) - len(seen))
    issues = [{**vars(issue), "token": words[issue.word], "line": places.line(sentence, issue.word)}
              for issue in ranking.issues[sentence]]
    return AuditRow(
        rank=rank, split=split, sentence_index=sentence, file=places.file, line=places.line(sentence),
        where=places.where(sentence), score=float(ranking.scores[sentence]), tokens=list(words), given=given,
        predicted=predicted, marked=marked_sentence(words, {issue["word"] for issue in issues}), issues=issues,
        fold=folds[sentence] if folds is not None else None,
        absent=frozenset() if folds is not None else frozenset({"fold"}),
    )
