"""Stage 1: read token-classification data, whatever its source, into plain string tags per split.

Sources: a Hugging Face Hub dataset id, a `DatasetDict.save_to_disk` folder, and local files in
any format of the reader registry (`toolkit.data.registry`: CoNLL columns, CSV, JSON / JSON
Lines). Everything becomes the same `RawData`, so `labels.py` detects the tag scheme and builds
the label list in one place. Every user mistake is a `UserError` naming the file, line (and
column) and the offending value, raised before anything is returned, so no later stage ever sees
half-read data.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.data.brat import FRAGMENTS, is_brat_folder
from toolkit.data.files import discover_split_files, explicit_files, load_files
from toolkit.data.hf_datasets import load_disk, load_hub
from toolkit.data.label_list import LabelSource, load_label_list
from toolkit.data.raw import SPLIT_ALIASES, RawData, RawSplit, ReadOptions
from toolkit.data.registry import EXTENSIONS, FILE_KINDS, FORMATS, READERS, Reader, is_file_format
from toolkit.data.spans import OVERLAPS, SpanReport, check_overlaps_option
from nercore.errors import UserError

__all__ = [
    "EXTENSIONS", "FILE_KINDS", "FORMATS", "READERS", "SPLIT_ALIASES", "LabelSource", "RawData", "RawSplit",
    "Reader", "ReadOptions", "is_file_format", "load_label_list", "load_raw_splits",
    "FRAGMENTS", "OVERLAPS", "SpanReport", "read_span_file",
]


def load_raw_splits(
    dataset: str,
    *,
    label_column: str = "ner_tags",
    tokens_column: str = "tokens",
    tag_column: int = -1,
    data_files: dict[str, str] | None = None,
    config: str | None = None,
    revision: str | None = None,
    delimiter: str | None = None,
    labels: LabelSource | None = None,
    document_column: str | None = None,
    text_field: str | None = None,
    spans_field: str | None = None,
    annotator: str | None = None,
    overlaps: str = "refuse",
    fragments: str = "refuse",
) -> RawData:
    """Read every split of `dataset` (see the module docstring for the sources).

    `dataset` is, in this order: with `data_files`, the format (a `FORMATS` name, or "" to go by
    file extension) or a folder the relative `data_files` paths live in; else a
    save_to_disk folder, a folder of split files (train/validation|valid|dev/test + extension),
    a single file (its split from its name, else "train"); else a Hub dataset id.
    `delimiter` is None to split CoNLL columns on tabs when the first token line has one and on
    any whitespace otherwise. `labels` (a list or a label file, see `load_label_list`) names
    integer tags that come without a ClassLabel feature.

    Character-span sources (Label Studio, doccano, Prodigy, brat, datasets with a text column and
    a column of {start, end, label}) use `text_field`, `spans_field` (Label Studio: the labelling
    control's from_name), `annotator`, `overlaps` and `fragments`; see `read_span_file`.
    """
    options = ReadOptions(
        label_column=label_column,
        tokens_column=tokens_column,
        tag_column=tag_column,
        delimiter=delimiter,
        label_names=load_label_list(labels) if labels is not None else None,
        document_column=document_column,
        text_field=text_field,
        spans_field=spans_field,
        annotator=annotator,
        overlaps=check_overlaps_option(overlaps),
        fragments=check_fragments_option(fragments),
    )
    if data_files:
        files, file_format, name = explicit_files(dataset, data_files)
        return load_files(files, options, name=name, file_format=file_format)
    if not dataset:
        raise UserError("no dataset given: pass a Hub dataset id, a local folder or file, or per-split files.")
    path = Path(dataset).expanduser()
    if path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file()):
        return load_disk(path, options)
    if path.is_dir() and is_brat_folder(path):
        return load_files({"train": path}, options, name=path.resolve().name, file_format="brat")
    if path.is_dir():
        return load_files(discover_split_files(path), options, name=path.resolve().name)
    if path.is_file():
        split = SPLIT_ALIASES.get(path.stem.lower(), "train")
        return load_files({split: path}, options, name=path.name)
    if dataset.startswith((".", "/", "~")) or dataset.count("/") > 1 or "\\" in dataset:
        raise UserError(
            f"{dataset}: no such file or folder (and not a Hub dataset id, which looks like NAME or OWNER/NAME)."
        )
    return load_hub(dataset, config, revision, options)


def check_fragments_option(value: str) -> str:
    if value not in FRAGMENTS:
        raise UserError(f"--fragments must be one of {', '.join(FRAGMENTS)}, got {value!r}.")
    return value


def read_span_file(path: str | Path, fmt: str | None = None, *, labels: list[str] | None = None,
                   text_field: str | None = None, spans_field: str | None = None, annotator: str | None = None,
                   overlaps: str = "refuse", fragments: str = "refuse") -> RawSplit:
    """One annotation-tool export (a file, or a brat folder) as a `RawSplit` with texts and gold spans.

    `fmt` is a registry kind ("label-studio", "doccano", "prodigy", "brat"), or None to tell it from
    the extension and the first record. The result follows `toolkit.data.raw.SPAN_CONTRACT`:
    `split.texts[i]` and `split.spans[i]` (sorted `(start, end, label)` in Python str positions, end
    exclusive, whitespace trimmed, no overlaps), `split.record_names[i]`/`record_ids[i]` (the task id,
    line or file), one sentence per record with words in `tokens`, IOB2 `tags` and `word_offsets`,
    and `split.span_report` (`SpanReport.to_json()`: what reading changed). Raises `UserError` naming
    the record for a malformed one (end < start, end past the text, no text field, a label outside
    `labels`).
    """
    path = Path(path).expanduser()
    data = load_files({"train": path}, ReadOptions(
        label_column="ner_tags", tokens_column="tokens", tag_column=-1, delimiter=None, label_names=labels,
        text_field=text_field, spans_field=spans_field, annotator=annotator,
        overlaps=check_overlaps_option(overlaps), fragments=check_fragments_option(fragments),
    ), name=path.name, file_format=fmt)
    split = data.splits["train"]
    if not split.has_spans:
        raise UserError(f"{path.name}: read as {data.source['kind']}, which holds tokens and tags, not character "
                        f"spans; pass fmt (label-studio, doccano, prodigy or brat).")
    return split
