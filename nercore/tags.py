"""Tag prefixes and schemes: the one place that knows what `B-PER`, `I-PER`, `E-PER`, `S-PER` mean.

Gradio-free and torch-free, so the toolkit (data, labels, evaluation, card) and the Space share it
without the Space ever importing the toolkit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

SCHEMES = ("IOB1", "IOB2", "BIOES", "none")
# Prefixes a label may carry; L-/U- are BILOU's names for E-/S-.
PREFIXES = ("B", "I", "E", "S", "L", "U")
_PREFIXED = re.compile(r"([BIESLU])-(.+)")


@lru_cache(maxsize=4096)
def split_tag(tag: str) -> tuple[str | None, str]:
    """("B", "PER") for "B-PER"; (None, tag) for "O" and prefix-less tags."""
    match = _PREFIXED.fullmatch(tag)
    return (match[1], match[2]) if match else (None, tag)


def entity_type(label: str) -> str:
    """The type a label names: "B-PER" / "I-PER" / "S-PER" / "PER" -> "PER"."""
    return split_tag(label)[1]


def pipeline_tag(label: str) -> tuple[str, str]:
    """("B" | "I", type) exactly as transformers' pipeline `get_tag` reads a label: a label without
    a B-/I- prefix is its own type and counts as "I" (so "PER", "PER" continue one entity)."""
    if label.startswith(("B-", "I-")):
        return label[0], label[2:]
    return "I", label


def pipeline_type(label: str) -> str:
    """The `entity_group` transformers' pipeline gives a label: only B-/I- are stripped (its `get_tag`)."""
    return pipeline_tag(label)[1]


def pipeline_group(label: str) -> str:
    """The `entity_group` of a group of tokens or words, as the pipeline's `group_sub_entities` names
    it: everything after the first "-" ("B-PER" -> "PER", "X-Y" -> "Y", "LABEL_6" -> "LABEL_6")."""
    return label.split("-", 1)[-1]


def is_entity_labels(labels: Iterable[str]) -> bool:
    """True for BIO-style (entity) label sets, False for plain tag sets such as POS."""
    return any(split_tag(label)[0] for label in labels)


def entity_types(labels: Iterable[str]) -> list[str]:
    """Sorted entity types of a BIO label set ("B-PER", "I-PER" -> "PER")."""
    return sorted({kind for prefix, kind in map(split_tag, labels) if prefix})


def detect_scheme(tag_sequences: Iterable[Sequence[str]]) -> str:
    """IOB1 if an I-X ever starts an entity, BIOES if any E-/S- tag, "none" without prefixes, else IOB2."""
    prefixes: set[str] = set()
    starts_with_inside = False
    for tags in tag_sequences:
        previous: tuple[str | None, str] = (None, "O")
        for tag in tags:
            prefix, kind = split_tag(tag)
            if prefix:
                prefixes.add(prefix)
            if prefix == "I" and (previous[0] not in ("B", "I") or previous[1] != kind):
                starts_with_inside = True
            previous = (prefix, kind)
    if prefixes & {"E", "S", "L", "U"}:
        return "BIOES"
    if not prefixes:
        return "none"
    return "IOB1" if starts_with_inside else "IOB2"


def to_iob2(tags: Sequence[str], scheme: str) -> list[str]:
    """One sentence in IOB2: every entity starts with B-. S-/E- become B-/I-; an I- that opens an entity becomes B-."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}; expected one of {SCHEMES}")
    if scheme in ("IOB2", "none"):
        return list(tags)
    converted = []
    open_type = None  # type of the entity the previous token belongs to, while it may continue
    for tag in tags:
        prefix, kind = split_tag(tag)
        if prefix is None:
            converted.append(tag)
            open_type = None
            continue
        starts = prefix in ("B", "S", "U") or open_type != kind
        converted.append(f"{'B' if starts else 'I'}-{kind}")
        open_type = None if prefix in ("E", "S", "L", "U") else kind
    return converted


def infer_label_list(tag_sequences: Iterable[Sequence[str]]) -> list[str]:
    """O first, then B-/I- pairs grouped by type, types sorted; a prefix-less set (POS) is just sorted."""
    seen = {tag for tags in tag_sequences for tag in tags}
    if not is_entity_labels(seen):
        return sorted(seen)
    for tag in sorted(seen):
        prefix, _ = split_tag(tag)
        if prefix not in (None, "B", "I"):
            raise ValueError(f"tag {tag!r}: convert BIOES tags with to_iob2 before inferring the label list")
        if prefix is None and tag != "O":
            raise ValueError(f"tag {tag!r} has no B-/I- prefix while other tags do")
    return ["O"] + [f"{prefix}-{kind}" for kind in entity_types(seen) for prefix in "BI"]


def entity_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(type, start, end) spans, end exclusive, of an IOB2 sentence; an I- without a matching B- opens a span."""
    spans: list[tuple[str, int, int]] = []
    current: list = []  # [type, start] of the open span
    for index, tag in enumerate([*tags, "O"]):
        prefix, kind = split_tag(tag)
        if current and (prefix != "I" or kind != current[0]):
            spans.append((current[0], current[1], index))
            current = []
        if prefix is not None and not current:
            current = [kind, index]
    return spans


def count_invalid(tags: Sequence[str]) -> int:
    """`I-X` tags that do not continue a `B-X`/`I-X` (invalid in IOB2)."""
    invalid, previous = 0, (None, "O")
    for tag in tags:
        prefix, kind = split_tag(tag)
        if prefix == "I" and (previous[0] not in ("B", "I") or previous[1] != kind):
            invalid += 1
        previous = (prefix, kind)
    return invalid


def continuation_label(label: str) -> str:
    """The label of a continuation piece: B-X -> I-X, anything else unchanged."""
    prefix, kind = split_tag(label)
    return f"I-{kind}" if prefix == "B" else label
