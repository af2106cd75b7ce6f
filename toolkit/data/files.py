"""Local split files: which file is which split, and which reader reads them (from the registry)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from toolkit.data.brat import is_brat_folder, read_folder
from toolkit.data.checks import finish_split
from toolkit.data.raw import SPLIT_ALIASES, RawData, ReadOptions, decode, read_bytes
from toolkit.data.registry import EXTENSIONS, FORMATS, kinds_text, reader_for, reader_named
from nercore.errors import UserError


def explicit_files(dataset: str, data_files: dict[str, str]) -> tuple[dict[str, Path], str | None, str]:
    """Resolve `data_files` and what `dataset` means beside them (a format or a base folder)."""
    base = None
    file_format = dataset if dataset in FORMATS else None
    if dataset and file_format is None:
        base = Path(dataset).expanduser()
        if not base.is_dir():
            raise UserError(
                f"with per-split files, the dataset must be the files' format ({kinds_text()}), a folder "
                f"the files are in, or empty; {dataset!r} is none of these. Drop it or pass --dataset {'|'.join(FORMATS)}."
            )
    files: dict[str, Path] = {}
    for split, file in data_files.items():
        name = SPLIT_ALIASES.get(split.lower(), split)
        if name in files:
            raise UserError(f"data files name the {name!r} split twice ({split!r} and another alias); give it once.")
        path = Path(file).expanduser()
        files[name] = base / path if base is not None and not path.is_absolute() else path
    if base is not None:
        name = base.resolve().name
    else:
        parents = {path.resolve().parent for path in files.values()}
        name = parents.pop().name if len(parents) == 1 else next(iter(files.values())).name
    return files, file_format, name


def discover_split_files(folder: Path) -> dict[str, Path]:
    """Split files in a folder: train/validation|valid|dev/test with a known extension or none."""
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        split = SPLIT_ALIASES.get(path.stem.lower())
        brat_split = path.is_dir() and SPLIT_ALIASES.get(path.name.lower()) and is_brat_folder(path)
        if not brat_split and (not path.is_file() or split is None or path.suffix.lower() not in EXTENSIONS):
            continue
        split = split or SPLIT_ALIASES[path.name.lower()]
        if split in files:
            raise UserError(
                f"{folder.name}: both {files[split].name} and {path.name} could be the {split!r} split; "
                f"keep one, or pick files with --{split}-file."
            )
        files[split] = path
    if not files:
        found = ", ".join(sorted(p.name for p in folder.iterdir())[:10]) or "nothing"
        raise UserError(
            f"folder {folder.name} has no split files (found: {found}). Expected train/validation/test files "
            f"(validation may be called valid or dev) ending in "
            f"{', '.join(e or '(none)' for e in EXTENSIONS)}, "
            f"a DatasetDict.save_to_disk folder, or pass per-split files."
        )
    order = list(dict.fromkeys(SPLIT_ALIASES.values()))
    return dict(sorted(files.items(), key=lambda item: order.index(item[0])))


def load_files(files: dict[str, Path], options: ReadOptions, *, name: str, file_format: str | None = None) -> RawData:
    """Read each split file with the one reader their format names (they must agree).

    The format is `file_format`, else each file's extension, and for extensions several formats
    share (.json, .jsonl) the file's first record (`registry.reader_for`).
    """
    texts: dict[str, tuple[dict, str]] = {}  # split -> (size and hash, text): the bytes are dropped once decoded
    for split, path in files.items():
        folder = path.is_dir() and (file_format == "brat" or (file_format is None and reader_for(path).folder))
        if not folder:
            data = read_bytes(path)
            texts[split] = (_file_info(path, data), decode(data, path.name))
            del data
    formats = {split: file_format or reader_for(path, texts[split][1] if split in texts else None).kind
               for split, path in files.items()}
    if len(set(formats.values())) > 1:
        listed = ", ".join(f"{files[s].name} is {f}" for s, f in formats.items())
        raise UserError(f"the split files have different formats ({listed}); use one format for all splits.")
    kind = next(iter(formats.values()))
    reader = reader_named(kind)
    splits, file_info = {}, {}
    for split, path in files.items():
        if reader.folder:
            if not path.is_dir():
                raise UserError(f"{path.name}: the {kind} format reads a folder; pass the folder that holds the files.")
            raw, file_info[split] = read_folder(path, options)
        else:
            if split not in texts:
                data = read_bytes(path)
                texts[split] = (_file_info(path, data), decode(data, path.name))
                del data
            file_info[split], text = texts.pop(split)
            raw = reader.read(text, path.name, options)
            del text
        splits[split] = finish_split(split, raw, options, options.label_names)
    source = {"kind": kind, "name": name, "config": None, "revision": None, "files": file_info, "fingerprints": {}}
    return RawData(splits=splits, label_names=options.label_names, label_column=options.label_column, source=source)


def _file_info(path: Path, data: bytes) -> dict:
    return {"path": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
