"""Character spans onto the model's own sub-tokens, and long texts into chunks the model can hold.

Why: an annotator selects characters; the model labels sub-tokens. A span edge inside a sub-token
(`Paris` selected as `Pari`) cannot be learnt as drawn. The tokenizer's offset mapping says where
every sub-token sits in the raw text, so each such edge is moved (`expand`, the default: to the
covering sub-token; `contract`: to the sub-tokens wholly inside) or refused, and every move is
counted and shown with its first examples. Spans that overlap once moved are resolved by the
same `--overlaps` rule as at reading. Then each text is cut into words (nercore's splitter, cut
at every span edge, toolkit.data.spans.words_and_tags) with IOB2 tags: B- on the first word a
span covers, I- on the rest, which the alignment stage puts on the sub-tokens.

Long texts: a text whose words need more sub-tokens than one window trains as consecutive chunks,
each labelled once, cut at a sentence end or at least outside an entity where one is near. Every
record is one document, so with `--context-tokens N` each chunk is read with N sub-tokens of its
neighbours either side (labelled -100: nercore.context), and evaluation reads every chunk: the
text is scored whole, nothing truncated.
"""

from __future__ import annotations

import bisect

from nercore.errors import UserError
from nercore.lengths import model_max_length
from toolkit.data import RawData, RawSplit
from toolkit.data.spans import SpanReport, resolve_overlaps, show_span, trim, words_and_tags

SPAN_ALIGNMENTS = ("expand", "contract", "refuse")
SENTENCE_ENDS = frozenset(".!?。！？")


def check_span_alignment(value: str) -> str:
    if value not in SPAN_ALIGNMENTS:
        raise UserError(f"--span-alignment must be one of {', '.join(SPAN_ALIGNMENTS)}, got {value!r}.")
    return value


def has_spans(raw: RawData) -> bool:
    return any(split.has_spans for split in raw.splits.values())


