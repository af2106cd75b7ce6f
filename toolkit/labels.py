"""Stage 2: decide the label list and tag scheme, and turn RawData into a typed DatasetDict.

Training always sees IOB2 (or plain tags for prefix-less sets such as POS): IOB1 and BIOES inputs
are converted here, once, so alignment, training and evaluation never need to know the source
scheme. Label ids follow the source's ClassLabel when there is one, so a model trained on local
files is interchangeable with one trained on the same Hub dataset.
"""

from __future__ import annotations

import logging
import math
import os
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import datasets

from nercore.tags import (
    detect_scheme, entity_spans, entity_types, infer_label_list, is_entity_labels, split_tag, to_iob2,
)
from toolkit.data import LabelSource, RawData, load_label_list
from nercore.errors import UserError

logger = logging.getLogger(__name__)

# Hugging Face `conll2003` ner_tags ClassLabel order; CoNLL-2003 files with this label set get it too.
DOCUMENT_COLUMN = "document"  # each sentence's document index, where the source marks documents
# Character-span data only: each sentence's raw text and its words' (start, end) in it, so the alignment
# stage tokenizes the text as the pipeline will (toolkit.alignment.offset_word_ids).
TEXT_COLUMN = "text"
OFFSETS_COLUMN = "word_offsets"

CONLL2003_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


@dataclass
class NerData:
    splits: datasets.DatasetDict  # columns "tokens": list[str], "tags": Sequence(ClassLabel(names=labels))
    labels: list[str]  # id order; "O" first for inferred BIO sets; HF order for ClassLabel sources
    label_column: str
    scheme: str  # scheme used for training: "IOB2", or "none" for prefix-less tag sets (POS)
    source_scheme: str  # detected in the input: "IOB1" | "IOB2" | "BIOES" | "none"
    source: dict  # RawData.source
    raw: RawData | None = None  # what it was built from, kept for character-span sources only (texts, gold spans)


def prepare_labels(raw: RawData, labels: LabelSource | None = None) -> NerData:
    """Convert to IOB2, fix the label list and build the DatasetDict the later stages train and score on.

    `labels` (a list or a label file) is the user's label list in id order: every tag must be in it.
    Without it the list comes from the source's ClassLabel, else is inferred from the tags.
    """
    all_tags = [tags for split in raw.splits.values() for tags in split.tags]
    source_scheme = detect_scheme(all_tags)
    if source_scheme != "none":
        _check_all_prefixed(raw)
    converted = {name: [to_iob2(tags, source_scheme) for tags in split.tags] for name, split in raw.splits.items()}
    _log_scheme(source_scheme, raw, converted)

    if labels is not None:
        label_list = load_label_list(labels)
        origin = (
            f"the label list from {Path(labels).name}" if isinstance(labels, (str, os.PathLike)) else "the label list"
        )
    elif raw.label_names:
        label_list = _iob2_names(raw.label_names) if source_scheme in ("IOB1", "BIOES") else list(raw.label_names)
        origin = "the dataset's label names"
    else:
        label_list = infer_label_list(tags for split in converted.values() for tags in split)
        if set(label_list) == set(CONLL2003_LABELS):
            label_list = list(CONLL2003_LABELS)
        origin = "the inferred label list"
    _check_known(raw, converted, label_list, origin)

    ids = {label: index for index, label in enumerate(label_list)}
    splits = datasets.DatasetDict(
        {name: _split_dataset(raw.splits[name], sentences, ids, label_list) for name, sentences in converted.items()}
    )
    return NerData(
        splits=splits,
        labels=label_list,
        label_column=raw.label_column,
        scheme="none" if source_scheme == "none" else "IOB2",
        source_scheme=source_scheme,
        source=raw.source,
        # only span sources need their raw records later (describe's span report); word sources let the
        # Python lists of every sentence go as soon as the Arrow tables exist (issue 26, bench/train_memory.py)
        raw=raw if any(split.has_spans or split.span_report is not None for split in raw.splits.values()) else None,
    )


