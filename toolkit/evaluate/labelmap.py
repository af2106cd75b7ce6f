"""Map a model's label names onto a dataset's, so any model can be scored on any dataset.

Other tag schemes are converted to IOB2 per sentence (`decode`), `--label-map` renames or drops
types, and a model whose labels cannot fit the dataset is refused with the reason and the fix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nercore.tags import entity_type, entity_types, is_entity_labels, split_tag, to_iob2
from nercore.errors import UserError

logger = logging.getLogger("toolkit")


@dataclass
class LabelMapping:
    """How the model's label names become dataset labels."""

    names: list[str]  # model label id -> dataset label name (before scheme conversion)
    scheme: str  # the scheme of the mapped model labels, converted to IOB2 per sentence


def parse_label_map(text: str | None) -> dict[str, str]:
    """`"PERSON=PER,LABEL_0=O"` -> {"PERSON": "PER", "LABEL_0": "O"}."""
    mapping: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        if "=" not in item:
            raise UserError(f"--label-map entries look like MODEL_NAME=DATASET_NAME; got {item!r}")
        source, target = (side.strip() for side in item.split("=", 1))
        mapping[source] = target
    return mapping


def label_set_scheme(names: list[str]) -> str:
    """The scheme a model's label *set* implies: BIOES (BILOU) when it has end/single tags,
    IOB2 when it has B-/I- tags, "none" for bare type names. A model predicting IOB2 labels is
    scored as it predicts, so strict mode still sees its invalid sequences."""
    prefixes = {split_tag(name)[0] for name in names if name != "O"}
    if prefixes & {"E", "S", "L", "U"}:
        return "BIOES"
    if prefixes & {"B", "I"}:
        return "IOB2"
    return "none"


def _rename(model_labels: list[str], label_map: dict[str, str]) -> list[str]:
    """Apply `--label-map` to whole labels ("B-PERSON=B-PER") or to types ("PERSON=PER", "DATE=O")."""
    renamed = []
    for name in model_labels:
        prefix, kind = split_tag(name)
        if name in label_map:
            renamed.append(label_map[name])
        elif prefix and kind in label_map:
            target = label_map[kind]
            renamed.append("O" if target == "O" else f"{prefix}-{target}")
        else:
            renamed.append(name)
    return renamed


def map_model_labels(model_labels: list[str], data_labels: list[str], label_map: dict[str, str] | None = None) -> LabelMapping:
    """Map model label names onto the dataset's, or explain precisely why they do not fit."""
    label_map = label_map or {}
    renamed = _rename(model_labels, label_map)
    if all(name.startswith("LABEL_") for name in model_labels) and not label_map:
        raise UserError(
            f"the model's labels are generic ({', '.join(model_labels[:4])}, ...): its config.json has no "
            "id2label names, so its predictions cannot be matched to the dataset's labels. "
            "Pass --label-map LABEL_0=O,LABEL_1=B-PER,... or fix id2label in the model's config.json."
        )
    if not is_entity_labels(data_labels):
        unknown = sorted(set(renamed) - set(data_labels))
        if unknown:
            raise UserError(
                f"the model predicts tags the dataset does not have: {', '.join(unknown)} "
                f"(dataset tags: {', '.join(data_labels)}). Map them with --label-map MODEL_TAG=DATASET_TAG."
            )
        return LabelMapping(names=renamed, scheme="none")
    scheme = label_set_scheme(renamed)
    if scheme == "none":  # IO labels such as "PER": treat as I- tags, then repair to IOB2
        renamed = [name if name == "O" else f"I-{name}" for name in renamed]
        scheme = "IOB1"
    _check_types({entity_type(name) for name in renamed if name != "O"}, set(entity_types(data_labels)))
    return LabelMapping(names=renamed, scheme=scheme)


def _check_types(model_types: set[str], known_types: set[str]) -> None:
    """No shared type is an error; some unknown types are false positives worth a warning."""
    unknown = sorted(model_types - known_types)
    if unknown and not model_types & known_types:
        raise UserError(
            f"none of the model's entity types ({', '.join(sorted(model_types))}) is in the dataset "
            f"({', '.join(sorted(known_types))}). Map them with --label-map, e.g. "
            f"--label-map {unknown[0]}={sorted(known_types)[0] if known_types else 'O'}."
        )
    if unknown:
        logger.warning(
            "the model predicts entity types the dataset does not annotate: %s; they count as false "
            "positives. Map them with --label-map TYPE=DATASET_TYPE, or TYPE=O to ignore them.",
            ", ".join(unknown),
        )


def decode(predicted_ids: list[list[int]], mapping: LabelMapping) -> list[list[str]]:
    """Model ids -> dataset label strings in IOB2; unseen (truncated) words become O."""
    sequences = []
    for ids in predicted_ids:
        tags = ["O" if i < 0 else mapping.names[i] for i in ids]
        if mapping.scheme not in ("IOB2", "none"):
            tags = to_iob2(tags, mapping.scheme)
        sequences.append(tags)
    return sequences
