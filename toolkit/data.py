"""Stage 1: read token-classification data, whatever its source, into plain string tags per split.

Sources: a Hugging Face Hub dataset id, a `DatasetDict.save_to_disk` folder, CoNLL column files,
and CSV / JSON / JSON Lines files with a tokens column and a tags column. Everything becomes the
same `RawData`, so `labels.py` detects the tag scheme and builds the label list in one place.
Every user mistake is a `UserError` naming the file, line (and column) and the offending value,
raised before anything is returned, so no later stage ever sees half-read data.

CoNLL column files have no column names. `label_column` picks the tag column for the 4-column
CoNLL-2003 layout (`token POS chunk NER`): "pos_tags" is column 1, "chunk_tags" column 2, and
anything else (the default "ner_tags") the last column. For other layouts pass `tag_column`
(0-based; column 0 is the token), which always wins over that mapping.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import datasets

from toolkit.errors import UserError

# File stems that name a split; "valid"/"dev" are common spellings of "validation".
SPLIT_ALIASES = {
    "train": "train",
    "validation": "validation",
    "valid": "validation",
    "dev": "validation",
    "test": "test",
}
FORMATS_BY_EXTENSION = {
    "": "conll",
    ".txt": "conll",
    ".conll": "conll",
    ".iob": "conll",
    ".tsv": "conll",
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "json",
}
FORMATS = ("conll", "csv", "json")
# Tag columns of the 4-column CoNLL-2003 files (token POS chunk NER), by HF column name.
CONLL2003_COLUMNS = {"pos_tags": 1, "chunk_tags": 2}
_INT = re.compile(r"-?\d+")

LabelSource = Sequence[str] | str | os.PathLike


@dataclass
class RawSplit:
    """One split's sentences; `file`/`lines` say where each sentence came from, for error messages."""

    tokens: list[list[str]]
    tags: list[list[str]]  # strings once load_raw_splits returns (integer tags are mapped to names)
    file: str | None = None  # file name (never a full path)
    lines: list[int] | None = None  # 1-based line of each sentence (of its first token for CoNLL)
    line_per_token: bool = False  # CoNLL: token j of sentence i sits on line lines[i] + j

    def where(self, sentence: int, token: int | None = None) -> str:
        """'train.txt line 12 (sentence index 3)' or 'sentence index 3' when no file is known."""
        place = f"sentence index {sentence}"
        if self.file is None:
            return place
        if self.lines is None:
            return f"{self.file} ({place})"
        line = self.lines[sentence] + ((token or 0) if self.line_per_token else 0)
        return f"{self.file} line {line} ({place})"


@dataclass
class RawData:
    splits: dict[str, RawSplit]  # split name -> sentences, in file/dataset order
    label_names: list[str] | None  # from a ClassLabel feature (id order kept), or the names that mapped int tags
    label_column: str
    source: dict  # provenance, JSON-safe, no absolute paths (see data_info.json in ARCHITECTURE.md)


@dataclass(frozen=True)
class _Options:
    label_column: str
    tokens_column: str
    tag_column: int
    delimiter: str | None
    label_names: list[str] | None


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
) -> RawData:
    """Read every split of `dataset` (see the module docstring for the sources).

    `dataset` is, in this order: with `data_files`, the format ("conll", "csv", "json", or "" to
    go by file extension) or a folder the relative `data_files` paths live in; else a
    save_to_disk folder, a folder of split files (train/validation|valid|dev/test + extension),
    a single file (its split from its name, else "train"); else a Hub dataset id.
    `delimiter` is None to split CoNLL columns on tabs when the first token line has one and on
    any whitespace otherwise. `labels` (a list or a label file, see `load_label_list`) names
    integer tags that come without a ClassLabel feature.
    """
    options = _Options(
        label_column=label_column,
        tokens_column=tokens_column,
        tag_column=tag_column,
        delimiter=delimiter,
        label_names=load_label_list(labels) if labels is not None else None,
    )
    if data_files:
        files, file_format, name = _explicit_files(dataset, data_files)
        return _load_files(files, options, name=name, file_format=file_format)
    if not dataset:
        raise UserError("no dataset given: pass a Hub dataset id, a local folder or file, or per-split files.")
    path = Path(dataset).expanduser()
    if path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file()):
        return _load_disk(path, options)
    if path.is_dir():
        return _load_files(_discover_split_files(path), options, name=path.resolve().name)
    if path.is_file():
        split = SPLIT_ALIASES.get(path.stem.lower(), "train")
        return _load_files({split: path}, options, name=path.name)
    if dataset.startswith((".", "/", "~")) or dataset.count("/") > 1 or "\\" in dataset:
        raise UserError(
            f"{dataset}: no such file or folder (and not a Hub dataset id, which looks like NAME or OWNER/NAME)."
        )
    return _load_hub(dataset, config, revision, options)