ARROW_CHUNK = 10_000  # sentences per Arrow block built from Python lists (bounds the copies from_dict makes)


def _split_dataset(split, sentences: list[list[str]], ids: dict[str, int], label_list: list[str]):
    """tokens + tag ids; a `document` column (int) only where the source marks documents.

    Built ARROW_CHUNK sentences at a time and concatenated (no copy): `Dataset.from_dict` holds a few
    encoded copies of what it is given, which for a whole large corpus cost more than the corpus
    (issue 26, bench/train_memory.py); the rows, features and order are the same.
    """
    columns = {"tokens": split.tokens, "tags": _LazyTagIds(sentences, ids)}
    features = {
        "tokens": datasets.Sequence(datasets.Value("string")),
        "tags": datasets.Sequence(datasets.ClassLabel(names=label_list)),
    }
    if split.documents is not None:
        columns[DOCUMENT_COLUMN] = document_numbers(split.documents)
        features[DOCUMENT_COLUMN] = datasets.Value("int64")
    if split.word_offsets is not None and split.texts is not None:
        columns[TEXT_COLUMN], columns[OFFSETS_COLUMN] = sentence_texts(split)
        features[TEXT_COLUMN] = datasets.Value("string")
        features[OFFSETS_COLUMN] = datasets.Sequence(datasets.Sequence(datasets.Value("int64")))
    features = datasets.Features(features)
    size = len(split.tokens)
    if size <= ARROW_CHUNK:
        return datasets.Dataset.from_dict({k: list(v[0:size]) for k, v in columns.items()}, features=features)
    return datasets.concatenate_datasets([
        datasets.Dataset.from_dict({k: list(v[start:start + ARROW_CHUNK]) for k, v in columns.items()}, features=features)
        for start in range(0, size, ARROW_CHUNK)
    ])


class _LazyTagIds:
    """The tag-id lists of `sentences`, made one slice at a time (never all at once)."""

    def __init__(self, sentences: list[list[str]], ids: dict[str, int]):
        self.sentences, self.ids = sentences, ids

    def __getitem__(self, rows: slice) -> list[list[int]]:
        return [[self.ids[tag] for tag in tags] for tags in self.sentences[rows]]


def sentence_texts(split) -> tuple[list[str], list[list[list[int]]]]:
    """Each sentence's stretch of its record's text (first word to last) and its words' offsets in it."""
    texts, offsets = [], []
    for record, words in zip(split.sentence_records, split.word_offsets):
        base = words[0][0]
        texts.append(split.texts[record][base:words[-1][1]])
        offsets.append([[start - base, end - base] for start, end in words])
    return texts, offsets


def document_numbers(ids: list) -> list[int]:
    """Document ids (strings, integers) as consecutive-run numbers; a missing id (None) stands alone."""
    numbers, previous, current = [], object(), -1
    for value in ids:
        if value is None or value != previous:
            current += 1
        numbers.append(current)
        previous = value if value is not None else object()
    return numbers


def _check_all_prefixed(raw: RawData) -> None:
    """A BIO set mixed with prefix-less tags ("B-PER" and "PER") is a data error, not a scheme."""
    for name, split in raw.splits.items():
        for index, tags in enumerate(split.tags):
            for position, tag in enumerate(tags):
                if tag != "O" and split_tag(tag)[0] is None:
                    raise UserError(
                        f"split {name!r}, {split.where(index, position)}: tag {tag!r} has no B-/I-/E-/S- prefix, but "
                        f"other tags do. Use prefixed tags (B-{tag}, I-{tag}) and O throughout, or plain tags only."
                    )