def align_spans(raw: RawData, tokenizer, *, policy: str = "expand", overlaps: str = "refuse",
                max_length: int | None = None, context_tokens: int = 0, config=None) -> RawData:
    """Every character-span split of `raw`, aligned to `tokenizer` and chunked (in place; returns `raw`).

    Chunks hold at most the model's length (`max_length`, else the tokenizer's and `config`'s limit)
    less its special tokens and `context_tokens` per side (at least half of it).
    """
    check_span_alignment(policy)
    limit = model_max_length(tokenizer, max_length, config)
    specials = tokenizer.num_special_tokens_to_add()
    room = limit - specials
    budget = max(room - 2 * context_tokens, room // 2, 8)
    for split in raw.splits.values():
        if split.has_spans:
            align_split(split, tokenizer, policy=policy, overlaps=overlaps, budget=budget)
    return raw


def report_lines(raw: RawData) -> list[str]:
    """What reading and alignment did, per split, for the terminal: counts, first examples, the types found."""
    lines = []
    for name, split in raw.splits.items():
        if split.span_report is None:
            continue
        lines += [f"  {name}: {line}" for line in SpanReport.from_json(split.span_report).lines()]
    types = sorted({label for split in raw.splits.values() for spans in (split.spans or []) for *_, label in spans})
    if types:
        lines.append(f"  entity types in the spans: {', '.join(types)}")
    return lines


def token_offsets(text: str, offsets: list) -> tuple[list[int], list[int]]:
    """Sub-token (starts, ends) in the text, empty ones left out (whitespace edges: `covering`)."""
    pairs = [pair for pair in offsets if pair[0] < pair[1]]
    return [start for start, _ in pairs], [end for _, end in pairs]


def covering(text: str, starts: list[int], ends: list[int], offset: int, *, end: bool) -> tuple[int, int] | None:
    """The sub-token that `offset` (a span's start, or with `end` its end) falls strictly inside, its
    whitespace trimmed (SentencePiece's `▁` may carry the space before a word); None when on an edge."""
    i = (bisect.bisect_left(starts, offset) if end else bisect.bisect_right(starts, offset)) - 1
    if i < 0 or not starts[i] < offset < ends[i]:
        return None
    piece = trim(text, starts[i], ends[i])
    return piece if piece[0] < offset < piece[1] else None


def adjust(text: str, spans: list, starts: list[int], ends: list[int], policy: str, where: str,
           report: SpanReport) -> list[tuple[int, int, str]]:
    """Each span with its edges on sub-token boundaries, by `policy` (module docstring)."""
    out = []
    for start, end, label in spans:
        new_start, new_end = start, end
        piece = covering(text, starts, ends, start, end=False)
        if piece is not None:
            _refuse(policy, where, text, (start, end, label), piece, "starts")
            new_start = piece[0] if policy == "expand" else piece[1]
        piece = covering(text, starts, ends, end, end=True)
        if piece is not None:
            _refuse(policy, where, text, (start, end, label), piece, "ends")
            new_end = piece[1] if policy == "expand" else piece[0]
        if (new_start, new_end) == (start, end):
            out.append((start, end, label))
            continue
        if new_start >= new_end or not text[new_start:new_end].strip():
            report.add("dropped_by_contract", record=where, text=text, before=(start, end))
            continue
        kind = "expanded" if policy == "expand" else "contracted"
        report.add(kind, record=where, text=text, before=(start, end), after=(new_start, new_end))
        out.append((new_start, new_end, label))
    return out


def _refuse(policy: str, where: str, text: str, span: tuple, piece: tuple[int, int], edge: str) -> None:
    if policy == "refuse":
        raise UserError(
            f"{where}: span {show_span(text, *span)} {edge} inside the sub-token {text[piece[0]:piece[1]]!r} "
            f"({piece[0]}-{piece[1]}) of the model's tokenizer, so the model cannot learn it as drawn. Fix the "
            f"span, or pass --span-alignment expand (to the whole sub-token) or contract (to whole sub-tokens inside)."
        )


def align_split(split: RawSplit, tokenizer, *, policy: str, overlaps: str, budget: int) -> None:
    """Adjust one freshly read split's spans, re-cut its words and chunk its long texts (in place).

    A record whose spans need no move keeps the words and tags read with it (the common case: one
    tokenizer pass over the texts is all the work); only long records are tokenized again as words,
    to cut chunks by the sub-tokens training will see.
    """
    if split.span_report and "settings" in split.span_report:
        raise ValueError("this split is aligned already; read it again to align it to another tokenizer")
    report = SpanReport.from_json(split.span_report or {})
    backend = _backend(tokenizer)
    encodings = backend.encode_batch(split.texts, add_special_tokens=False)
    sentence_of = {record: sentence for sentence, record in enumerate(split.sentence_records)}
    records = []
    for index, text in enumerate(split.texts):
        where, spans = split.record_names[index], split.spans[index]
        if spans:  # a record without spans has no edge to move
            starts, ends = token_offsets(text, encodings[index].offsets)
            spans = adjust(text, spans, starts, ends, policy, where, report)
            spans = resolve_overlaps(spans, text, overlaps, where, report, kind="overlaps_after_alignment",
                                     why=f" once moved to sub-token edges (--span-alignment {policy})")
        sentence = sentence_of.get(index)
        if spans == split.spans[index]:
            words = split.word_offsets[sentence] if sentence is not None else []
            tags = split.tags[sentence] if sentence is not None else []
        else:  # words cut at the moved edges; the count of cut words follows the move
            before, after = SpanReport(), SpanReport()
            words_and_tags(text, split.spans[index], before)
            words, tags = words_and_tags(text, spans, after, where)
            report.add("words_cut", after.counts["words_cut"] - before.counts["words_cut"])
            report.merge(SpanReport(examples=after.examples))
        records.append((words, tags, len(encodings[index].ids)))
    _rebuild(split, records, backend, budget, report)
    split.span_report = {**report.to_json(), "settings": {"span_alignment": policy, "overlaps": overlaps}}


def _backend(tokenizer):
    """The fast tokenizer's Rust tokenizer, without truncation or padding (every sub-token counted)."""
    backend = tokenizer.backend_tokenizer
    backend.no_truncation()
    backend.no_padding()
    return backend


def _rebuild(split: RawSplit, records: list, backend, budget: int, report: SpanReport) -> None:
    """tokens/tags/word_offsets/sentence_records/documents from each record's words, long ones chunked."""
    tokens, tags, offsets, owners = [], [], [], []
    long = [index for index, (words, _, pieces) in enumerate(records) if words and pieces > budget // 2]
    word_lists = {index: [split.texts[index][a:b] for a, b in records[index][0]] for index in long}
    encoded = backend.encode_batch(list(word_lists.values()), is_pretokenized=True, add_special_tokens=False) \
        if long else []
    counts_of = {}
    for index, encoding in zip(long, encoded):
        counts = [0] * len(records[index][0])
        for word_id in encoding.word_ids:
            if word_id is not None:
                counts[word_id] += 1
        counts_of[index] = counts
    for index, (words, record_tags, _) in enumerate(records):
        if not words:
            continue
        text = split.texts[index]
        bounds = chunk_bounds(text, words, record_tags, counts_of[index], budget) if index in counts_of \
            else [0, len(words)]
        if len(bounds) > 2:
            report.add("chunked_records", record=split.record_names[index])
            report.add("chunks", len(bounds) - 1)
        for a, b in zip(bounds, bounds[1:]):
            tokens.append([text[x:y] for x, y in words[a:b]])
            tags.append(record_tags[a:b])
            offsets.append(words[a:b])
            owners.append(index)
    split.tokens, split.tags, split.word_offsets, split.sentence_records = tokens, tags, offsets, owners
    split.documents = list(owners)
    split.lines = None


def chunk_bounds(text: str, words: list[tuple[int, int]], tags: list[str], counts: list[int], budget: int) -> list[int]:
    """Word indices where chunks start (and the end), each chunk within `budget` sub-tokens where it can be.

    A cut goes after a sentence end in the chunk's second half, else before the last word that is not
    inside an entity, else where the budget runs out (a single word over budget is a chunk of its own).
    """
    bounds, start, used = [0], 0, 0
    for w, count in enumerate(counts):
        if used + count <= budget or w == start:
            used += count
            continue
        cut = _best_cut(text, words, tags, start, w)
        bounds.append(cut)
        start, used = cut, sum(counts[cut:w + 1])
        while used > budget and start < w:  # the carried words and this one still too long: cut again
            start += 1
            bounds.append(start)
            used = sum(counts[start:w + 1])
    bounds.append(len(words))
    return sorted(set(bounds))


def _best_cut(text: str, words: list[tuple[int, int]], tags: list[str], start: int, stop: int) -> int:
    """Where to end the chunk words[start:stop] (exclusive): see `chunk_bounds`."""
    half = start + max(1, (stop - start) // 2)
    for cut in range(stop, half - 1, -1):
        previous = text[words[cut - 1][0]:words[cut - 1][1]]
        gap = text[words[cut - 1][1]:words[cut][0]] if cut < len(words) else ""
        if (previous in SENTENCE_ENDS or "\n" in gap) and not tags[cut].startswith("I-"):
            return cut
    for cut in range(stop, start, -1):
        if not tags[cut].startswith("I-"):
            return cut
    return stop


def span_label_list(names: list[str] | None) -> list[str] | None:
    """A --labels list of bare types (PER, LOC) as the IOB2 list training needs; IOB lists unchanged."""
    if not names or any(name[:2] in ("B-", "I-", "E-", "S-") for name in names):
        return names
    types = [name for name in names if name != "O"]
    return ["O", *(f"{prefix}-{name}" for name in types for prefix in ("B", "I"))]
