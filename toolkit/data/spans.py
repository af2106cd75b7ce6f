"""Character-span records, shared by every span reader (Label Studio, doccano, Prodigy, brat, datasets).

Why: annotation tools export `(start, end, label)` over raw text; nerkit's pipeline trains on words
with IOB2 tags. Each reader hands its records to `SpanBuilder.add`, which checks every span (naming
the record), trims whitespace at the edges, resolves or refuses overlaps, and cuts the text into
words (nercore's word splitter, plus a cut at every span edge inside a word) tagged B-/I-/O. The
result is an ordinary `RawSplit` that also keeps the texts and gold spans (`raw.SPAN_CONTRACT`).

Every change made to a span is counted in a `SpanReport` with the first examples, so the user sees
what reading did to their annotations (the report is saved in `data_info.json`).
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field

from nercore.errors import UserError
from nercore.tags import split_tag
from nercore.words import split_words
from toolkit.data.raw import RawSplit, ReadOptions

OVERLAPS = ("refuse", "longest", "first")
EXAMPLES = 3  # examples kept per kind of change
CONTEXT = 20  # characters shown either side of an example

# What each counter means, in the words of the report (the card and the log print these).
REPORT_TEXT = {
    "records": "records read",
    "spans": "spans kept",
    "no_annotation": "tasks with no annotation (skipped)",
    "no_annotation_by_annotator": "tasks with no annotation by the chosen annotator (skipped)",
    "cancelled": "cancelled annotations (ignored)",
    "several_annotations": "tasks with several annotations (one used)",
    "not_accepted": "records not accepted (Prodigy answer reject/ignore, skipped)",
    "other_results": "results that are not text spans (ignored)",
    "other_lines": "brat lines that are not text-bound entities (ignored)",
    "whitespace_trimmed": "spans with whitespace trimmed at an edge",
    "blank": "spans of whitespace only (dropped)",
    "empty": "empty spans, start == end (dropped)",
    "duplicates": "duplicate spans (dropped)",
    "overlaps_resolved": "overlapping spans dropped (--overlaps)",
    "fragments_joined": "discontinuous entities joined first start .. last end",
    "fragments_dropped": "discontinuous entities dropped",
    "utf16_offsets": "spans counted in UTF-16 units (doccano; Label Studio before 2022), converted to characters",
    "words_cut": "words cut at a span edge",
    "expanded": "span edges inside a sub-token, expanded to it (--span-alignment expand)",
    "contracted": "span edges inside a sub-token, contracted (--span-alignment contract)",
    "dropped_by_contract": "spans with no whole sub-token, dropped by contract",
    "overlaps_after_alignment": "overlapping spans after alignment, dropped (--overlaps)",
    "chunked_records": "texts longer than one window, trained as consecutive chunks",
    "chunks": "chunks those texts became",
    "empty_texts": "records with no words (not trained on)",
}


@dataclass
class SpanReport:
    """Counts of what reading and alignment changed, with the first `EXAMPLES` examples of each."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[dict]] = field(default_factory=dict)

    def add(self, kind: str, n: int = 1, *, record: str | None = None, text: str | None = None,
            before: tuple[int, int] | None = None, after: tuple[int, int] | None = None) -> None:
        """Count `n` of `kind`; with `record`, keep an example: text around it and the span before -> after."""
        self.counts[kind] += n
        if record is None or len(self.examples.setdefault(kind, [])) >= EXAMPLES:
            return
        example: dict = {"record": record}
        if text is not None and before is not None:
            low = min(before[0], *(after or before)[:1])
            high = max(before[1], *(after or before)[1:])
            example["context"] = text[max(0, low - CONTEXT):high + CONTEXT]
            example["before"] = text[before[0]:before[1]]
            example["before_offsets"] = list(before)
            if after is not None:
                example["after"] = text[after[0]:after[1]]
                example["after_offsets"] = list(after)
        self.examples[kind].append(example)

    def merge(self, other: "SpanReport | dict | None") -> None:
        if other is None:
            return
        other = other if isinstance(other, SpanReport) else SpanReport.from_json(other)
        self.counts.update(other.counts)
        for kind, items in other.examples.items():
            kept = self.examples.setdefault(kind, [])
            kept.extend(items[: max(0, EXAMPLES - len(kept))])

    def to_json(self) -> dict:
        """`{"counts": {kind: n}, "examples": {kind: [...]}}`, kinds in REPORT_TEXT order, zeros left out."""
        order = [kind for kind in REPORT_TEXT if self.counts.get(kind)] + sorted(
            kind for kind in self.counts if kind not in REPORT_TEXT and self.counts[kind])
        return {"counts": {kind: int(self.counts[kind]) for kind in order},
                "examples": {kind: self.examples[kind] for kind in order if self.examples.get(kind)}}

    @classmethod
    def from_json(cls, data: dict) -> "SpanReport":
        return cls(Counter(data.get("counts", {})), {k: list(v) for k, v in data.get("examples", {}).items()})

    def lines(self) -> list[str]:
        """One line per change, for the log: 'whitespace_trimmed: 3 spans with whitespace trimmed ... e.g. ...'."""
        out = []
        for kind, n in self.to_json()["counts"].items():
            line = f"{n} {REPORT_TEXT.get(kind, kind)}"
            first = (self.examples.get(kind) or [None])[0]
            if first and "before" in first:
                arrow = f" -> {first['after']!r}" if "after" in first else ""
                line += f"; e.g. {first['record']}: {first['before']!r}{arrow}"
            elif first:
                line += f"; e.g. {first['record']}"
            out.append(line)
        return out


