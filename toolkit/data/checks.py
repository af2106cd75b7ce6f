"""Checks shared by every source: no empty split, one tag per token, integer tags mapped to names."""

from __future__ import annotations

from toolkit.data.raw import RawSplit, ReadOptions
from nercore.errors import UserError


def finish_split(split: str, raw: RawSplit, options: ReadOptions, label_names: list[str] | None) -> RawSplit:
    """Reject empty splits, token/tag count mismatches and bad values; map integer tags to names."""

    def at(index: int, position: int | None = None) -> str:
        return raw.where(index, position) if raw.file else f"split {split!r}, {raw.where(index, position)}"

    if not raw.tokens:
        origin = raw.file or f"split {split!r}"
        skipped = ""
        if raw.span_report:
            from toolkit.data.spans import SpanReport

            skipped = f" Reading it found: {'; '.join(SpanReport.from_json(raw.span_report).lines()) or 'no records'}."
        raise UserError(
            f"{origin}: no sentences (the {split!r} split is empty).{skipped} Check the file, or leave the split out."
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


def _names_for(ids: list[int], label_names: list[str] | None, options: ReadOptions, at) -> list[str]:
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