def load_label_list(labels: LabelSource) -> list[str]:
    """A user's label list in id order, given inline or as a file.

    Files: plain text with one label per line, or JSON holding a list, a run's `labels.json`
    (`{"labels": [...]}`) or a model's `config.json` (`id2label`), so a trained model's labels
    can be reused as they are.
    """
    if isinstance(labels, (str, os.PathLike)):
        path = Path(labels)
        text = _decode(_read_bytes(path), path.name)
        origin = path.name
        names = (
            _parse_label_json(text, origin)
            if path.suffix == ".json"
            else [line.strip() for line in text.splitlines() if line.strip()]
        )
    else:
        names, origin = list(labels), "the label list"
    if not names:
        raise UserError(f"{origin} holds no labels; list them one per line, in id order (e.g. O, B-PER, I-PER).")
    bad = [name for name in names if not isinstance(name, str) or not name.strip()]
    if bad:
        raise UserError(f"{origin}: labels must be non-empty strings; found {bad[0]!r}.")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UserError(
            f"{origin} lists {', '.join(map(repr, duplicates))} more than once; each label must appear once."
        )
    return names


def _parse_label_json(text: str, origin: str) -> list[str]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"{origin} line {err.lineno} column {err.colno}: not valid JSON ({err.msg}).") from None
    if isinstance(value, dict) and isinstance(value.get("labels"), list):
        return value["labels"]
    if isinstance(value, dict) and isinstance(value.get("id2label"), dict):
        try:
            return [value["id2label"][key] for key in sorted(value["id2label"], key=int)]
        except ValueError:
            raise UserError(f"{origin}: id2label keys must be integers; found {sorted(value['id2label'])}.") from None
    if isinstance(value, list):
        return value
    raise UserError(
        f'{origin}: expected a JSON list of labels, {{"labels": [...]}} or a config.json with id2label; '
        f"found a JSON {type(value).__name__}."
    )


# --- local files -------------------------------------------------------------------------------


def _explicit_files(dataset: str, data_files: dict[str, str]) -> tuple[dict[str, Path], str | None, str]:
    """Resolve `data_files` and what `dataset` means beside them (a format or a base folder)."""
    base = None
    file_format = dataset if dataset in FORMATS else None
    if dataset and file_format is None:
        base = Path(dataset).expanduser()
        if not base.is_dir():
            raise UserError(
                f"with per-split files, the dataset must be the files' format (conll, csv or json), a folder "
                f"the files are in, or empty; {dataset!r} is none of these. Drop it or pass --dataset conll|csv|json."
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


def _discover_split_files(folder: Path) -> dict[str, Path]:
    """Split files in a folder: train/validation|valid|dev/test with a known extension or none."""
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        split = SPLIT_ALIASES.get(path.stem.lower())
        if not path.is_file() or split is None or path.suffix.lower() not in FORMATS_BY_EXTENSION:
            continue
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
            f"{', '.join(e or '(none)' for e in FORMATS_BY_EXTENSION)}, "
            f"a DatasetDict.save_to_disk folder, or pass per-split files."
        )
    order = list(dict.fromkeys(SPLIT_ALIASES.values()))
    return dict(sorted(files.items(), key=lambda item: order.index(item[0])))