_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")  # characters that are two UTF-16 units


def utf16_to_str(text: str):
    """A function: UTF-16 code-unit offset -> `str` offset of `text` (identity when all of it is in the BMP)."""
    if text.isascii() or not _ASTRAL.search(text):
        return lambda offset: offset
    positions = []  # positions[unit] = str index
    for index, ch in enumerate(text):
        positions.append(index)
        if ord(ch) >= 0x10000:
            positions.append(index)  # the second unit of a surrogate pair lies inside the same character
    positions.append(len(text))

    def convert(offset):
        if isinstance(offset, int) and not isinstance(offset, bool) and 0 <= offset < len(positions):
            return positions[offset]
        past = isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0
        return offset + len(text) - (len(positions) - 1) if past else offset
    return convert


def check_overlaps_option(value: str) -> str:
    if value not in OVERLAPS:
        raise UserError(f"--overlaps must be one of {', '.join(OVERLAPS)}, got {value!r}.")
    return value


def _offset(value, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise UserError(f"{where}: span {name} {value!r:.40} must be an integer character offset.")
    return value


def show_span(text: str, start: int, end: int, label: str) -> str:
    """'3-8 "Paris" (LOC)': a span as messages quote it."""
    return f"{start}-{end} {text[start:end][:40]!r} ({label})"


def resolve_overlaps(spans: list[tuple[int, int, str]], text: str, rule: str, where: str,
                     report: SpanReport, kind: str = "overlaps_resolved", why: str = "",
                     places: dict | None = None) -> list[tuple[int, int, str]]:
    """Spans sorted, duplicates dropped; overlaps refused naming both spans, or resolved by `rule`."""
    unique = sorted(set(spans), key=lambda s: (s[0], s[1], s[2]))
    if len(unique) < len(spans):
        report.add("duplicates", len(spans) - len(unique))
    clash = next(((a, b) for a, b in zip(unique, unique[1:]) if b[0] < a[1]), None)
    if clash is None:
        return unique
    if rule == "refuse":
        # The nearest earlier span that overlaps names the pair (sorted order finds one beside it).
        a, b = clash
        places = places or {}
        raise UserError(
            f"{where}: spans {show_span(text, *a)}{places.get(a, '')} and {show_span(text, *b)}{places.get(b, '')} "
            f"overlap{why}. NER tags one entity per "
            f"word: fix the annotation, or pass --overlaps longest (keep the longer) or --overlaps first (keep the "
            f"one that starts first)."
        )
    if rule == "longest":
        order = sorted(unique, key=lambda s: (-(s[1] - s[0]), s[0]))
    else:
        order = unique
    kept: list[tuple[int, int, str]] = []
    starts: list[int] = []
    for span in order:
        i = bisect.bisect_left(starts, span[0])
        left = kept[i - 1] if i else None
        right = kept[i] if i < len(kept) else None
        if (left and left[1] > span[0]) or (right and right[0] < span[1]):
            other = left if left and left[1] > span[0] else right
            report.add(kind, record=where, text=text, before=(span[0], span[1]), after=(other[0], other[1]))
            continue
        kept.insert(i, span)
        starts.insert(i, span[0])
    return kept


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without whitespace at either edge (start == end when it held only whitespace)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def clean_spans(text: str, spans: list, where: str, options: ReadOptions, report: SpanReport) -> list[tuple[int, int, str]]:
    """Check each `(start, end, label, place)` against the text, trim whitespace, resolve overlaps."""
    types = _known_types(options.label_names)
    out, places = [], {}
    for start, end, label, place in spans:
        at = f"{where}{place}"
        start, end = _offset(start, "start", at), _offset(end, "end", at)
        if not isinstance(label, str) or not label.strip():
            raise UserError(f"{at}: span {start}-{end} has label {label!r:.40}; a label is a non-empty string.")
        label = label.strip()
        if start < 0 or end < start:
            raise UserError(f"{at}: span start {start}, end {end}: end must not be before start, and both >= 0. "
                            f"Fix the offsets in the export.")
        if end > len(text):
            raise UserError(f"{at}: span {start}-{end} ({label}) ends past the text, which has {len(text)} characters. "
                            f"Check that the export matches its text (and the offset unit).")
        if types is not None and label not in types:
            raise UserError(f"{at}: label {label!r} is not in the label list given with --labels "
                            f"({', '.join(sorted(types))}). Add it to the list, or fix the annotation.")
        if start == end:
            report.add("empty", record=at)
            continue
        new_start, new_end = trim(text, start, end)
        if new_start == new_end:
            report.add("blank", record=at, text=text, before=(start, end))
            continue
        if (new_start, new_end) != (start, end):
            report.add("whitespace_trimmed", record=at, text=text, before=(start, end), after=(new_start, new_end))
        out.append((new_start, new_end, label))
        places.setdefault(out[-1], f" ({place.strip()})" if place.strip() else "")
    return resolve_overlaps(out, text, options.overlaps, where, report, places=places)


def _known_types(label_names: list[str] | None) -> set[str] | None:
    """Entity types a --labels list allows (B-PER and PER both name PER); None: any."""
    if not label_names:
        return None
    return {split_tag(name)[1] for name in label_names if name != "O"}


def words_and_tags(text: str, spans: list[tuple[int, int, str]], report: SpanReport | None = None,
                   where: str = "") -> tuple[list[tuple[int, int]], list[str]]:
    """The text's words (nercore's splitter, cut at every span edge inside a word) and their IOB2 tags."""
    words = split_words(text)
    edges = sorted({edge for start, end, _ in spans for edge in (start, end)})
    ends = [end for _, end in words]
    inside: dict[int, list[int]] = {}  # word index -> the span edges strictly inside it
    for edge in edges:
        w = bisect.bisect_right(ends, edge)
        if w < len(words) and words[w][0] < edge:
            inside.setdefault(w, []).append(edge)
    if inside:
        cut: list[tuple[int, int]] = []
        for w, (start, end) in enumerate(words):
            if w not in inside:
                cut.append((start, end))
                continue
            if report is not None:
                report.add("words_cut", record=where or None, text=text, before=(start, end),
                           after=(start, inside[w][0]))
            bounds = [start, *inside[w], end]
            cut.extend((a, b) for a, b in zip(bounds, bounds[1:]) if text[a:b].strip())
        words = cut
    tags = ["O"] * len(words)
    starts = [start for start, _ in words]
    for start, end, label in spans:
        i = bisect.bisect_left(starts, start)
        first = True
        while i < len(words) and words[i][0] < end:
            tags[i] = f"{'B' if first else 'I'}-{label}"
            first = False
            i += 1
    return words, tags

def object_rows(text: str, file: str, example: str):
    """(place, line, row) per record of a JSON list (line None) or JSON Lines file of span records, each an
    object; `place` ("FILE line N" or "FILE (record index I)") names the record in every later error."""
    from toolkit.data.json_file import json_rows

    for index, (line, row) in enumerate(json_rows(text, file)):
        place = f"{file} line {line}" if line else f"{file} (record index {index})"
        if not isinstance(row, dict):
            raise UserError(f"{place}: expected an object like {example}, found {row!r:.60}.")
        yield place, line, row


class SpanBuilder:
    """Collects a split's records; `finish()` returns the `RawSplit` (see `raw.SPAN_CONTRACT`)."""

    def __init__(self, file: str | None, options: ReadOptions):
        self.options = options
        self.report = SpanReport()
        self.split = RawSplit(tokens=[], tags=[], file=file, lines=[], texts=[], spans=[], record_names=[],
                              record_ids=[], sentence_records=[], word_offsets=[])

    def add(self, text: str, spans: list, *, name: str, record_id=None, line: int | None = None) -> None:
        """One record: `spans` as `(start, end, label, place)`, place a suffix for messages (" region 2")."""
        if not isinstance(text, str):
            raise UserError(f"{name}: the text must be a string, found {text!r:.60}.")
        kept = clean_spans(text, spans, name, self.options, self.report)
        words, tags = words_and_tags(text, kept, self.report, name)
        split = self.split
        self.report.add("records")
        self.report.add("spans", len(kept))
        if not words:  # kept for character-span scores; no sentence to train on
            self.report.add("empty_texts", record=name)
        else:
            split.sentence_records.append(len(split.texts))
            split.lines.append(line or 0)
            split.tokens.append([text[a:b] for a, b in words])
            split.tags.append(tags)
            split.word_offsets.append(words)
        split.texts.append(text)
        split.spans.append(kept)
        split.record_names.append(name)
        split.record_ids.append(record_id)

    def finish(self) -> RawSplit:
        split = self.split
        if not any(split.lines):
            split.lines = None
        split.span_report = self.report.to_json()
        return split


__all__ = ["OVERLAPS", "REPORT_TEXT", "SpanBuilder", "SpanReport", "check_overlaps_option", "clean_spans",
           "resolve_overlaps", "show_span", "trim", "utf16_to_str", "words_and_tags"]
