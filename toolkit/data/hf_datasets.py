"""Sources that are already `datasets` objects: `save_to_disk` folders and Hub dataset ids.

`datasets` is imported inside the functions so that reading the format registry (CLI help) stays cheap.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.data.checks import finish_split
from toolkit.data.span_datasets import read_split, span_columns
from toolkit.data.raw import RawData, RawSplit, ReadOptions, check_columns, document_field
from nercore.errors import UserError


def load_disk(path: Path, options: ReadOptions) -> RawData:
    import datasets

    loaded = datasets.load_from_disk(str(path))
    splits = loaded if isinstance(loaded, datasets.DatasetDict) else {"train": loaded}
    return _from_datasets(splits, options, kind="disk", name=path.resolve().name, config=None, revision=None)


def load_hub(dataset: str, config: str | None, revision: str | None, options: ReadOptions) -> RawData:
    import datasets

    try:
        loaded = datasets.load_dataset(dataset, config, revision=revision)
    except (OSError, ValueError, datasets.exceptions.DatasetsError) as err:
        raise UserError(
            f"cannot load dataset {dataset!r}: it is neither a local file or folder nor reachable on the Hugging Face "
            f"Hub ({type(err).__name__}: {err}). Pass an existing path (a folder of train/validation/test files, a "
            f"save_to_disk folder, or a CoNLL/CSV/JSON file) or a Hub dataset id such as conll2003 "
            f"(check the spelling, the network, and `hf auth login` for private or gated datasets)."
        ) from None
    return _from_datasets(loaded, options, kind="hub", name=dataset, config=config, revision=revision)


def _from_datasets(
    splits, options: ReadOptions, *, kind: str, name: str, config: str | None, revision: str | None
) -> RawData:
    import datasets

    raw_splits, label_names = {}, None
    for split, dataset in splits.items():
        found = span_columns(dataset[:5], options)
        if found is not None:
            raw_splits[split] = finish_split(split, read_split(dataset, split, *found, options), options, None)
            continue
        check_columns(list(dataset.features), options, f"split {split!r}")
        feature = getattr(dataset.features[options.label_column], "feature", None)
        names = feature.names if isinstance(feature, datasets.ClassLabel) else options.label_names
        if label_names is not None and names != label_names:
            raise UserError(
                f"split {split!r} has different label names from the other splits ({names} vs {label_names}); "
                f"all splits must share one ClassLabel."
            )
        label_names = names
        doc_field = document_field(list(dataset.features), options.document_column, f"split {split!r}")
        wanted = [options.tokens_column, options.label_column, *([doc_field] if doc_field else [])]
        columns = dataset.select_columns(wanted).to_dict()
        raw = RawSplit(tokens=columns[options.tokens_column], tags=columns[options.label_column],
                       documents=columns[doc_field] if doc_field else None)
        raw_splits[split] = finish_split(split, raw, options, names)
    fingerprints = {split: getattr(dataset, "_fingerprint", None) for split, dataset in splits.items()}
    source = {
        "kind": kind,
        "name": name,
        "config": config,
        "revision": revision,
        "files": {},
        "fingerprints": fingerprints,
    }
    return RawData(splits=raw_splits, label_names=label_names, label_column=options.label_column, source=source)
