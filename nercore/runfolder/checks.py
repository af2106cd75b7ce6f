"""Reading a run folder's JSON and checking its fields, with errors that name the file and the field.

A malformed file is a user's problem to fix (by running again the step that wrote it), so every
failure is a `UserError` saying which file, which field, what was expected and what was found. The
fix is worded neutrally and the step is on the error (`UserError.step`): the toolkit adds its command.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

from nercore.errors import UserError

MISSING = object()  # a field that is not there (distinct from JSON null)


def read_json_object(path: Path, *, required: bool = True) -> dict | None:
    """The JSON object in `path`; None when it is absent and not `required`."""
    path = Path(path)
    if not path.is_file():
        if required:
            raise UserError(f"{path} not found.")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text ({err}). Write it again with the step that made it.") from err
    except json.JSONDecodeError as err:
        raise UserError(
            f"{path}: invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}. "
            "Fix the file or write it again with the step that made it."
        ) from err
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object at the top level, found {type(data).__name__}.")
    return data


class Where:
    """The file being read and the path of the field inside it, for error messages."""

    def __init__(self, file: str | Path, prefix: str = "", fix: str = "Evaluate the model again to rewrite the file "
                 "(docs/eval-results.md gives its schema).", step: str | None = "evaluate"):
        self.file = file
        self.prefix = prefix
        self.fix = fix
        self.step = step  # the step whose run rewrites the file (`UserError.step`)

    def at(self, key: str) -> Where:
        return Where(self.file, f"{self.prefix}{key}.", self.fix, self.step)

    def enter(self, block: Any, key: str) -> Where:
        """The place inside `block` (field `key`), which must be a JSON object."""
        if not isinstance(block, dict):
            raise self.fail(key, "an object", block)
        return self.at(key)

    def fail(self, key: str, expected: str, found: Any) -> UserError:
        shown = json.dumps(found)[:80] if found is not MISSING else "nothing"
        return UserError(f"{self.file}: field {self.prefix}{key}: expected {expected}, found {shown}. {self.fix}",
                         step=self.step)

    def get(self, data: Any, key: str, expected: str, check: Callable[[Any], bool], *, optional: bool = False) -> Any:
        """`data[key]` validated by `check`; MISSING for an absent `optional` field."""
        value = data.get(key, MISSING) if isinstance(data, dict) else MISSING
        if value is MISSING and optional:
            return MISSING
        if value is MISSING or not check(value):
            raise self.fail(key, expected, value)
        return value


def is_score(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value <= 1


def is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def is_table(value: Any) -> bool:
    """A non-empty JSON object."""
    return isinstance(value, dict) and bool(value)


def is_object(value: Any) -> bool:
    return isinstance(value, dict)


def is_interval(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(map(is_score, value)) and value[0] <= value[1]


SCORE = "a number in [0, 1]"
COUNT = "a count (integer >= 0)"
INTERVAL = "[low, high] with 0 <= low <= high <= 1"


def optional(value: Any) -> Any:
    """None for MISSING: absent optional fields are None on the dataclasses (and left out of to_json)."""
    return None if value is MISSING else value


def put(payload: dict, key: str, value: Any) -> None:
    """Add `key` unless `value` is None (the field was absent in the file)."""
    if value is not None:
        payload[key] = value