def _log_scheme(source_scheme: str, raw: RawData, converted: dict[str, list[list[str]]]) -> None:
    if source_scheme == "none":
        logger.info("Tag scheme of %r: no B-/I- prefixes; plain tags (e.g. POS), no conversion.", raw.label_column)
    elif source_scheme == "IOB2":
        logger.info("Tag scheme of %r: IOB2; no conversion needed.", raw.label_column)
    else:
        changed = sum(
            before != after
            for name, split in raw.splits.items()
            for tags, new_tags in zip(split.tags, converted[name])
            for before, after in zip(tags, new_tags)
        )
        logger.info(
            "Tag scheme of %r: %s; converted to IOB2 for training (%d tags changed).",
            raw.label_column,
            source_scheme,
            changed,
        )


def _iob2_names(names: list[str]) -> list[str]:
    """A converted ClassLabel list: source order kept, E-/S- dropped, each type's missing B-/I- added beside it."""
    result: list[str] = []
    for name in names:
        prefix, entity_type = split_tag(name)
        for label in [name] if prefix is None else [f"B-{entity_type}", f"I-{entity_type}"]:
            if label not in result:
                result.append(label)
    return result


def _check_known(raw: RawData, converted: dict[str, list[list[str]]], label_list: list[str], origin: str) -> None:
    known = set(label_list)
    for name, sentences in converted.items():
        split = raw.splits[name]
        for index, tags in enumerate(sentences):
            for position, tag in enumerate(tags):
                if tag not in known:
                    original = split.tags[index][position]
                    shown = f"{tag!r} (written {original!r} in the input)" if original != tag else repr(tag)
                    raise UserError(
                        f"split {name!r}, {split.where(index, position)}: tag {shown} is not in {origin} "
                        f"({', '.join(label_list)}). Add it to the label list, or fix the tag."
                    )


def describe(data: NerData) -> dict:
    """The `data_info.json` dict: source, labels, schemes and per-split sizes, entity counts and lengths.

    Entity sets count spans per type ("entities", every type listed, zero included); plain tag
    sets (POS) count tags instead ("tags").
    """
    entities = is_entity_labels(data.labels)
    splits = {}
    for name, dataset in data.splits.items():
        lengths: list[int] = []
        counts: Counter = Counter()
        for batch in dataset.select_columns(["tags"]).iter(batch_size=ARROW_CHUNK):  # never the whole split as lists
            sentences = [[data.labels[tag_id] for tag_id in ids] for ids in batch["tags"]]
            lengths += [len(tags) for tags in sentences]
            if entities:
                counts.update(span[0] for tags in sentences for span in entity_spans(tags))
            else:
                counts.update(tag for tags in sentences for tag in tags)
        info: dict = {"sentences": len(lengths), "tokens": sum(lengths)}
        if DOCUMENT_COLUMN in dataset.column_names:
            info["documents"] = len(set(dataset[DOCUMENT_COLUMN]))
        if entities:
            info["entities"] = {entity_type: counts[entity_type] for entity_type in entity_types(data.labels)}
        else:
            info["tags"] = {tag: counts[tag] for tag in sorted(data.labels)}
        info["length"] = _length_stats(lengths)
        splits[name] = info
    info = {
        "source": data.source,
        "label_column": data.label_column,
        "labels": list(data.labels),
        "scheme": data.scheme,
        "source_scheme": data.source_scheme,
        "splits": splits,
    }
    reports = {name: split.span_report for name, split in (data.raw.splits.items() if data.raw else ())
               if split.span_report is not None}
    if reports:
        info["span_alignment"] = reports
    return info


def _length_stats(lengths: list[int]) -> dict:
    """Sentence lengths in tokens; p95 by the nearest-rank method so it is a real sentence length."""
    ordered = sorted(lengths)
    median = statistics.median(ordered)
    return {
        "min": ordered[0],
        "mean": round(statistics.fmean(ordered), 2),
        "median": int(median) if float(median).is_integer() else median,
        "p95": ordered[math.ceil(0.95 * len(ordered)) - 1],
        "max": ordered[-1],
    }
