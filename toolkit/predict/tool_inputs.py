"""What `nerkit predict` reads from annotation-tool files: every text the tool holds, labelled or not.

Why: the training readers (`toolkit/data/`) read what annotators *finished*: a Label Studio task
with no annotation is skipped, a brat folder is its `.ann` + `.txt` pairs. Pre-annotation is for
the other texts, so predict reads every one:

- a Label Studio export or tasks file (`--format label-studio`, or `auto` on a `.json`/`.jsonl`
  whose first row is a task): one record per task, its text from `data` (full export) or from the
  row (JSON-MIN, which writes one row per annotation: a task's rows are one record, at its first
  row), the text field found as the training reader finds it (`--text-field`, default: text,
  content, sentence, document or body), the task's `id` as the record id;
- a brat folder (`--format brat`, or `auto` on a folder holding `.ann` files and no `save_to_disk`
  files; a folder of `.txt` files alone may be CoNLL split files, so it needs the flag): every `NAME.txt`, annotated or not, in sorted file-name order, `NAME` (the
  training reader's record id) as the record id, read as brat reads it (a byte-order mark counts
  as a character).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from nercore.errors import UserError
from toolkit.data import label_studio
from toolkit.data.raw import decode, read_bytes
from toolkit.predict.input_records import DISK_MARKERS, Doc, InputSpec, plain_id

DEFAULT_TEXT_FIELD = "text"  # `--text-field`'s default: then the training reader's other names are tried too


def is_label_studio_task(row: object, spec: InputSpec) -> bool:
    """A Label Studio task (its text in `data`) or a JSON-MIN row: how `--format auto` tells a Label Studio file."""
    if not isinstance(row, dict):
        return False
    return (spec.text_field not in row and isinstance(row.get("data"), dict)) or label_studio.is_min_export(row)


def task_text_field(row: dict, spec: InputSpec, where: str) -> str:
    """The field holding a task's text: in `data` for a task, in the row for a JSON-MIN row (the training
    reader's rule: `--text-field`, default text, content, sentence, document or body)."""
    fields = row["data"] if isinstance(row.get("data"), dict) else row
    place = "'data'" if fields is not row else "the row"
    names = (spec.text_field,) if spec.text_field != DEFAULT_TEXT_FIELD else label_studio.TEXT_FIELDS
    named = next((name for name in names if isinstance(fields.get(name), str)), None)
    if named is None:
        raise UserError(f"{where}: no text field {' / '.join(names)} in {place} (it has: "
                        f"{', '.join(map(str, fields)) or 'nothing'}). Name the field the texts are in (the $name in "
                        f"<Text value=\"$name\">) with --text-field NAME.")
    return named


def task_text(row: dict, spec: InputSpec, where: str) -> str:
    """A task's text: `data.<field>` for a task, `<field>` for a JSON-MIN row (`task_text_field`)."""
    fields = row["data"] if isinstance(row.get("data"), dict) else row
    return fields[task_text_field(row, spec, where)]


def label_studio_docs(rows: list[tuple[Any, object]], file: str, spec: InputSpec) -> list[Doc]:
    """Every task of a Label Studio file (`toolkit.data.json_file.json_rows`' rows), annotated or not."""
    docs: list[Doc] = []
    seen: set = set()
    for index, (number, row) in enumerate(rows):
        where = f"{file}:{number}" if number else f"{file} (task {index})"
        if not isinstance(row, dict):
            raise UserError(f"{where}: expected a Label Studio task object, found {row!r:.80}.")
        task_id = row.get(spec.id_field)
        if not isinstance(row.get("data"), dict) and task_id is not None:  # JSON-MIN: one row per annotation
            key = plain_id(task_id)
            if key in seen:
                continue
            seen.add(key)
        docs.append(Doc(len(docs), task_text(row, spec, where), plain_id(task_id)))
    return docs


def read_label_studio(text: str, file: str, spec: InputSpec) -> list[Doc]:
    from toolkit.data.json_file import json_rows

    return label_studio_docs(json_rows(text, file, locate=lambda n: f"{file}:{n}"), file, spec)


def brat_texts(folder: Path) -> list[Path]:
    """The folder's `.txt` files in sorted name order; a UserError when it is no such folder."""
    if not folder.is_dir():
        raise UserError(f"{folder}: --format brat reads a folder of NAME.txt (+ NAME.ann) files; pass the folder.")
    texts = sorted(path for path in folder.glob("*.txt") if path.is_file())
    if not texts:
        raise UserError(f"{folder.name}: no .txt files; a brat folder holds NAME.txt (+ NAME.ann) files.")
    return texts


def is_brat_input(folder: Path) -> bool:
    """`--format auto` on a folder: brat when it holds .ann files and is not a save_to_disk folder (a folder of
    .txt files alone may be a CoNLL dataset's train.txt/test.txt: `--format brat` says it is brat)."""
    if not folder.is_dir() or any((folder / marker).is_file() for marker in DISK_MARKERS):
        return False
    return any(folder.glob("*.ann"))


def brat_docs(folder: Path) -> Iterator[Doc]:
    """Every `.txt` of a brat folder, one record each (module docstring), read one file at a time."""
    for index, path in enumerate(brat_texts(folder)):
        data = read_bytes(path)
        text = decode(data, f"{folder.name}/{path.name}")
        if data.startswith(b"\xef\xbb\xbf") and not text.startswith("\ufeff"):
            text = "\ufeff" + text  # brat counts the byte-order mark as a character, so its offsets do
        yield Doc(index, text, path.stem)


__all__ = ["brat_docs", "brat_texts", "is_brat_input", "is_label_studio_task", "label_studio_docs",
           "read_label_studio", "task_text", "task_text_field"]
