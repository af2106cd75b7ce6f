"""A user's label list in id order: inline, a text file, or a run's labels.json / a model's config.json."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from toolkit.data.raw import decode, read_bytes
from nercore.errors import UserError

LabelSource = Sequence[str] | str | os.PathLike


def load_label_list(labels: LabelSource) -> list[str]:
    """A user's label list in id order, given inline or as a file.

    Files: plain text with one label per line, or JSON holding a list, a run's `labels.json`
    (`{"labels": [...]}`) or a model's `config.json` (`id2label`), so a trained model's labels
    can be reused as they are.
    """
    if isinstance(labels, (str, os.PathLike)):
        path = Path(labels)
        text = decode(read_bytes(path), path.name)
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
