"""`audit.jsonl`: one row per suspect sentence, most likely wrong first, written and read through `AuditRow`.

The schema is in docs/audit.md#auditjsonl. Each row names its sentence three ways (the split and
its 0-based `sentence_index` as `nerkit evaluate` counts them, and the file and line where the
data came from a file), the sentence with its suspect words marked, and per suspect word the
given label, the model's label, its probability and the kind of error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from nercore.errors import UserError
from nercore.runfolder.checks import is_count, is_text
from nercore.runfolder.records import Record
from toolkit.audit.rank import KINDS

AUDIT_FILE = "audit.jsonl"
_FIX = "Re-run `nerkit audit` to rewrite it (docs/audit.md#auditjsonl gives the schema)."


def _is_probability(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


def _is_texts(value: Any) -> bool:
    return isinstance(value, list) and all(is_text(item) for item in value)


def _is_issue(value: Any) -> bool:
    return isinstance(value, dict) and is_count(value.get("word")) and is_text(value.get("token")) \
        and is_text(value.get("given")) and is_text(value.get("predicted")) and value.get("kind") in KINDS \
        and _is_probability(value.get("probability")) and _is_probability(value.get("given_probability")) \
        and is_count(value.get("word_rank")) and (value.get("line") is None or is_count(value["line"]))


@dataclass(frozen=True)
class AuditRow(Record):
    FILE: ClassVar[str] = AUDIT_FILE
    FIX: ClassVar[str] = _FIX
    SPEC: ClassVar[dict] = {
        "rank": ("a rank (integer >= 1)", lambda v: is_count(v) and v >= 1, True),
        "split": ("a split name", is_text, True),
        "sentence_index": ("a sentence index (integer >= 0)", is_count, True),
        "file": ("a file name or null", lambda v: v is None or is_text(v), True),
        "line": ("a line number or null", lambda v: v is None or is_count(v), True),
        "where": ("the sentence's place as nerkit names it", is_text, True),
        "score": ("cleanlab's label quality, a number in [0, 1]", _is_probability, True),
        "tokens": ("a list of words", _is_texts, True),
        "given": ("a list of labels", _is_texts, True),
        "predicted": ("a list of labels (null past the model's max length)",
                      lambda v: isinstance(v, list) and all(x is None or is_text(x) for x in v), True),
        "marked": ("the sentence with [[suspect]] words marked", is_text, True),
        "issues": (f"a non-empty list of {{word, token, given, predicted, probability, given_probability, kind "
                   f"({' | '.join(KINDS)}), word_rank, line}}", lambda v: isinstance(v, list) and bool(v)
                   and all(_is_issue(i) for i in v), True),
        "fold": ("a fold number or null", lambda v: v is None or is_count(v), False),
    }
    rank: int
    split: str
    sentence_index: int
    file: str | None
    line: int | None
    where: str
    score: float
    tokens: list[str]
    given: list[str]
    predicted: list[str | None]
    marked: str
    issues: list[dict]
    fold: int | None

    def __post_init__(self) -> None:
        lengths = {len(self.tokens), len(self.given), len(self.predicted)}
        if len(lengths) != 1:
            raise UserError(f"{AUDIT_FILE}: row {self.rank}: tokens, given and predicted differ in length. {_FIX}")


def read_audit(path: str | Path) -> list[AuditRow]:
    """Every row of an `audit.jsonl` (a folder means its audit.jsonl), checked field by field."""
    path = Path(path)
    if path.is_dir():
        path = path / AUDIT_FILE
    if not path.is_file():
        raise UserError(f"{path} not found. Run `nerkit audit` first.")
    rows = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise UserError(f"{path} line {number}: invalid JSON ({err.msg}). {_FIX}") from None
        rows.append(AuditRow.from_json(data, file=f"{path} line {number}"))
    return rows


def audit_text(rows: list[AuditRow]) -> str:
    """The JSON Lines text of `rows` (the reader's inverse)."""
    return "".join(json.dumps(row.to_json(), ensure_ascii=False) + "\n" for row in rows)


def marked_sentence(tokens: list[str], words: set[int]) -> str:
    """The sentence with the suspect words in [[double brackets]]."""
    return " ".join(f"[[{token}]]" if index in words else token for index, token in enumerate(tokens))
