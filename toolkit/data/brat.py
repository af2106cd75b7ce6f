"""brat standoff: a folder of `NAME.txt` + `NAME.ann` pairs, one record per pair.

`.ann` lines `T1<TAB>TYPE START END<TAB>text` are entities; offsets are characters (code points) of
the `.txt` file, end exclusive. A discontinuous entity (`START END;START END`) is refused with file
and line unless `--fragments join` (one span from the first start to the last end) or `drop`;
overlapping entities are refused (file and both lines) unless `--overlaps longest|first`.
Relations, events, attributes and notes (R, E, A, M, N, # lines) are counted and ignored.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from nercore.errors import UserError
from toolkit.data.raw import ReadOptions, RawSplit, decode, read_bytes
from toolkit.data.spans import SpanBuilder

FRAGMENTS = ("refuse", "join", "drop")


def is_brat_folder(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*.ann"))


def read(text: str, file: str, options: ReadOptions) -> RawSplit:
    raise UserError(f"{file}: brat data is a folder of .txt + .ann pairs; pass the folder, not one file.")


def read_folder(folder: Path, options: ReadOptions) -> tuple[RawSplit, dict]:
    """The folder's pairs, in file-name order, and its provenance (file count, bytes, one sha256 of all)."""
    anns = sorted(folder.glob("*.ann"))
    if not anns:
        raise UserError(f"{folder.name}: no .ann files; a brat folder holds NAME.txt + NAME.ann pairs.")
    builder = SpanBuilder(folder.name, options)
    digest, size = hashlib.sha256(), 0
    for ann in anns:
        txt = ann.with_suffix(".txt")
        if not txt.is_file():
            raise UserError(f"{folder.name}/{ann.name}: no {txt.name} beside it; brat needs the text file of each .ann.")
        ann_bytes, txt_bytes = read_bytes(ann), read_bytes(txt)
        for data in (txt_bytes, ann_bytes):
            digest.update(data)
            size += len(data)
        text = decode(txt_bytes, f"{folder.name}/{txt.name}")
        if txt_bytes.startswith(b"\xef\xbb\xbf"):  # brat counts a byte-order mark as a character
            text = "\ufeff" + text
        spans = _entities(decode(ann_bytes, f"{folder.name}/{ann.name}"), f"{folder.name}/{ann.name}", options, builder)
        builder.add(text, spans, name=f"{folder.name}/{ann.name}", record_id=ann.stem)
    info = {"path": folder.name, "files": 2 * len(anns), "bytes": size, "sha256": digest.hexdigest()}
    return builder.finish(), info


def _entities(ann: str, file: str, options: ReadOptions, builder: SpanBuilder) -> list:
    spans = []
    for number, line in enumerate(ann.split("\n"), start=1):
        if not line.strip():
            continue
        if not line.startswith("T"):
            builder.report.add("other_lines")
            continue
        parts = line.split("\t")
        if len(parts) < 2 or len(parts[1].split(" ", 1)) < 2:
            raise UserError(f"{file} line {number}: expected 'T1<TAB>TYPE START END<TAB>text', found {line[:80]!r}.")
        label, offsets = parts[1].split(" ", 1)
        try:
            fragments = [tuple(int(x) for x in piece.split()) for piece in offsets.split(";")]
        except ValueError:
            raise UserError(f"{file} line {number}: offsets {offsets!r} are not integers 'START END'.") from None
        if any(len(fragment) != 2 for fragment in fragments):
            raise UserError(f"{file} line {number}: offsets {offsets!r} must be 'START END' pairs separated by ';'.")
        if len(fragments) > 1:
            if options.fragments == "refuse":
                raise UserError(
                    f"{file} line {number}: entity {parts[0]} ({label}) is discontinuous ({offsets}); NER tags "
                    f"continuous spans. Pass --fragments join (first start to last end) or --fragments drop."
                )
            if options.fragments == "drop":
                builder.report.add("fragments_dropped", record=f"{file} line {number}")
                continue
            builder.report.add("fragments_joined", record=f"{file} line {number}")
        spans.append((fragments[0][0], fragments[-1][1], label, f" line {number}"))
    return spans
