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

from toolkit.data.files import discover_split_files, explicit_files, load_files
from toolkit.data.hf_datasets import load_disk, load_hub
from toolkit.data.label_list import LabelSource, load_label_list
from toolkit.data.raw import SPLIT_ALIASES, RawData, RawSplit, ReadOptions
from toolkit.data.registry import EXTENSIONS, FILE_KINDS, FORMATS, READERS, Reader, is_file_format
from nercore.errors import UserError

__all__ = [
    "EXTENSIONS", "FILE_KINDS", "FORMATS", "READERS", "SPLIT_ALIASES", "LabelSource", "RawData", "RawSplit",
    "Reader", "ReadOptions", "is_file_format", "load_label_list", "load_raw_splits",
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
) -> RawData:
    """Read every split of `dataset` (see the module docstring for the sources).

    `dataset` is, in this order: with `data_files`, the format (a `FORMATS` name, or "" to go by
    file extension) or a folder the relative `data_files` paths live in; else a
    save_to_disk folder, a folder of split files (train/validation|valid|dev/test + extension),
    a single file (its split from its name, else "train"); else a Hub dataset id.
    `delimiter` is None to split CoNLL columns on tabs when the first token line has one and on
    any whitespace otherwise. `labels` (a list or a label file, see `load_label_list`) names
    integer tags that come without a ClassLabel feature.
    """
    options = ReadOptions(
        label_column=label_column,
        tokens_column=tokens_column,
        tag_column=tag_column,
        delimiter=delimiter,
        label_names=load_label_list(labels) if labels is not None else None,
        document_column=document_column,
    )
    if data_files:
        files, file_format, name = explicit_files(dataset, data_files)
        return load_files(files, options, name=name, file_format=file_format)
    if not dataset:
        raise UserError("no dataset given: pass a Hub dataset id, a local folder or file, or per-split files.")
    path = Path(dataset).expanduser()
    if path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file()):
        return load_disk(path, options)
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
