"""Dataset flags shared by `train`, `evaluate` and `publish`."""

from __future__ import annotations

import argparse


def _data_help() -> str:
    """The sources part of `--help`; the file formats come from the data registry."""
    from toolkit.data.registry import READERS

    formats = [
        f"    {reader.kind:<7}{' '.join(e or '(none)' for e in reader.extensions):<30}{reader.help}" for reader in READERS
    ]
    return "\n".join([
        "dataset sources (--dataset):",
        "  a Hub dataset id          conll2003, or USER/NAME (with --dataset-config/--dataset-revision)",
        "  a save_to_disk folder     a folder written by DatasetDict.save_to_disk",
        "  local files               a folder with train/validation/test files, or per-split files via",
        "                            --train-file/--validation-file/--test-file; the extension picks the",
        "                            format, or name it as the dataset (--dataset FORMAT):",
        *formats,
        "",
    ])


DATA_HELP = _data_help()


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument(
        "--dataset",
        default=None,
        help="Hub dataset id, or a local folder/file (see below); optional with --train-file etc.",
    )
    group.add_argument("--dataset-config", default=None, help="Hub dataset configuration name")
    group.add_argument("--dataset-revision", default=None, help="Hub dataset revision (branch, tag or commit)")
    group.add_argument("--train-file", default=None, help="training split file (any format below)")
    group.add_argument("--validation-file", default=None, help="validation split file")
    group.add_argument("--test-file", default=None, help="test split file")
    group.add_argument(
        "--label-column",
        default="ner_tags",
        help="column holding the tags: ner_tags (default), pos_tags, chunk_tags, or your column's name",
    )
    group.add_argument("--tokens-column", default="tokens", help="column holding the words (default: tokens)")
    group.add_argument(
        "--tag-column",
        type=int,
        default=None,
        help="for CoNLL column files: 0-based column of the tag (default: last; pos_tags/chunk_tags pick 1/2)",
    )
    group.add_argument(
        "--document-column", default=None, metavar="NAME",
        help="JSON/CSV/datasets column holding each sentence's document id, for document context (default: "
        "document_id, doc_id, document or doc when present; CoNLL files mark documents with -DOCSTART-)",
    )
    group.add_argument(
        "--labels",
        default=None,
        help="label list in id order: a text file (one per line), a JSON list, a run's labels.json or a "
        "model's config.json (default: from the dataset)",
    )


def data_files(args: argparse.Namespace) -> dict[str, str] | None:
    files = {
        split: path
        for split, path in (("train", args.train_file), ("validation", args.validation_file), ("test", args.test_file))
        if path
    }
    return files or None


def load_data(args: argparse.Namespace):
    """Load and prepare the dataset the flags describe (raises UserError on bad input)."""
    return load_raw_and_data(args)[1]


def load_raw_and_data(args: argparse.Namespace):
    """(RawData, NerData): the raw splits keep each sentence's file and line (`nerkit audit` reports them)."""
    from toolkit.data import load_label_list, load_raw_splits
    from nercore.errors import UserError
    from toolkit.labels import prepare_labels

    labels = load_label_list(args.labels) if args.labels else None
    kwargs = {"tag_column": args.tag_column} if args.tag_column is not None else {}
    files = data_files(args)
    if args.dataset is None and files is None:
        raise UserError("pass --dataset (a Hub id or a local folder) or --train-file/--validation-file/--test-file")
    raw = load_raw_splits(
        args.dataset or "",
        label_column=args.label_column,
        tokens_column=args.tokens_column,
        data_files=files,
        config=args.dataset_config,
        revision=args.dataset_revision,
        labels=labels,
        document_column=args.document_column,
        **kwargs,
    )
    return raw, prepare_labels(raw, labels=labels)
