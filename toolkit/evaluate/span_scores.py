"""Exact character-span scores on the annotators' own texts: what `nerkit evaluate` reports for span data.

Why: data from Label Studio, doccano, Prodigy, brat or a span dataset is character spans over raw
text. nerkit trains on words cut from that text (nercore's word splitter, cut at every span edge),
so seqeval's word-level figure scores a reading no user ever sees. What the user gets is
`pipeline("token-classification", aggregation_strategy=...)` on their raw text, answering in
character spans; and what the annotators marked is character spans. So for span data every
strategy is scored here on the records' own texts, against the gold spans exactly as read (after
the reader's whitespace trimming and overlap rule), beside the word-level seqeval figures.

Matching is the strategies' rule (`toolkit.evaluate.strategies`): exact `(type, start, end)`, a
predicted span's whitespace edges stripped, predicted spans a multiset, precision/recall/F1 from
`toolkit.scores.prf` (seqeval's formulas). A record is one engine text, however long: the engine
reads a long text in overlapping windows, as `nerkit predict` and the Space do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from toolkit.evaluate.strategies import SplitTexts, model_pipeline, score_outputs, score_spans
from toolkit.model_loading import check_strategies

_CHUNK = 256  # records per engine call (progress granularity; records may be whole documents)
TEXT_RAW = "raw"  # the `strategies.text` value of span data: the records' own texts


@dataclass(frozen=True)
class GoldRecords:
    """A split's records as the annotation tool holds them: each text and its gold `(start, end, label)` spans."""

    texts: list[str]
    spans: list[list[tuple[int, int, str]]]

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.spans):
            raise ValueError(f"{len(self.texts)} texts but {len(self.spans)} span lists")

    @classmethod
    def of(cls, split: Any, sentences: int | None = None) -> "GoldRecords | None":
        """The records of a `RawSplit` read from character spans (None for word data); with `sentences`,
        only the records of its first `sentences` sentences (an evaluation of the first N sentences)."""
        if getattr(split, "texts", None) is None or getattr(split, "spans", None) is None:
            return None
        texts, spans = list(split.texts), [list(map(tuple, s)) for s in split.spans]
        owners = getattr(split, "sentence_records", None)
        if sentences is not None and owners and sentences < len(owners):
            last = owners[sentences - 1] + 1
            texts, spans = texts[:last], spans[:last]
        return cls(texts, spans)

    @property
    def num_spans(self) -> int:
        return sum(len(s) for s in self.spans)


def record_split(records: GoldRecords) -> SplitTexts:
    """The records as the strategies' `SplitTexts`: one engine text per record, gold as `(type, start, end)`."""
    gold = [[(label, int(start), int(end)) for start, end, label in spans] for spans in records.spans]
    indices = [[i] for i in range(len(records.texts))]
    return SplitTexts(list(records.texts), gold, indices, [(text, [0]) for text in records.texts])


def score_records(records: GoldRecords, outputs: Sequence[Mapping[str, Sequence[Mapping]]], names: Sequence[str],
                  types: Mapping[str, str | None] | None = None) -> dict:
    """Per strategy: the scores of the engine's `outputs` (one `{strategy: entities}` per record)."""
    return score_outputs(record_split(records), outputs, names, types)


def score_record_spans(records: GoldRecords, predicted: Sequence[Sequence[tuple[int, int, str]]]) -> dict:
    """Overall and per-type scores of predicted `(start, end, label)` spans (e.g. read back from a tool's file)."""
    gold = record_split(records).gold
    return score_spans(gold, [[(label, int(s), int(e)) for s, e, label in spans] for spans in predicted])


def evaluate_records(pipe: Any, records: GoldRecords, *, strategies=None, types=None,
                     ignore_labels: Sequence[str] = ("O",), batch_size: int = 32, progress: bool = False) -> dict:
    """`{strategy: scores}` of the pipeline on the records' own texts (see the module docstring)."""
    from tqdm.auto import tqdm

    from nercore.engine import predict_all_batch

    names = check_strategies(strategies)
    outputs: list[dict] = []
    chunks = range(0, len(records.texts), _CHUNK)
    for first in tqdm(chunks, desc="span scores", unit="chunk", disable=not progress or len(chunks) < 2):
        part = records.texts[first : first + _CHUNK]
        outputs += predict_all_batch(pipe, part, names, batch_size, max_chars=None, ignore_labels=tuple(ignore_labels))
    return score_records(records, outputs, names, types)


def evaluate_model_records(model: Any, tokenizer: Any, records: GoldRecords, mapped_labels: Sequence[str] | None = None,
                           *, strategies=None, batch_size: int = 32, max_length: int | None = None,
                           progress: bool = False) -> dict:
    """`evaluate_records` for a loaded model (its pipeline and the type map from its labels)."""
    pipe, types, ignore = model_pipeline(model, tokenizer, mapped_labels, max_length=max_length)
    return evaluate_records(pipe, records, strategies=strategies, types=types, ignore_labels=ignore,
                            batch_size=batch_size, progress=progress)


def strategies_block(split: str, num_sentences: int, records: GoldRecords, results: dict) -> dict:
    """eval_results.json's `strategies` block for span data (docs/eval-results.md)."""
    return {"split": split, "num_sentences": num_sentences, "text": TEXT_RAW, "num_records": len(records.texts),
            "results": results}


__all__ = ["GoldRecords", "TEXT_RAW", "evaluate_model_records", "evaluate_records", "record_split",
           "score_record_spans", "score_records", "strategies_block"]