def _load_files(files: dict[str, Path], options: _Options, *, name: str, file_format: str | None = None) -> RawData:
    formats = {split: file_format or _format_of(path) for split, path in files.items()}
    if len(set(formats.values())) > 1:
        listed = ", ".join(f"{files[s].name} is {f}" for s, f in formats.items())
        raise UserError(f"the split files have different formats ({listed}); use one format for all splits.")
    kind = next(iter(formats.values()))
    reader = {"conll": _read_conll, "csv": _read_csv, "json": _read_json}[kind]
    splits, file_info = {}, {}
    for split, path in files.items():
        data = _read_bytes(path)
        raw = reader(_decode(data, path.name), path.name, options)
        splits[split] = _finish_split(split, raw, options, options.label_names)
        file_info[split] = {"path": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    source = {"kind": kind, "name": name, "config": None, "revision": None, "files": file_info, "fingerprints": {}}
    return RawData(splits=splits, label_names=options.label_names, label_column=options.label_column, source=source)


def _format_of(path: Path) -> str:
    file_format = FORMATS_BY_EXTENSION.get(path.suffix.lower())
    if file_format is None:
        raise UserError(
            f"{path.name}: cannot tell the format from the extension {path.suffix!r}; use .txt/.conll/.iob/.tsv "
            f"(CoNLL columns), .csv, .json or .jsonl, or name the format as the dataset (conll, csv or json)."
        )
    return file_format


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path.name}: no such file (looked for {path}). Check the path.") from None
    except IsADirectoryError:
        raise UserError(f"{path.name} is a folder, not a file; pass the file inside it.") from None


