"""The records `nerkit predict` reads into, apart from the readers: a `Doc` per input record and the
`InputSpec` saying where they come from, so the plain readers (`inputs`) and the annotation-tool
readers (`tool_inputs`) share them without importing each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Files that mark a `datasets` save_to_disk folder.
DISK_MARKERS = ("dataset_dict.json", "state.json", "dataset_info.json")


@dataclass(frozen=True)
class Doc:
    """One input record: its position in the input, its text, and the input's own id when it has one."""

    index: int
    text: str
    id: Any = None
    document: Any = None  # the document it belongs to (CoNLL -DOCSTART-, a JSONL document field); None: alone


@dataclass(frozen=True)
class InputSpec:
    """Where the documents come from and which fields hold them."""

    source: str
    format: str = "auto"  # one of formats()
    text_field: str = "text"
    tokens_field: str = "tokens"
    id_field: str = "id"
    split: str | None = None
    dataset_config: str | None = None
    dataset_revision: str | None = None
    document_field: str | None = None  # None: document_id, doc_id, document or doc when present
    label_field: str = "ner_tags"  # the tags column a data-registry reader (CSV) expects; its values are not used


def plain_id(value: Any) -> Any:
    """A record id as JSON holds it: a str/int/float/bool or None as it is, anything else as its str()."""
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)
