"""Dataset flags shared by `train`, `evaluate` and `publish`."""

from __future__ import annotations

import argparse
import sys


def _data_help() -> str:
    """The sources part of `--help`; the file formats come from the data registry."""
    from toolkit.data.registry import READERS

    formats = [
        f"    {reader.kind:<13}{'(a folder)' if reader.folder else ' '.join(e or '(none)' for e in reader.extensions):<30}"
        f"{reader.help}" for reader in READERS
    ]
    return "\n".join([
        "dataset sources (--dataset):",
        "  a Hub dataset id          conll2003, or USER/NAME (with --dataset-config/--dataset-revision)",
        "  a save_to_disk folder     a folder written by DatasetDict.save_to_disk",
        "  local files               a folder with train/validation/test files, or per-split files via",
        "                            --train-file/--validation-file/--test-file; the extension picks the",
        "                            format (.json/.jsonl: also their first record), or name it as the",
        "                            dataset (--dataset FORMAT):",
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
    add_span_arguments(parser)


def add_span_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags for character-span exports (Label Studio, doccano, Prodigy, brat, span datasets): docs/annotations.md."""
    spans = parser.add_argument_group("annotation-tool exports (character spans; docs/annotations.md)")
    spans.add_argument("--text-field", default=None, metavar="NAME",
                       help="the field/column holding the text (default: text, or the only text field)")
    spans.add_argument("--label-control", default=None, metavar="FROM_NAME",
                       help="Label Studio: the labelling control (from_name) to read when a task has several; "
                            "span datasets: the column of {start, end, label} lists")
    spans.add_argument("--annotator", default=None, metavar="ID",
                       help="Label Studio: use this annotator's annotation (completed_by id or e-mail; default: "
                            "the most recently updated annotation of each task)")
    spans.add_argument("--span-alignment", default="expand", choices=["expand", "contract", "refuse"],
                       help="a span edge inside a sub-token: expand to it (default), contract to the sub-tokens "
                            "inside, or refuse")
    spans.add_argument("--overlaps", default="refuse", choices=["refuse", "longest", "first"],
                       help="overlapping spans: refuse naming both (default), keep the longest, or the first")
    spans.add_argument("--fragments", default="refuse", choices=["refuse", "join", "drop"],
                       help="brat discontinuous entities: refuse (default), join first start..last end, or drop")


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
        text_field=getattr(args, "text_field", None),
        spans_field=getattr(args, "label_control", None),
        annotator=getattr(args, "annotator", None),
        overlaps=getattr(args, "overlaps", "refuse"),
        fragments=getattr(args, "fragments", "refuse"),
        **kwargs,
    )
    raw = _align_spans(raw, args)
    if labels is not None and any(split.has_spans for split in raw.splits.values()):
        from toolkit.span_alignment import span_label_list

        labels = span_label_list(labels)  # bare types (PER, LOC) -> O, B-PER, I-PER, ...
    return raw, prepare_labels(raw, labels=labels)


def _align_spans(raw, args: argparse.Namespace):
    """Character-span data aligned to the model's tokenizer (toolkit.span_alignment); other data unchanged."""
    from toolkit.span_alignment import has_spans

    if not has_spans(raw):
        return raw
    from transformers import AutoConfig

    from toolkit.alignment import load_tokenizer
    from toolkit.runtime import is_main_process
    from toolkit.span_alignment import align_spans, report_lines

    model = getattr(args, "model", None) or getattr(args, "run_dir", None)
    revision = getattr(args, "revision", None)
    tokenizer = load_tokenizer(model, revision=revision)
    try:
        config = AutoConfig.from_pretrained(model, revision=revision)
    except (OSError, ValueError):
        config = None
    raw = align_spans(raw, tokenizer, policy=getattr(args, "span_alignment", "expand"),
                      overlaps=getattr(args, "overlaps", "refuse"), max_length=getattr(args, "max_length", None),
                      context_tokens=getattr(args, "context_tokens", 0) or 0, config=config)
    if is_main_process():
        print("character spans read and aligned to the model's sub-tokens (docs/annotations.md#the-alignment-report):",
              *report_lines(raw), sep="\n", file=sys.stderr)
    return raw