def _decode(data: bytes, file: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        byte_in_line = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        bad = data[err.start : err.end].hex(" ")
        raise UserError(
            f"{file} line {line}, byte {byte_in_line} of the line (byte offset {err.start} in the file): "
            f"{bad} is not valid UTF-8. "
            f"Save the file as UTF-8 (for Latin-1 text: iconv -f latin1 -t utf-8 {file} > utf8_{file})."
        ) from None
    return text.removeprefix("\ufeff")


def _read_conll(text: str, file: str, options: _Options) -> RawSplit:
    """Whitespace- or tab-separated columns, one token per line, blank lines between sentences."""
    split = RawSplit(tokens=[], tags=[], file=file, lines=[], line_per_token=True)
    delimiter, n_columns, first_line, column = options.delimiter, 0, 0, 0
    for block in _conll_blocks(text):
        tokens, tags = [], []
        for number, line in block:
            if not n_columns and delimiter is None and "\t" in line:
                delimiter = "\t"
            fields = _columns(line, delimiter)
            if not n_columns:
                n_columns, first_line = len(fields), number
                column = _conll_tag_column(options, n_columns, file, number, line)
            elif len(fields) != n_columns:
                shown = "tab" if delimiter == "\t" else repr(delimiter) if delimiter else "whitespace"
                raise UserError(
                    f"{file} line {number}: expected {n_columns} columns (as on line {first_line}, the first token "
                    f"line) but found {len(fields)} in {line!r} ({shown}-separated). Every token line needs the "
                    f"same columns: fix the line, or pass the right delimiter."
                )
            if "" in fields:
                raise UserError(
                    f"{file} line {number} column {fields.index('') + 1}: empty value in {line!r}; "
                    f"every column needs a value (check for doubled tabs)."
                )
            tokens.append(fields[0])
            tags.append(fields[column])
        split.tokens.append(tokens)
        split.tags.append(tags)
        split.lines.append(block[0][0])
    return split


def _conll_blocks(text: str) -> Iterator[list[tuple[int, str]]]:
    """Sentences as runs of non-blank (line number, line); a -DOCSTART- line also ends one and is dropped."""
    block: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if line and line.split(None, 1)[0] != "-DOCSTART-":
            block.append((number, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def _columns(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return [value.strip() for value in line.split(delimiter)]


def _conll_tag_column(options: _Options, n_columns: int, file: str, line_number: int, line: str) -> int:
    """The 0-based tag column for this file: tag_column, else the CoNLL-2003 name mapping, else the last."""
    if n_columns < 2:
        raise UserError(
            f"{file} line {line_number}: found one column ({line!r}); CoNLL files need the token and at least one "
            f"tag column, separated by spaces or tabs (or pass delimiter=...)."
        )
    column = options.tag_column
    if column == -1 and options.label_column in CONLL2003_COLUMNS:
        if n_columns != 4:
            raise UserError(
                f"{file}: label column {options.label_column!r} means column {CONLL2003_COLUMNS[options.label_column]} "
                f"of 4-column CoNLL-2003 files (token POS chunk NER), but line {line_number} has {n_columns} columns. "
                f"Choose the tag column with --tag-column N (0-based; 0 is the token)."
            )
        column = CONLL2003_COLUMNS[options.label_column]
    if not -n_columns <= column < n_columns or column % n_columns == 0:
        raise UserError(
            f"{file}: tag column {column} does not exist or is the token column; line {line_number} has "
            f"{n_columns} columns, so the tag column is 1..{n_columns - 1} (or -1 for the last)."
        )
    return column % n_columns


def _read_csv(text: str, file: str, options: _Options) -> RawSplit:
    """A header row, then one sentence per row; list cells hold a JSON list or space-separated words."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise UserError(
            f"{file} is empty; expected a header row with {options.tokens_column!r} and {options.label_column!r}."
        )
    _check_columns(header, options, file)
    token_index, tag_index = header.index(options.tokens_column), header.index(options.label_column)
    split = RawSplit(tokens=[], tags=[], file=file, lines=[])
    end_line = reader.line_num
    for row in reader:
        line, end_line = end_line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise UserError(
                f"{file} line {line}: expected {len(header)} fields (as in the header) but found {len(row)}; "
                f"quote cells that contain commas."
            )
        split.tokens.append(_csv_list(row[token_index], file, line, options.tokens_column, ints=False))
        split.tags.append(_csv_list(row[tag_index], file, line, options.label_column, ints=True))
        split.lines.append(line)
    return split


def _csv_list(cell: str, file: str, line: int, column: str, *, ints: bool) -> list:
    cell = cell.strip()
    if not cell.startswith("["):
        return [int(value) if ints and _INT.fullmatch(value) else value for value in cell.split()]
    try:
        return json.loads(cell)
    except json.JSONDecodeError:
        pass
    try:  # pandas writes list cells as Python reprs: ['EU', 'rejects']
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        raise UserError(
            f"{file} line {line} column {column!r}: {cell[:80]!r} starts like a list but is not valid JSON; "
            f'write ["EU", "rejects"] or space-separated words.'
        ) from None
    return value if isinstance(value, list) else [value]


def _read_json(text: str, file: str, options: _Options) -> RawSplit:
    """A JSON list of objects, or JSON Lines (one object per line)."""
    if text.lstrip().startswith("["):
        try:
            rows = [(None, row) for row in json.loads(text)]
        except json.JSONDecodeError as err:
            raise UserError(f"{file} line {err.lineno} column {err.colno}: not valid JSON ({err.msg}).") from None
    else:
        rows = []
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                try:
                    rows.append((number, json.loads(line)))
                except json.JSONDecodeError as err:
                    raise UserError(
                        f"{file} line {number} column {err.colno}: not valid JSON ({err.msg}) in {line[:80]!r}; "
                        f"JSON Lines files hold one object per line."
                    ) from None
    split = RawSplit(tokens=[], tags=[], file=file, lines=[] if rows and rows[0][0] else None)
    for index, (number, row) in enumerate(rows):
        where = f"{file} line {number}" if number else f"{file} (record index {index})"
        if not isinstance(row, dict):
            raise UserError(
                f'{where}: expected an object like {{"tokens": [...], "{options.label_column}": [...]}}, '
                f"found {row!r:.80}."
            )
        if index == 0:
            _check_columns(list(row), options, file)
        for column in (options.tokens_column, options.label_column):
            if column not in row:
                raise UserError(f"{where}: no {column!r} key (this row has: {', '.join(row)}).")
            if not isinstance(row[column], (list, str)):
                raise UserError(f"{where}: {column!r} must be a list, found {row[column]!r:.80}.")
        tokens, tags = row[options.tokens_column], row[options.label_column]
        split.tokens.append(tokens.split() if isinstance(tokens, str) else tokens)
        split.tags.append(tags.split() if isinstance(tags, str) else tags)
        if split.lines is not None:
            split.lines.append(number)
    return split


def _check_columns(columns: list[str], options: _Options, file: str) -> None:
    for column, flag in ((options.tokens_column, "--tokens-column"), (options.label_column, "--label-column")):
        if column not in columns:
            raise UserError(
                f"{file}: no column {column!r}; available columns: {', '.join(columns)}. Choose one with {flag}."
            )


# --- datasets (save_to_disk folders and the Hub) -------------------------------------------------


def _load_disk(path: Path, options: _Options) -> RawData:
    loaded = datasets.load_from_disk(str(path))
    splits = loaded if isinstance(loaded, datasets.DatasetDict) else {"train": loaded}
    return _from_datasets(splits, options, kind="disk", name=path.resolve().name, config=None, revision=None)


def _load_hub(dataset: str, config: str | None, revision: str | None, options: _Options) -> RawData:
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
    splits, options: _Options, *, kind: str, name: str, config: str | None, revision: str | None
) -> RawData:
    raw_splits, label_names = {}, None
    for split, dataset in splits.items():
        _check_columns(list(dataset.features), options, f"split {split!r}")
        feature = getattr(dataset.features[options.label_column], "feature", None)
        names = feature.names if isinstance(feature, datasets.ClassLabel) else options.label_names
        if label_names is not None and names != label_names:
            raise UserError(
                f"split {split!r} has different label names from the other splits ({names} vs {label_names}); "
                f"all splits must share one ClassLabel."
            )
        label_names = names
        columns = dataset.select_columns([options.tokens_column, options.label_column]).to_dict()
        raw = RawSplit(tokens=columns[options.tokens_column], tags=columns[options.label_column])
        raw_splits[split] = _finish_split(split, raw, options, names)
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


# --- checks shared by every source ---------------------------------------------------------------


def _finish_split(split: str, raw: RawSplit, options: _Options, label_names: list[str] | None) -> RawSplit:
    """Reject empty splits, token/tag count mismatches and bad values; map integer tags to names."""

    def at(index: int, position: int | None = None) -> str:
        return raw.where(index, position) if raw.file else f"split {split!r}, {raw.where(index, position)}"

    if not raw.tokens:
        origin = raw.file or f"split {split!r}"
        raise UserError(
            f"{origin}: no sentences (the {split!r} split is empty). Check the file, or leave the split out."
        )
    tag_kind = None
    for index, (tokens, tags) in enumerate(zip(raw.tokens, raw.tags)):
        if len(tokens) != len(tags):
            raise UserError(
                f"{at(index)}: {len(tokens)} tokens but {len(tags)} tags in {options.label_column!r} "
                f"(tokens {tokens!r:.120}, tags {tags!r:.120}); every token needs exactly one tag."
            )
        bad_token = next((token for token in tokens if not isinstance(token, str)), None)
        if bad_token is not None:
            raise UserError(f"{at(index)}: tokens must be strings; found {bad_token!r} in {options.tokens_column!r}.")
        for position, tag in enumerate(tags):
            kind = "integers" if type(tag) is int else "strings" if isinstance(tag, str) and tag else None
            if kind is None or tag_kind not in (None, kind):
                expected = f"all {tag_kind}, like the earlier tags" if kind else "non-empty strings or integers"
                raise UserError(
                    f"{at(index, position)}: tag {tag!r} in {options.label_column!r}; tags must be {expected}."
                )
            tag_kind = kind
        if tag_kind == "integers":
            raw.tags[index] = _names_for(tags, label_names, options, lambda position=None: at(index, position))
    return raw


def _names_for(ids: list[int], label_names: list[str] | None, options: _Options, at) -> list[str]:
    """Integer tags -> names; `at(position)` says where the sentence is, for errors."""
    if label_names is None:
        raise UserError(
            f"{at()}: {options.label_column!r} holds integer tags (e.g. {ids[0]}) but the data carries no "
            f"label names. Pass the label list in id order: labels=[...] or a label file (--labels FILE, one label "
            f"per line, or a labels.json/config.json)."
        )
    for position, tag_id in enumerate(ids):
        if not 0 <= tag_id < len(label_names):
            raise UserError(
                f"{at(position)}: tag id {tag_id} in {options.label_column!r} is outside the "
                f"{len(label_names)} label names (ids 0..{len(label_names) - 1}); check the label list."
            )
    return [label_names[tag_id] for tag_id in ids]
